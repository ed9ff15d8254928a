"""One-shot messages from widget callbacks.

A callback runs before the script, so an ``st.error`` there would land at the top of the page.
Callbacks leave a notice instead, and the page shows it once, where it belongs (a named slot).
"""
from __future__ import annotations

import streamlit as st

_NOTICES = "_notices"


def notify(kind: str, text: str, slot: str = "main") -> None:
    """Queue ``st.<kind>(text)`` ('success', 'info', 'warning' or 'error') for ``slot``."""
    st.session_state.setdefault(_NOTICES, []).append((slot, kind, text))


def show_notices(slot: str = "main") -> None:
    """Show, and forget, the notices queued for ``slot``."""
    pending = st.session_state.get(_NOTICES, [])
    st.session_state[_NOTICES] = [n for n in pending if n[0] != slot]
    for _, kind, text in (n for n in pending if n[0] == slot):
        getattr(st, kind)(text)
