"""What every live page (Train, Compare) does the same way: send a run a command and wait for its
effect, refresh the views in a fragment at the pace the run's state needs, and draw a figure only
when what it shows has changed.

The views refresh twice a second while the run moves and every few seconds while it waits for
the user, so an idle tab costs the server little; a change between the two reruns the page.
"""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from gan_core.runner import Commands
from ui import charts
from ui.live_chart import live_chart, to_json

REFRESH_SECONDS = 0.5        # while the run moves: at least 2 refreshes a second
IDLE_REFRESH_SECONDS = 3.0   # while it waits: only a late answer to a command can change it
_DRAWN = "_live_drawn"
_FULL_RUN = "_live_full_run"


def command(runner: Commands | None, action: Callable[[Commands], None]) -> None:
    """Send a command, then wait (briefly) for the runner to publish its effect, so the rerun
    that follows the click already shows it."""
    if runner is None:
        return
    version = runner.snapshot.version
    action(runner)
    try:
        runner.wait_for(lambda s: s.version > version, timeout=2.0)
    except TimeoutError:
        pass   # a busy run answers after its chunk of steps; the next refresh shows it


def refreshing(views: Callable[[bool], None], moving: bool) -> None:
    """Run ``views(moving)`` in a fragment that reruns at the pace ``moving`` asks for.  Inside,
    ``views`` calls ``keep_pace`` with the run's state as it reads it."""
    st.session_state[_FULL_RUN] = True
    try:
        st.fragment(views, run_every=REFRESH_SECONDS if moving else IDLE_REFRESH_SECONDS)(moving)
    finally:
        st.session_state[_FULL_RUN] = False


def keep_pace(moving_now: bool, moving: bool) -> None:
    """Rerun the page when the run's pace changed since the fragment was set up: never during a
    full run, whose rerun could replay the widget values it started from."""
    if moving_now != moving and not st.session_state.get(_FULL_RUN):
        st.rerun()


def drawn(name: str, source: Any, build: Callable[[], Any], settings: Any = None) -> Any:
    """What ``build`` made for ``source`` (a snapshot, or one of its arrays) and ``settings``,
    made again only when either changed: a waiting run's refresh then costs the server no work."""
    cache = st.session_state.setdefault(_DRAWN, {})
    kept = cache.get(name)
    if kept is None or kept[0] is not source or kept[1] != settings:
        cache[name] = kept = (source, settings, build())
    return kept[2]


def chart(key: str, source: Any, build: Callable[[], charts.Figure], moving: bool,
          settings: Any = None, caption: str = "") -> None:
    """A live Plotly chart: a still picture while the run moves (hover and zoom cannot follow a
    chart that changes twice a second), interactive once it waits."""
    live_chart(drawn(key, source, lambda: to_json(build()), settings), key, interactive=not moving,
               caption=caption)
