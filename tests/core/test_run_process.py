"""RunProcess: what a run in a child process adds to a Runner (the shared behaviour is tested on
both kinds in test_runner.py): live changes across the pipe, and what happens when the child or
its server dies.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gan_core.config import ConfigError
from gan_core.presets import preset
from gan_core.run_process import RunProcess
from gan_core.runner import RunSlots
from gan_core.paths import ROOT

WAIT = 60.0


def pattern(**changes):
    return preset("seed-002-pattern", device="cpu", **changes)


@pytest.fixture
def run():
    """A process run of the pattern preset, loaded; stopped after the test."""
    runner = RunProcess(pattern(), slots=RunSlots(1))
    runner.wait_for(lambda s: s.status == "paused", WAIT)
    yield runner
    runner.stop()


def test_live_changes_cross_the_pipe_and_bad_ones_are_refused_at_once(run: RunProcess) -> None:
    run.set(lr_g=1e-4, loss="mse")
    run.history_csv()                              # a round trip: the change has been applied
    assert run.snapshot.config.lr_g == 1e-4 and run.snapshot.config.loss == "mse"
    with pytest.raises(ConfigError) as caught:
        run.set(lr_d=-1.0)
    assert caught.value.field == "lr_d"
    with pytest.raises(ConfigError):
        run.set(latent_dim=3)
    run.history_csv()
    assert run.snapshot.config.lr_d == pattern().lr_d and run.snapshot.config.latent_dim == 1


def test_pictures_the_page_has_drawn_arrive_once(run: RunProcess) -> None:
    """The real batch and each timeline grid keep their identity across snapshots, so the page's
    pictures of them, cached by identity, are encoded once."""
    run.play()
    first = run.wait_for(lambda s: len(s.timeline) >= 2, WAIT)
    later = run.wait_for(lambda s: s.version > first.version + 2, WAIT)
    run.pause()
    earlier = dict(first.timeline)
    assert later.real is first.real and later.real is not None
    assert [grid is earlier[step] for step, grid in later.timeline if step in earlier] == \
        [True] * len(set(earlier) & {step for step, _ in later.timeline})


def test_the_run_trains_in_a_session_of_its_own(run: RunProcess) -> None:
    assert run.pid != os.getpid() and os.getsid(run.pid) == run.pid


def test_a_killed_child_fails_the_run_frees_its_slot_and_refuses_questions(tmp_path: Path) -> None:
    slots = RunSlots(1)
    runner = RunProcess(pattern(), slots=slots)
    try:
        runner.play()
        runner.wait_for(lambda s: s.status == "running" and s.step > 0, WAIT)
        assert slots.busy == 1
        os.kill(runner.pid, signal.SIGKILL)        # what the out-of-memory killer does
        failed = runner.wait_for(lambda s: s.status == "failed", WAIT)
        assert "ended unexpectedly" in failed.message and failed.step > 0
        assert slots.busy == 0 and not runner.alive
        with pytest.raises(RuntimeError, match="stopped"):
            runner.checkpoint_bytes(timeout=5)
    finally:
        runner.stop()


SERVER_THAT_DIES = textwrap.dedent("""
    import os, sys
    from gan_core.presets import preset
    from gan_core.run_process import RunProcess

    if __name__ == "__main__":
        run = RunProcess(preset("seed-002-pattern", device="cpu"))
        run.play()
        run.wait_for(lambda s: s.step > 0, 60)
        print(run.pid, flush=True)
        os._exit(0)                                # no clean-up at all, as a crash
""")


def test_a_run_stops_by_itself_when_its_server_dies(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(SERVER_THAT_DIES)
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + WAIT
    while _running(pid):
        assert time.monotonic() < deadline, "the orphaned run kept training"
        time.sleep(0.05)


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and has not exited (a zombie waiting for its reaper has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
