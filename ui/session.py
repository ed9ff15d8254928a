"""Per-browser-session state: the session's run lives in a session-scoped resource, so Streamlit
stops it (and frees its model) when the browser tab goes away.

A run nobody has looked at for a while (its student on another page, or away) is *parked*: its
checkpoint goes to the session's workspace and its process ends, freeing the memory; the next
look at it resumes it where it was, playing again if it was playing.

A script run still under way when its tab closes can make a session's run after Streamlit has
released the session's resources; the server's attendant stops such runs too.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from gan_core.config import TrainConfig
from gan_core.runner import Commands
from ui.deployment import deployment
from ui.workspace import session_workspace

log = logging.getLogger(__name__)
PARK_CHECK_SECONDS = 5.0
RunFactory = Callable[[list[TrainConfig], bytes], Commands]
SessionActive = Callable[[str], bool]


@dataclass(frozen=True)
class Parked:
    path: Path
    configs: list[TrainConfig]
    playing: bool
    step: int


class RunHolder:
    """The session's current run (or its parked checkpoint); replacing it stops the old one."""

    def __init__(self, parked_path: Path, session_id: str | None = None) -> None:
        self.session_id = session_id      # the browser session it belongs to (None: none known)
        self.runner: Commands | None = None
        self.parked: Parked | None = None
        self.last_seen = time.monotonic()
        self._parked_path = parked_path
        self._lock = threading.RLock()
        self._released = False
        _HOLDERS.add(self)

    def replace(self, runner: Commands | None) -> None:
        """Hold ``runner`` and stop the old one; a released holder stops ``runner`` too (a script
        run that was under way when its session ended must not leave a run nobody holds)."""
        with self._lock:
            old, self.runner = self.runner, None if self._released else runner
            self._forget_parked()
        for unheld in {old, runner} - {self.runner, None}:   # each run no longer held, stopped once
            unheld.stop()

    def release(self) -> None:
        with self._lock:
            self._released = True
        self.replace(None)

    def current(self, resume: RunFactory) -> Commands | None:
        """The run, resumed first if it was parked; counts as a look at it."""
        with self._lock:
            self.last_seen = time.monotonic()
            if self.parked is not None:
                parked = self.parked
                runner = resume(parked.configs, parked.path.read_bytes())
                if parked.playing:
                    runner.play()
                self._forget_parked()
                self.runner = runner
            return self.runner

    def release_if_gone(self, active: SessionActive) -> bool:
        """Release the holder when its browser session is no longer active; True if it was."""
        gone = self.session_id is not None and not active(self.session_id)
        if gone:
            self.release()
        return gone

    def park_if_unwatched(self, after_seconds: float) -> bool:
        """Park the run when nobody has looked at it for ``after_seconds``; True if it was parked."""
        with self._lock:
            runner = self.runner
            if (runner is None or time.monotonic() - self.last_seen < after_seconds or not runner.alive
                    or not runner.snapshot.status.ready):
                return False
            playing = runner.snapshot.playing
            runner.pause()     # frees its slot at once, and the step saved is the step shown
            try:
                snap = runner.wait_for(lambda s: not s.playing)
                self._parked_path.write_bytes(runner.checkpoint_bytes())
            except Exception:
                if playing:    # a busy server or a full disk must not leave a student's run paused
                    runner.play()
                raise
            self.parked = Parked(self._parked_path, runner.configs, playing, snap.step)
            self.runner = None
        runner.stop()
        return True

    def _forget_parked(self) -> None:
        if self.parked is not None:
            self.parked.path.unlink(missing_ok=True)
            self.parked = None


_HOLDERS: "weakref.WeakSet[RunHolder]" = weakref.WeakSet()


def _session_active(session_id: str) -> bool:
    return not runtime.exists() or runtime.get_instance().is_active_session(session_id)


def _attend() -> None:
    """The server's attendant: every few seconds, stop the runs of sessions that have gone and
    park each run nobody watches."""
    while True:
        time.sleep(PARK_CHECK_SECONDS)
        for holder in list(_HOLDERS):
            try:
                if not holder.release_if_gone(_session_active):
                    holder.park_if_unwatched(deployment().park_seconds)
            except Exception:  # noqa: BLE001 - one session's trouble must not stop the others' runs
                log.exception("attending to a run failed")


@st.cache_resource(show_spinner=False)
def start_attendant() -> threading.Thread:
    """Once per server process."""
    thread = threading.Thread(target=_attend, name="gan-attendant", daemon=True)
    thread.start()
    return thread


@st.cache_resource(scope="session", on_release=RunHolder.release, show_spinner=False)
def run_holder() -> RunHolder:
    """The session's run on the Train page."""
    return RunHolder(session_workspace().parked, _session_id())


@st.cache_resource(scope="session", on_release=RunHolder.release, show_spinner=False)
def comparison_holder() -> RunHolder:
    """The session's comparison on the Compare page: a run of its own, so that comparing never
    ends the Train page's run (each is parked when unwatched)."""
    return RunHolder(session_workspace().parked_comparison, _session_id())


def _session_id() -> str | None:
    context = get_script_run_ctx()
    return context.session_id if context is not None else None
