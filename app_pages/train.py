"""Train page: pick a preset or any knob, press Play, and watch G and D play their game live.

Thin on purpose: the settings live in ui.config_form, the live views in ui.train_views, and
save / resume / export in ui.checkpoint_panel.
"""
import streamlit as st

# The heading and intro come before the imports below, which load PyTorch and Plotly: on a cold
# server that takes seconds, and the user should see where they are meanwhile.
st.title("Train")
st.markdown(
    "Two networks play a game: the discriminator **D** learns to tell real samples from fakes, the "
    "generator **G** learns to fool it. Pick a preset or change any knob in the sidebar, press "
    "**▶ Play**, and watch the losses, D's verdicts and G's samples change live.")

from ui.checkpoint_panel import checkpoint_panel  # noqa: E402
from ui.compare_views import fork_button  # noqa: E402
from ui.config_form import settings_sidebar  # noqa: E402
from ui.notices import show_notices  # noqa: E402
from ui.train_views import live_panel  # noqa: E402

runner = settings_sidebar()
show_notices("main")
live_panel()
fork_button(runner)
checkpoint_panel(runner)
