"""Per-browser-session state: the session's Runner lives in a session-scoped resource, so
Streamlit stops it (and frees its model) when the browser tab goes away."""
from __future__ import annotations

import streamlit as st

from gan_core.runner import Controls


class RunHolder:
    """The session's current Runner; replacing it stops the old one."""

    def __init__(self) -> None:
        self.runner: Controls | None = None

    def replace(self, runner: Controls | None) -> None:
        old, self.runner = self.runner, runner
        if old is not None:
            old.stop()

    def release(self) -> None:
        self.replace(None)


@st.cache_resource(scope="session", on_release=RunHolder.release, show_spinner=False)
def run_holder() -> RunHolder:
    return RunHolder()


def current_runner() -> Controls | None:
    """The Runner of this browser session's Train page, if one was started."""
    return run_holder().runner
