"""RunProcess: what a run in a child process adds to a Runner (the shared behaviour is tested on
both kinds in test_runner.py).  The snapshots it rebuilds, live changes across the pipe, and what
happens when the child or its server dies.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_core import Trainer
from gan_core.config import ConfigError
from gan_core.presets import preset
from gan_core.run_process import UNCHANGED, RunProcess, SnapshotPacker, SnapshotUnpacker
from gan_core.runner import RunSlots, Runner, Snapshot

WAIT = 60.0
ROOT = Path(__file__).resolve().parents[2]


def pattern(**changes):
    return preset("seed-002-pattern", device="cpu", **changes)


@pytest.fixture
def run():
    """A process run of the pattern preset, loaded; stopped after the test."""
    runner = RunProcess(pattern(), slots=RunSlots(1))
    runner.wait_for(lambda s: s.status == "paused", WAIT)
    yield runner
    runner.stop()


def same_snapshot(rebuilt: Snapshot, original: Snapshot) -> None:
    for name in Snapshot.__dataclass_fields__:
        got, want = getattr(rebuilt, name), getattr(original, name)
        if name == "history":
            assert got.keys() == want.keys()
            for column in want:
                np.testing.assert_array_equal(got[column], want[column], err_msg=column)
        elif name in ("timeline", "pattern_history"):
            assert [s for s, _ in got] == [s for s, _ in want]
            for (_, a), (_, b) in zip(got, want):
                np.testing.assert_array_equal(a, b)
        elif isinstance(want, np.ndarray):
            np.testing.assert_array_equal(got, want)
        else:
            assert got == want, name


def test_packed_snapshots_rebuild_each_snapshot_and_send_each_row_and_grid_once() -> None:
    trainer = Trainer(pattern(loss="log", metrics_every=1))   # flushed after every step
    for _ in range(5):
        trainer.step()                           # flushed: step 5 is the last good state
    with torch.no_grad():
        trainer.D.body[-2].bias.fill_(1e4)       # step 6 diverges: the history is rolled back
    packer, unpacker, seen = SnapshotPacker(), SnapshotUnpacker(), []

    def publish(snapshot: Snapshot) -> None:
        packed = packer.pack(snapshot)
        seen.append((snapshot, packed, unpacker.unpack(packed)))

    runner = Runner(trainer=trainer, slots=RunSlots(1), live_metrics=None, on_publish=publish)
    try:
        for _ in range(3):
            runner.step()                        # step 6 diverges; then steps 6 and 7
        runner.wait_for(lambda s: s.step == 7 and s.status == "paused", WAIT)
        runner.set(loss="bce")                   # a snapshot with no new rows, a new config
        runner.history_csv()
    finally:
        runner.stop()
    for original, _, rebuilt in seen:
        same_snapshot(rebuilt, original)
    sent = [(packed["history"][0], len(packed["history"][1]["step"])) for _, packed, _ in seen]
    diverged = next(i for i, (original, _, _) in enumerate(seen) if original.status == "diverged")
    assert sent[0] == (0, 5) and sent[diverged] == (0, 5), "the first snapshot and a rollback send every row"
    assert sum(rows for _, rows in sent) == 5 + 5 + 2, "otherwise only the new rows go"
    last = seen[-1][1]
    assert last["real"] is UNCHANGED and last["config"] is UNCHANGED and last["status"] == "stopped"
    grids = [array for _, packed, _ in seen for _, array in packed["timeline"] if array is not UNCHANGED]
    assert len(grids) == len({step for original, _, _ in seen for step, _ in original.timeline}) == 3


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
            runner.save(tmp_path / "late.pt", timeout=5)
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
