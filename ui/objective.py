"""The objectives D and G descend on, as formulas, for any page that shows a run's config."""
from __future__ import annotations

import streamlit as st

from gan_core.config import TrainConfig
from gan_core.losses import objective_latex


def show_objective(config: TrainConfig) -> None:
    """D's and G's objectives under ``config``'s loss form, G loss and D update, drawn into the
    current container: the caller chooses the frame (the Train page an expander, Compare a column)."""
    for text in objective_latex(config):
        st.latex(text)
