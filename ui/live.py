"""What every live page (Train, Compare) does the same way: send a run a command and wait for its
effect, refresh the views in a fragment at the pace the run's state needs, and draw a figure only
when what it shows has changed.

The views refresh twice a second while the run moves and every few seconds while it waits for
the user, so an idle tab costs the server little; a change between the two reruns the page.
A click whose effect leaves the run's status as it was (Step, Step D, Step G on a paused run)
reruns the views alone: redrawing the whole page, the settings sidebar most of all, took most of
such a click's time in the browser.
"""
from __future__ import annotations

from html import escape
from typing import Any, Callable, NamedTuple, Sequence

import streamlit as st

from gan_core.runner import Commands, Snapshot
from ui import charts
from ui.live_chart import live_chart, to_json

REFRESH_SECONDS = 0.5        # while the run moves: at least 2 refreshes a second
IDLE_REFRESH_SECONDS = 3.0   # while it waits: only a late answer to a command can change it
COMMAND_WAIT_SECONDS = 2.0   # how long a click waits for its effect before the page reruns
# A figure looks as st.metric draws one: its label (with a "?" when it has help, shown on hovering
# it) over its value.
_FIGURE_STYLE = """<style>
.figure-row { display: grid; gap: 1rem; margin-bottom: 0.5rem; }
.figure-label { font-size: 0.875rem; }
.figure-label[title] { cursor: help; }
.figure-label[title]::after { content: "?"; display: inline-block; width: 1.1em; height: 1.1em; margin-left: 0.35em;
  font-size: 0.75em; line-height: 1.05em; text-align: center; border: 1px solid currentColor; border-radius: 50%; opacity: 0.5; }
.figure-value { font-size: 2.25rem; line-height: 1.4; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
</style>"""
VIEWS = "live_views"         # the key of the views' fragment, which a command's rerun may target
_DRAWN = "_live_drawn"
_FULL_RUN = "_live_full_run"
_AWAITED = "_live_awaited"   # (runner, version): a command whose effect has not been published yet


def command(runner: Commands | None, action: Callable[[Commands], None]) -> None:
    """Send a run command (play, pause, a step), then wait (briefly) for its effect, a new step or
    status, so the rerun that follows the click already shows it: the views alone when the
    status is what it was, else the whole page (its buttons follow the status).  An effect later
    than the wait (a busy run answers after its chunk of steps, a large model's step takes
    seconds) is shown by the views, refreshing at the fast pace until it comes."""
    if runner is None:
        return
    before = runner.snapshot
    action(runner)
    try:
        # A moving run's step changes by itself: only its status says a click (Pause) took effect.
        after = runner.wait_for(lambda s: s.status is not before.status
                                or (not before.status.moving and s.step != before.step),
                                timeout=COMMAND_WAIT_SECONDS)
    except TimeoutError:
        st.session_state[_AWAITED] = (runner, before.version)
        return
    if after.status is before.status:
        st.rerun(VIEWS)


# A run button: label, widget key, material icon, the command it sends, disabled, help text.
RunButton = tuple[str, str, str, Callable[[Commands], None], bool, str]


def run_buttons(columns: Sequence[Any], buttons: Sequence[RunButton], run_now: Callable[[], Commands | None]) -> None:
    """One button per entry, in ``columns``: a click sends its command (``command``) to the run
    ``run_now`` gives at the click's time (a rerun may have replaced the one drawn)."""
    for column, (label, key, icon, action, disabled, help_text) in zip(columns, buttons):
        column.button(label, key=key, icon=f":material/{icon}:", disabled=disabled, help=help_text,
                      on_click=lambda act=action: command(run_now(), act), width="stretch",
                      type="primary" if label == "Play" else "secondary")


def fast_pace(runner: Commands, snap: Snapshot) -> bool:
    """Whether the views refresh twice a second: the run changes by itself, or a command's
    effect is still to come."""
    awaited = st.session_state.get(_AWAITED)
    if awaited is not None and (awaited[0] is not runner or snap.version > awaited[1]):
        del st.session_state[_AWAITED]
        awaited = None
    return snap.status.moving or awaited is not None


def refreshing(views: Callable[[bool], None], moving: bool) -> None:
    """Run ``views(moving)`` in a fragment that reruns at the pace ``moving`` (``fast_pace``)
    asks for.  Inside, ``views`` reads the run through ``paced``."""
    st.html(_FIGURE_STYLE)    # for the views' rows of figures: sent once a page run, not at each refresh
    st.session_state[_FULL_RUN] = True
    try:
        st.fragment(views, run_every=REFRESH_SECONDS if moving else IDLE_REFRESH_SECONDS, key=VIEWS)(moving)
    finally:
        st.session_state[_FULL_RUN] = False


def paced(runner: Commands | None, moving: bool) -> Snapshot | None:
    """The run's snapshot for a views refresh (None without a run), after rerunning the page if
    the run's pace changed since the fragment was set up: never during a full run, whose rerun
    could replay the widget values it started from."""
    if runner is None:
        return None
    snap = runner.snapshot
    if fast_pace(runner, snap) != moving and not st.session_state.get(_FULL_RUN):
        st.rerun()
    return snap


def drawn(name: str, source: Any, build: Callable[[], Any], settings: Any = None) -> Any:
    """What ``build`` made for ``source`` (a snapshot, or one of its arrays) and ``settings``,
    made again only when either changed: a waiting run's refresh then costs the server no work."""
    cache = st.session_state.setdefault(_DRAWN, {})
    kept = cache.get(name)
    if kept is None or kept[0] is not source or kept[1] != settings:
        cache[name] = kept = (source, settings, build())
    return kept[2]


class Figure(NamedTuple):
    label: str
    value: str
    help: str = ""
    width: float = 1.0   # its share of the row


def figure_row(name: str, figures: Sequence[Figure]) -> None:
    """Figures side by side as one element (``[data-figures=name]``; each ``[data-figure=label]``;
    styled by ``refreshing``): a refresh sends the server's websocket one message for the row,
    where st.metric in columns sends two per figure, and each message costs the server a wake-up
    of its event loop."""
    cells = "".join(f'<div data-figure="{escape(f.label)}"><div class="figure-label"'
                    + (f' title="{escape(f.help)}"' if f.help else "")
                    + f'>{escape(f.label)}</div><div class="figure-value">{escape(f.value)}</div></div>'
                    for f in figures)
    columns = " ".join(f"minmax(0, {f.width}fr)" for f in figures)
    st.html(f'<div class="figure-row" data-figures="{name}" '
            f'style="grid-template-columns: {columns}">{cells}</div>')


def chart(key: str, source: Any, build: Callable[[], charts.Figure], moving: bool,
          settings: Any = None, caption: str = "") -> None:
    """A live Plotly chart: a still picture while the run moves (hover and zoom cannot follow a
    chart that changes twice a second), interactive once it waits."""
    live_chart(drawn(key, source, lambda: to_json(build()), settings), key, interactive=not moving,
               caption=caption)
