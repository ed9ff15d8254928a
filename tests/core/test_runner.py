"""Runner and RunProcess: a Trainer on a background thread, or in a child process, driven by
commands and read through Snapshots.  The behaviour both promise is tested on both.

Every wait polls ``wait_for``; a command round trip (``history_csv``) proves the training thread
has handled everything sent before it, so "nothing more happened" is checked without sleeping.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import gan_core.metrics as quality
from gan_core import Trainer
from gan_core.checkpoint import load_trainer, trainer_bytes
from gan_core.config import ConfigError
from gan_core.presets import preset
from gan_core.run_process import RunProcess
from gan_core.runner import SLOW_MOTION, Commands, HistoryArrays, RunSlots, Runner, Snapshot
from gan_core.trainer import METRICS

WAIT = 60.0   # generous: the CI box is a shared 2-core machine


def pattern(**changes):
    return preset("seed-002-pattern", device="cpu", **changes)


def starter(kind: str, runners: list[Commands]):
    """A function that starts a run of ``kind`` ("thread" or "process") and, unless told not to,
    waits until it has loaded.  A trainer given to a process run goes as its checkpoint."""

    def make(config=None, *, trainer=None, slots=None, loaded=True, **kwargs) -> Commands:
        slots = slots or RunSlots(4)
        if kind == "process":
            runner = RunProcess(trainer.config if trainer else config, slots=slots,
                                checkpoint=trainer_bytes(trainer) if trainer else None, **kwargs)
        else:
            runner = Runner(config, trainer=trainer, slots=slots, **kwargs)
        runners.append(runner)
        if loaded:
            runner.wait_for(lambda s: s.status == "paused", WAIT)
        return runner
    return make


@pytest.fixture(params=["thread", "process"])
def make_runner(request):
    """Start runs of both kinds that are stopped after the test, whatever happens."""
    runners: list[Commands] = []
    yield starter(request.param, runners)
    for runner in runners:
        runner.stop()


@pytest.fixture
def make_thread_runner():
    """For what only a Runner offers: its trainer in this process, its engine hooks."""
    runners: list[Commands] = []
    yield starter("thread", runners)
    for runner in runners:
        runner.stop()


def settle(runner: Runner) -> int:
    """Wait until the thread has handled every earlier command; return the step it shows."""
    runner.history_csv(timeout=WAIT)
    return runner.snapshot.step


def test_play_advances_and_pause_stops(make_runner) -> None:
    runner = make_runner(pattern())
    assert runner.snapshot.step == 0 and runner.snapshot.config == pattern()
    runner.play()
    running = runner.wait_for(lambda s: s.status == "running" and s.step >= 20, WAIT)
    assert running.playing and running.steps_per_second > 0
    runner.pause()
    paused = runner.wait_for(lambda s: s.status == "paused", WAIT)
    assert not paused.playing and paused.steps_per_second == 0
    assert settle(runner) == paused.step
    assert settle(runner) == paused.step          # still: no step ran after the pause
    csv = runner.history_csv()
    assert len(csv.strip().splitlines()) == 1 + paused.step
    assert list(paused.history["step"]) == list(range(1, paused.step + 1))


def test_a_resumed_run_keeps_its_training_time(make_runner) -> None:
    runner = make_runner(pattern())
    runner.play()
    runner.wait_for(lambda s: s.elapsed >= 1.0, WAIT)
    runner.pause()
    trained = runner.wait_for(lambda s: s.status == "paused", WAIT).elapsed
    resumed = make_runner(trainer=load_trainer(runner.checkpoint_bytes()))
    assert resumed.snapshot.elapsed == pytest.approx(trained, abs=0.05)


@pytest.mark.parametrize("kind", ["step", "d", "g"])
def test_single_steps_advance_exactly_one(make_runner, kind: str) -> None:
    runner = make_runner(pattern())
    runner.step(kind)
    shown = runner.wait_for(lambda s: s.step == 1, WAIT)
    runner.step(kind)
    shown = runner.wait_for(lambda s: s.step == 2, WAIT)
    assert settle(runner) == 2 and shown.status == "paused"
    assert list(shown.history["kind"]) == [kind, kind]
    with pytest.raises(ValueError, match="kind"):
        runner.step("both")


def test_set_applies_live_and_refuses_structural_changes(make_thread_runner) -> None:
    trainer = Trainer(pattern())
    runner = make_thread_runner(trainer=trainer)
    runner.set(lr_g=1e-4, loss="mse")
    settle(runner)
    assert trainer.opt_g.param_groups[0]["lr"] == 1e-4
    assert runner.snapshot.config.lr_g == 1e-4 and runner.snapshot.config.loss == "mse"
    with pytest.raises(ConfigError) as caught:
        runner.set(latent_dim=3)
    assert caught.value.field == "latent_dim"
    with pytest.raises(ConfigError) as caught:
        runner.set(lr_d=-1.0)
    assert caught.value.field == "lr_d"
    settle(runner)
    assert trainer.config.latent_dim == 1 and trainer.config.lr_d == 1e-3


def test_speed_sets_steps_per_refresh(make_runner) -> None:
    runner = make_runner(pattern())
    runner.set_speed(7)
    runner.play()
    shown = runner.wait_for(lambda s: s.step >= 14, WAIT)
    assert shown.step % 7 == 0                   # snapshots come after whole chunks of 7 steps
    runner.pause()


def slow_frames(runner: Commands, frames: list[Snapshot], count: int) -> list[Snapshot]:
    """Play ``runner`` in slow motion until ``count`` frames (snapshots with a phase) have come."""
    runner.set_speed(SLOW_MOTION)
    runner.play()
    runner.wait_for(lambda s: sum(1 for f in frames if f.phase) >= count, WAIT)
    return [f for f in frames if f.phase][:count]


@pytest.mark.parametrize("changes", [{}, {"order": "g_first", "d_steps": 2}])
def test_slow_motion_shows_each_phase_and_trains_as_normal_steps_do(make_thread_runner, changes: dict) -> None:
    frames: list[Snapshot] = []
    config = pattern(**changes)
    runner = make_thread_runner(config, frame_seconds=0.05, on_publish=frames.append)
    shown = slow_frames(runner, frames, 6)
    d_update = "D's update" if config.d_steps == 1 else f"D's {config.d_steps} updates"
    phases = [d_update, "G's update"] if config.order == "d_first" else ["G's update", d_update]
    assert [(f.step, f.phase) for f in shown] == [
        (i - (n == 0), f"iteration {i}: after {phase}") for i in (1, 2, 3) for n, phase in enumerate(phases)]
    runner.pause()
    paused = runner.wait_for(lambda s: s.status == "paused", WAIT)
    assert paused.phase == "" and settle(runner) == paused.step >= 3

    alone = Trainer(config)
    for _ in range(paused.step):
        alone.step()
    alone.flush()
    for column in ("step", "kind", *METRICS):
        assert list(paused.history[column]) == getattr(alone.history, column), column


def test_slow_motion_frames_show_d_then_g_moving_the_toy_view(make_thread_runner) -> None:
    frames: list[Snapshot] = []
    runner = make_thread_runner(preset("toy-ring", device="cpu"), frame_seconds=0.05, on_publish=frames.append)
    before, after_d, after_g = [frames[0], *slow_frames(runner, frames, 2)]
    runner.pause()
    assert after_d.phase.endswith("after D's update") and after_g.phase.endswith("after G's update")
    assert not np.array_equal(before.toy.heatmap, after_d.toy.heatmap), "D's step moves its landscape"
    assert np.array_equal(before.toy.fake, after_d.toy.fake), "... and not G's points"
    assert np.array_equal(after_d.toy.heatmap, after_g.toy.heatmap), "G's step leaves D's landscape"
    assert not np.array_equal(after_d.toy.fake, after_g.toy.fake), "... and moves G's points"
    assert not np.array_equal(after_d.toy.arrows, after_g.toy.arrows)


def test_slow_motion_answers_commands_between_frames(make_thread_runner) -> None:
    frames: list[Snapshot] = []
    # Each frame would stay ten minutes: only commands handled mid-frame can pass this test.
    runner = make_thread_runner(pattern(), frame_seconds=600, on_publish=frames.append)
    assert slow_frames(runner, frames, 1)[0].phase == "iteration 1: after D's update"
    runner.pause()
    paused = runner.wait_for(lambda s: s.status == "paused", WAIT)
    assert paused.step == 1 and list(paused.history["kind"]) == ["step"], "the iteration was finished first"
    runner.play()
    runner.wait_for(lambda s: s.phase == "iteration 2: after D's update", WAIT)
    runner.step("g")
    stepped = runner.wait_for(lambda s: s.step == 3, WAIT)
    assert stepped.status == "paused" and list(stepped.history["kind"]) == ["step", "step", "g"]


def test_slow_motion_frames_reach_the_reader_of_either_kind_of_run(make_runner) -> None:
    runner = make_runner(pattern())
    runner.set_speed(SLOW_MOTION)
    runner.play()
    runner.wait_for(lambda s: s.phase == "iteration 1: after G's update", WAIT)
    runner.pause()


def test_divergence_pauses_with_a_message_and_the_run_can_go_on(make_runner) -> None:
    trainer = Trainer(pattern(loss="log", metrics_every=5))
    for _ in range(5):
        trainer.step()                           # flushed: step 5 is the last good state
    with torch.no_grad():
        trainer.D.body[-2].bias.fill_(1e4)       # D(G(z)) = 1 exactly: -log(1 - 1) = inf
    runner = make_runner(trainer=trainer)
    runner.play()
    diverged = runner.wait_for(lambda s: s.status == "diverged", WAIT)
    assert "diverged at step 6" in diverged.message and "\n" not in diverged.message
    assert diverged.step == 5 and not diverged.playing
    assert list(diverged.history["step"]) == [1, 2, 3, 4, 5], "the history shown is rolled back too"
    runner.set(loss="bce")
    runner.play()
    # It goes on.  D's huge bias may still end the game later (a dead game), so the status is not asked.
    runner.wait_for(lambda s: s.step > 10, WAIT)
    runner.pause()
    shown = runner.wait_for(lambda s: not s.playing, WAIT)
    assert list(shown.history["step"]) == list(range(1, shown.step + 1))


def test_checkpoint_bytes_and_history_csv(make_runner, tmp_path: Path) -> None:
    runner = make_runner(pattern())
    for i in range(3):
        runner.step()
    runner.wait_for(lambda s: s.step == 3, WAIT)
    (tmp_path / "run.pt").write_bytes(runner.checkpoint_bytes())
    resumed = Trainer.load(tmp_path / "run.pt")
    assert resumed.step_count == 3 and resumed.history.step == [1, 2, 3]
    assert runner.history_csv().splitlines()[0].startswith("step,kind,loss_d")


def test_stop_ends_the_run(make_runner, tmp_path: Path) -> None:
    runner = make_runner(pattern())
    runner.play()
    runner.wait_for(lambda s: s.step > 0, WAIT)
    runner.stop()
    assert not runner.alive
    assert runner.snapshot.status == "stopped"
    with pytest.raises(RuntimeError, match="stopped"):
        runner.checkpoint_bytes(timeout=5)   # answered at once, not after a timeout


def test_run_slots_queue_a_second_run_until_the_first_pauses(make_runner) -> None:
    slots = RunSlots(1, turn_seconds=1e9)        # no turns end: only the pause hands the slot on
    first = make_runner(pattern(), slots=slots)
    second = make_runner(pattern(seed=1), slots=slots)
    first.play()
    first.wait_for(lambda s: s.status == "running", WAIT)
    second.play()
    queued = second.wait_for(lambda s: s.status == "queued", WAIT)
    assert queued.playing and queued.queue_position == 1 and "1st in line" in queued.message
    assert settle(second) == 0                   # queued: it has not trained
    first.pause()
    first.wait_for(lambda s: s.status == "paused", WAIT)
    second.wait_for(lambda s: s.status == "running" and s.step > 0, WAIT)
    assert slots.busy == 1
    second.pause()
    second.wait_for(lambda s: s.status == "paused", WAIT)
    assert slots.busy == 0


def test_a_run_in_slow_motion_frees_its_slot_while_it_holds_a_frame(make_thread_runner) -> None:
    slots = RunSlots(1, turn_seconds=1e9)        # no turns end: only a free slot lets the other train
    slow = make_thread_runner(pattern(), slots=slots, frame_seconds=5.0)
    other = make_thread_runner(pattern(seed=1), slots=slots)
    slow.set_speed(SLOW_MOTION)
    slow.play()
    slow.wait_for(lambda s: s.phase != "", WAIT)   # a frame, held for 5 s
    other.play()
    other.wait_for(lambda s: s.step > 0, WAIT)
    other.pause()
    slow.pause()


def test_a_bad_config_fails_before_the_thread_starts() -> None:
    with pytest.raises(ValueError):
        Runner()


def test_a_run_whose_data_cannot_load_reports_failed(make_runner, tmp_path: Path) -> None:
    config = preset("dcgan-small", dataset="folder", image_folder=str(tmp_path / "missing"), device="cpu")
    runner = make_runner(config, loaded=False)
    failed = runner.wait_for(lambda s: s.status == "failed", WAIT)
    assert "missing" in failed.message and "\n" not in failed.message
    runner.stop()
    assert not runner.alive and runner.snapshot.status == "failed"


def test_history_arrays_follow_appends_rollbacks_and_new_runs() -> None:
    trainer = Trainer(preset("toy-ring", device="cpu", metrics_every=2))
    arrays = HistoryArrays()
    for _ in range(4):
        trainer.step()
    trainer.flush()
    first = arrays.update(trainer.history)
    assert list(first["step"]) == [1, 2, 3, 4] and list(first["kind"]) == ["step"] * 4
    trainer.step_d()
    trainer.flush()
    second = arrays.update(trainer.history)
    assert list(second["step"]) == [1, 2, 3, 4, 5] and second["kind"][-1] == "d"
    assert len(first["step"]) == 4                              # what was handed out never changes
    trainer.history.truncate(2)                                  # a rollback, then regrowth
    trainer.history.step += [3, 4, 5]
    for column in ("kind", *METRICS, "time"):
        getattr(trainer.history, column).extend(getattr(trainer.history, column)[-1:] * 3)
    assert list(arrays.update(trainer.history)["step"]) == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(arrays.update(trainer.history)["loss_d"],
                                  np.asarray(trainer.history.loss_d))
    fresh = Trainer(preset("toy-ring", device="cpu"))
    assert len(arrays.update(fresh.history)["step"]) == 0       # a new run starts empty


def measured_over_60_steps(make_thread_runner, cost: float = 0.0, every: int = 10) -> tuple[list[int], Commands]:
    """Play a run for 60 steps, a publish every 10, with a measurement that takes ``cost`` s;
    the steps it measured at, and the (paused) run."""
    measured: list[int] = []

    def metrics(trainer: Trainer) -> dict:
        measured.append(trainer.step_count)
        time.sleep(cost)          # the measurement's own cost, not a wait for anything
        return {"measured at step": {"value": trainer.step_count, "help": ""}}

    runner = make_thread_runner(pattern(), live_metrics=metrics, metrics_every=every)
    runner.set_speed(10)
    runner.play()
    runner.wait_for(lambda s: s.step >= 60, WAIT)
    runner.pause()
    settle(runner)
    return measured, runner


def test_live_metrics_keep_to_their_step_interval(make_thread_runner, monkeypatch) -> None:
    """Measured at a publish at least ``metrics_every`` steps after the last measurement began.
    The time share is lifted: even a free measurement can be preempted for a millisecond on a
    busy machine, which the share rule rightly pays back in training time."""
    monkeypatch.setattr(quality, "METRICS_SHARE", 1e9)
    measured, _ = measured_over_60_steps(make_thread_runner)
    # A publish (every 10 steps, and at the pause) finds the last measurement still running only
    # on a stalled machine: the next then waits for a later publish.
    assert measured[0] == 0 and len(measured) >= 3
    assert all(step - before >= 10 for before, step in zip(measured, measured[1:])), measured


def test_live_metrics_keep_to_their_time_share(make_thread_runner, monkeypatch) -> None:
    """Past a run's first seconds, a 50 ms measurement waits for 2.5 s of training
    (METRICS_SHARE), which 60 steps here do not reach."""
    monkeypatch.setattr(quality, "EARLY_SECONDS", 0.0)
    measured, runner = measured_over_60_steps(make_thread_runner, cost=0.05)
    assert measured == [0] and runner.snapshot.elapsed < 2.5


def test_the_first_figures_come_soon_after_play(make_thread_runner) -> None:
    """Early in a run the interval starts at EARLY_STEPS steps and doubles, so a panel shows a
    trained figure long before the 500 steps (and the time share) of later measurements."""
    measured, _ = measured_over_60_steps(make_thread_runner, every=quality.METRICS_EVERY)
    assert measured[0] == 0 and len(measured) >= 2 and measured[1] >= quality.EARLY_STEPS, measured


def test_live_metrics_measure_beside_training(make_thread_runner) -> None:
    """A measurement runs on a copy of G on a thread of its own: training goes on while it
    lasts (here the second lasts until the test lets it end), and a run that waits shows its
    result.  The first, at load, is waited for: nothing trains then."""
    release, threads = threading.Event(), []

    def metrics(trainer: Trainer) -> dict:
        threads.append(threading.current_thread().name)
        if trainer.step_count:
            assert release.wait(WAIT)
        return {"measured at step": {"value": trainer.step_count, "help": ""}}

    runner = make_thread_runner(pattern(), live_metrics=metrics, metrics_every=10)
    assert runner.snapshot.metrics["measured at step"]["value"] == 0
    runner.set_speed(10)
    runner.play()
    try:
        runner.wait_for(lambda s: s.step >= 60, WAIT)   # on the training thread, this never came
        runner.pause()
        settle(runner)
        assert runner.snapshot.metrics["measured at step"]["value"] == 0 and runner.snapshot.step >= 60
    finally:
        release.set()
    shown = runner.wait_for(lambda s: s.metrics["measured at step"]["value"] > 0, WAIT)
    assert 10 <= shown.metrics["measured at step"]["value"] < 60 and shown.status == "paused"
    assert "gan-runner" not in threads


def test_a_failed_measurement_is_reported_not_fatal(make_thread_runner) -> None:
    def metrics(trainer: Trainer) -> dict:
        raise RuntimeError("no classifier")

    runner = make_thread_runner(pattern(), live_metrics=metrics)
    shown = runner.wait_for(lambda s: bool(s.metrics), WAIT)
    assert "no classifier" in shown.metrics["quality metrics"]["help"]
    runner.step("step")
    assert runner.wait_for(lambda s: s.step == 1, WAIT).status == "paused"
