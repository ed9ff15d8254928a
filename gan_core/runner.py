"""Runner: one run (a Trainer, or a comparison's Trainers in lockstep) on a background thread,
driven by commands, read through Snapshots.

The page never touches a Trainer.  It sends commands (play, pause, step, change a knob, ask for
a file), which the runner's thread applies *between* steps, and it reads ``runner.snapshot``: an
immutable picture of the run that the thread replaces with one reference swap after every chunk
of steps.  The thread makes no UI calls, so any front end (Streamlit, a notebook, a test) can
drive it; ``run_process.RunProcess`` runs this same Runner in a child process.

A process-wide ``RunSlots`` (turns.py) caps how many runs train at once; a run over the cap waits
as ``queued``, and runs take turns while others wait.

In slow motion (``set_speed(SLOW_MOTION)``) the thread runs each iteration as its phases
(``Trainer.phases``: D's k updates, then G's update, in the configured order) and publishes after
each, holding every frame for ``frame_seconds``: the numbers are those of ordinary steps, only
shown half an iteration at a time.  A command that arrives mid-iteration first finishes it, so
commands always find whole iterations.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from . import metrics as quality
from .compare import Lockstep
from .config import ConfigError, TrainConfig
from .errors import DivergenceError, GanCoreError
from .threads import training_threads
from .trainer import LIVE_FIELDS, PHASE_ORDER, STEP_KINDS, History, Trainer
from .turns import Place, RunSlots
from .visuals import LiveViews, ToyView

log = logging.getLogger(__name__)

SLOTS = RunSlots(int(os.environ.get("GAN_PLAYGROUND_MAX_RUNS", "4")),
                 float(os.environ.get("GAN_PLAYGROUND_TURN_SECONDS", "20")))

MEASURE_WAIT = 10.0       # seconds a stopping run waits for a quality measurement to end
IDLE_WAIT = 0.5           # seconds a waiting run's thread sleeps on its commands at a time
SLOW_MOTION = "slow motion"   # the speed that shows D's and G's updates as frames of their own
# Each slow-motion frame stays this long: a page refreshing twice a second shows every one.
FRAME_SECONDS = 0.7
# Commands that leave a slow-motion iteration half done: they touch neither the model nor the run.
_MID_ITERATION = frozenset({"speed", "place", "wake"})


class Status(str, Enum):
    """Where a run is; a plain string too, so it compares and prints as its value."""

    LOADING = "loading"
    PAUSED = "paused"
    RUNNING = "running"
    QUEUED = "queued"
    DIVERGED = "diverged"
    FAILED = "failed"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value

    @property
    def playing(self) -> bool:
        """Meant to train: training, or waiting for a slot to."""
        return self in (Status.RUNNING, Status.QUEUED)

    @property
    def moving(self) -> bool:
        """Changing by itself, so worth refreshing often."""
        return self.playing or self is Status.LOADING

    @property
    def ready(self) -> bool:
        """Takes commands."""
        return self in (Status.PAUSED, Status.RUNNING, Status.QUEUED, Status.DIVERGED)

    @property
    def ended(self) -> bool:
        return self in (Status.FAILED, Status.STOPPED)


class HistoryArrays:
    """numpy views of a History's columns: rows are copied once into buffers that only grow, so a
    publish pays for its new rows only, and a view handed out never changes.  A rollback
    (History.revision) or another History starts new buffers."""

    def __init__(self) -> None:
        self._source: tuple[History | None, int] = (None, 0)
        self._buffers: dict[str, np.ndarray] = {}
        self._filled = 0

    def update(self, history: History) -> dict[str, np.ndarray]:
        fresh = self._source != (history, history.revision) or len(history) < self._filled
        self._source = (history, history.revision)
        start = 0 if fresh else self._filled
        return self.extend(start, {c: np.asarray(getattr(history, c)[start:]) for c in History.COLUMNS})

    def extend(self, start: int, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The columns with ``rows`` put after the first ``start`` rows (0: start afresh); also
        how another process follows the rows it is sent."""
        if start == 0:
            self._buffers, self._filled = {}, 0
        total = start + len(rows["step"])
        for column, new in rows.items():
            buffer = self._buffers.get(column)
            if buffer is None or len(buffer) < total or not np.can_cast(new.dtype, buffer.dtype):
                grown = np.empty(max(2 * total, 1024), new.dtype if buffer is None else np.result_type(buffer, new))
                if buffer is not None:
                    grown[:start] = buffer[:start]
                self._buffers[column] = buffer = grown
            buffer[start:total] = new
        self._filled = total
        return {column: buffer[:total] for column, buffer in self._buffers.items()}


@dataclass(frozen=True)
class Snapshot:
    """Everything a view shows about a run at one moment.  Never mutated after publishing."""

    version: int
    status: Status
    message: str                      # one human sentence about the status, or ""
    config: TrainConfig | None
    device: str
    step: int
    steps_per_second: float
    elapsed: float                    # seconds spent training
    history: dict[str, np.ndarray]    # columns of trainer.history (step, loss_d, ...)
    evals: tuple[dict[str, float], ...] = ()
    samples: np.ndarray | None = None                 # G(fixed z), data space, (GRID_SIZE, ...)
    real: np.ndarray | None = None                    # a real batch for comparison
    timeline: tuple[tuple[int, np.ndarray], ...] = ()  # (step, samples) from earlier moments
    toy: ToyView | None = None
    pattern_history: tuple[tuple[int, np.ndarray], ...] = ()  # (step, 6 values of G's output)
    metrics: dict[str, Any] = field(default_factory=dict)
    data_note: str = ""
    queue_position: int = 0           # while queued: its place in line (1 = next); else 0
    eta_seconds: float = 0.0          # while queued: the estimated wait for a turn
    variants: tuple[Snapshot, ...] = ()   # a comparison's: one per variant (the fields above are A's)
    phase: str = ""                   # in slow motion, the frame's moment: "iteration 13: after D's update"

    def restated(self, **changes: Any) -> Snapshot:
        """This snapshot with a new status (and no rate, no place in line unless given), for a
        moment when nothing has trained since it was taken."""
        return replace(self, **{"version": self.version + 1, "steps_per_second": 0.0,
                                "queue_position": 0, "eta_seconds": 0.0, **changes})

    @property
    def playing(self) -> bool:
        return self.status.playing


EMPTY = Snapshot(0, Status.LOADING, "Preparing data and models ...", None, "", 0, 0.0, 0.0,
                 {c: np.array([]) for c in History.COLUMNS})


class Commands:
    """What a front end does with a run, wherever it trains: each call becomes one command of the
    vocabulary that ``Runner._apply`` dispatches.  A subclass says how a command travels
    (``send``) and how a question comes back (``ask``)."""

    config: TrainConfig               # the run's, or a comparison's first variant's
    configs: list[TrainConfig]        # one per variant (one for a plain run)
    snapshot: Snapshot

    def play(self) -> None:
        self.send(("play",))

    def pause(self) -> None:
        self.send(("pause",))

    def step(self, kind: str = "step") -> None:
        """One iteration ('step'), one D update ('d') or one G update ('g'); pauses first."""
        if kind not in STEP_KINDS:
            raise ValueError(f"unknown step kind {kind!r}")
        self.send(("step", kind))

    def set(self, **changes: Any) -> None:
        """Change live knobs.  Raises ConfigError at once for an invalid or structural change."""
        structural = sorted(set(changes) - LIVE_FIELDS)
        if structural:
            raise ConfigError(structural[0], "changing this rebuilds the model: start a new run")
        self.config = self.config.replace(**changes)   # validates now, in the caller's thread
        self.send(("set", changes))

    def set_speed(self, steps_per_refresh: int | str | None) -> None:
        """Steps between two refreshes of the views; None publishes by time, SLOW_MOTION after
        each phase of each iteration."""
        self.send(("speed", steps_per_refresh))

    def checkpoint_bytes(self, timeout: float = 60.0) -> bytes:
        return self.ask("bytes").result(timeout)

    def history_csv(self, timeout: float = 30.0) -> str:
        return self.ask("csv").result(timeout)

    def wait_for(self, predicate: Callable[[Snapshot], bool], timeout: float = 30.0) -> Snapshot:
        """Poll the snapshot until ``predicate`` holds (a page waiting for a click's effect, a test)."""
        deadline = time.monotonic() + timeout
        while not predicate(self.snapshot):
            if time.monotonic() > deadline:
                raise TimeoutError(f"run did not reach the expected state; last: {self.snapshot.status} "
                                   f"at step {self.snapshot.step}")
            time.sleep(0.01)
        return self.snapshot

    def send(self, command: tuple) -> None:
        raise NotImplementedError

    def ask(self, what: str) -> Future:
        raise NotImplementedError


class _Watch:
    """What one variant's snapshots are made from, kept between publishes."""

    def __init__(self, live_metrics: Callable[[Trainer], dict[str, Any]] | None, metrics_every: int) -> None:
        self.history, self.views = HistoryArrays(), LiveViews()
        self.quality = quality.LiveQuality(live_metrics, metrics_every)

    def fields(self, trainer: Trainer, elapsed: float, wait: bool, side: str) -> dict[str, Any]:
        return dict(config=trainer.config, device=_device_name(trainer.device), step=trainer.step_count,
                    history=self.history.update(trainer.history), evals=tuple(trainer.history.evals),
                    metrics=self.quality.update(trainer, elapsed, wait=wait), data_note=trainer.data.note,
                    phase=_phase_text(trainer, side), **self.views.update(trainer))


class Runner(Commands):
    """Drive one run from a background thread: a config (or a Trainer), or a comparison's configs
    (or their Lockstep).  Every method is safe from any thread and returns at once.
    ``on_publish``, if given, gets every snapshot on the training thread."""

    def __init__(self, config: TrainConfig | Sequence[TrainConfig] | None = None, *,
                 trainer: Trainer | Lockstep | None = None,
                 slots: RunSlots = SLOTS, refresh_seconds: float = 0.25, frame_seconds: float = FRAME_SECONDS,
                 live_metrics: Callable[[Trainer], dict[str, Any]] | None = quality.live_metrics,
                 metrics_every: int = quality.METRICS_EVERY, on_publish: Callable[[Snapshot], None] | None = None):
        if config is None and trainer is None:
            raise ValueError("give a config or a trainer")
        if isinstance(trainer, Trainer):
            trainer = Lockstep([trainer], [torch.get_rng_state()])
        configs = trainer.configs if trainer is not None else (
            [config] if isinstance(config, TrainConfig) else list(config))
        self.configs = [c.validate() for c in configs]
        self.config = self.configs[0]
        self.snapshot: Snapshot = EMPTY
        self._lockstep, self._slots, self._holding_slot = trainer, slots, False
        self._commands: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._refresh_seconds, self._steps_per_refresh = refresh_seconds, None
        self._frame_seconds, self._frame_until = frame_seconds, 0.0
        self._iteration: Iterator[list[str]] | None = None   # slow motion's iteration under way
        self._sides: list[str] | None = None        # the phase the next snapshot shows, per variant
        self._iteration_started: float | None = None   # when slow motion's last iteration began
        self._status, self._message = Status.LOADING, ""
        self._changed = False          # something to publish at the end of this tick
        self._elapsed, self._rate = 0.0, 0.0
        self._watches = [_Watch(live_metrics, metrics_every) for _ in self.configs]
        self._on_publish = on_publish
        self._thread = threading.Thread(target=self._main, name="gan-runner", daemon=True)
        self._thread.start()

    def send(self, command: tuple) -> None:
        self._commands.put(command)

    def ask(self, what: str) -> Future:
        """A question the thread answers between steps: 'bytes' (a checkpoint) or 'csv'."""
        future: Future = Future()
        self.send(("ask", what, future))
        if not self._thread.is_alive():
            self._refuse_questions()   # nobody will read the queue: refuse now, not after a timeout
        return future

    def stop(self, timeout: float = 10.0) -> None:
        """Stop training and free the model."""
        self._stop.set()
        self.send(("wake",))
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ------------------------------------------------------------------ the thread
    def _main(self) -> None:
        torch.set_num_threads(training_threads(self._slots.limit))   # for this thread's ops
        try:
            if self._lockstep is None:
                self._lockstep = Lockstep.build(self.configs)
            self._elapsed = self._lockstep.training_seconds   # a resumed run's clock goes on
            self._status = Status.PAUSED
            self._publish()
            while not self._stop.is_set():
                if self._status.playing and not self._holding_frame() and self._take_slot():
                    self._run_chunk()
                self._handle_commands(0.0 if self._changed else self._wait_seconds())
                measured = any(w.quality.finished for w in self._watches)
                if self._changed or (not self._status.playing and measured):
                    self._publish()    # once a tick: after the commands, so it shows what they did
        except GanCoreError as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - the thread must report, not die silently
            log.exception("training thread failed")
            self._fail(f"Training stopped by an unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self._drop_slot()
            self._lockstep = self._iteration = None   # frees the models and the data
            for watch in self._watches:        # a process that exits under a running torch op aborts
                watch.quality.wait(MEASURE_WAIT)
            if self._status is not Status.FAILED:
                self._show(self.snapshot.restated(status=Status.STOPPED))
            self._refuse_questions()

    def _handle_commands(self, wait: float) -> None:
        """Apply the commands sent, waiting up to ``wait`` seconds for the first."""
        try:
            command = self._commands.get(timeout=wait) if wait > 0 else self._commands.get_nowait()
            while True:
                self._apply(command)
                command = self._commands.get_nowait()
        except queue.Empty:
            return

    def _wait_seconds(self) -> float:
        """How long the thread may sleep on its commands: a while when it waits for the user,
        the rest of the frame it shows in slow motion, else not at all."""
        if not self._status.playing:
            return IDLE_WAIT
        return max(0.0, self._frame_until - time.monotonic())

    def _holding_frame(self) -> bool:
        return time.monotonic() < self._frame_until

    def _apply(self, command: tuple) -> None:
        """The one place a command is carried out."""
        name, *args = command
        if name not in _MID_ITERATION:
            self._finish_iteration()
        if name == "play":
            self._status, self._message = Status.RUNNING, ""
            self._changed = True
        elif name == "pause":
            self._pause(Status.PAUSED)
        elif name == "step":
            self._pause(Status.PAUSED)
            self._guarded(lambda: self._single_step(*args))
        elif name == "set":
            self._guarded(lambda: self._lockstep.apply_changes(**args[0]))
            self._changed = True
        elif name == "speed" and args[0] != self._steps_per_refresh:
            # one pace's rate says nothing of another's, and its frame need not be held
            self._steps_per_refresh, self._rate, self._frame_until = args[0], 0.0, 0.0
        elif name == "place":          # the slots' answer, when they are another process's
            self._placed(args[0])
        elif name == "yield" and self._holding_slot:   # turns.YIELD: to the back of the line
            self._drop_slot()
        elif name == "ask":
            self._answer(*args)
        # "wake" (turns.WAKE, or stop) only ends a wait for commands

    def _answer(self, what: str, future: Future) -> None:
        if self._changed:
            self._publish()    # so an answer finds every earlier command's effect shown
        try:
            future.set_result(self._lockstep.checkpoint(self._elapsed) if what == "bytes"
                              else self._lockstep.history_csv())
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
            future.set_exception(exc)

    def _single_step(self, kind: str) -> None:
        steps = self._lockstep
        self._train({"step": steps.step, "d": steps.step_d, "g": steps.step_g}[kind])

    def _train(self, action: Callable[[], Any]) -> bool:
        """Run ``action`` on the lockstep and flush its metrics, guarded, as training time."""
        def run() -> None:
            action()
            self._lockstep.flush()
        started = time.perf_counter()
        done = self._guarded(run)
        self._elapsed += time.perf_counter() - started
        self._changed = True
        return done

    def _run_chunk(self) -> None:
        if self._steps_per_refresh == SLOW_MOTION:
            self._slow_frame()
            return
        self._finish_iteration()   # slow motion was left mid-iteration
        self._iteration_started = None
        trainer, started = self._lockstep, time.perf_counter()
        first, target = trainer.step_count, self._steps_per_refresh
        while True:
            if not self._guarded(trainer.step):
                return
            done = trainer.step_count - first
            if (target and done >= target) or (not target and time.perf_counter() - started >= self._refresh_seconds):
                break
            if not self._commands.empty() or self._stop.is_set():
                break
        if not self._guarded(trainer.flush):
            return
        spent = time.perf_counter() - started
        self._elapsed += spent
        self._note_rate(trainer.step_count - first, spent)
        self._changed = True

    def _note_rate(self, steps: int, seconds: float) -> None:
        rate = steps / max(seconds, 1e-9)
        self._rate = rate if self._rate == 0 else 0.7 * self._rate + 0.3 * rate

    def _slow_frame(self) -> None:
        """Slow motion: the next phase, published as a frame of its own and held for ``frame_seconds``."""
        if self._train(self._next_phase):
            self._frame_until = time.monotonic() + self._frame_seconds

    def _next_phase(self) -> None:
        """The next phase of the iteration under way, or of a new one; the rate counts iterations."""
        sides = next(self._iteration, None) if self._iteration is not None else None
        if sides is None:          # the last iteration is whole: begin the next
            now = time.monotonic()
            if self._iteration_started is not None:
                self._note_rate(1, now - self._iteration_started)
            self._iteration_started, self._iteration = now, self._lockstep.phases()
            sides = next(self._iteration)
        self._sides = sides

    def _finish_iteration(self) -> None:
        """Run the rest of a slow-motion iteration at once, without its frames."""
        iteration, self._iteration, self._sides = self._iteration, None, None
        if iteration is not None:
            self._train(lambda: deque(iteration, maxlen=0))

    def _guarded(self, action: Callable[[], Any]) -> bool:
        """Run one trainer action; a divergence or bad change pauses the run with its message."""
        try:
            action()
            return True
        except DivergenceError as exc:
            self._pause(Status.DIVERGED, str(exc))
        except GanCoreError as exc:
            self._pause(Status.PAUSED, str(exc))
        return False

    def _pause(self, status: Status, message: str = "") -> None:
        """Stop playing, and forget slow motion's iteration: a command finished it before, or it failed."""
        self._status, self._message = status, message
        self._iteration = self._sides = self._iteration_started = None
        self._frame_until = 0.0
        self._drop_slot()
        self._changed = True

    # ------------------------------------------------------------------ turns
    def _take_slot(self) -> bool:
        """Whether the run holds a slot; if not, it asks (again) and waits a little for an answer,
        a wake-up or any command.  Slots of another process answer with a "place" command."""
        if not self._holding_slot:
            place = self._slots.acquire(self, self.send)
            if place is not None:
                self._placed(place)
            if not self._holding_slot:
                self._handle_commands(IDLE_WAIT)
        return self._holding_slot

    def _placed(self, place: Place) -> None:
        if not self._status.playing:
            if place.granted:
                self._slots.release(self)     # an answer to an ask from before a pause
        elif place.granted:
            self._holding_slot, self._status, self._message = True, Status.RUNNING, ""
        else:
            self._show_place(place)

    def _show_place(self, place: Place) -> None:
        """Say the run waits, and where in line, unless the last snapshot says so already."""
        self._status, self._message, shown = Status.QUEUED, place.message(), self.snapshot
        if (shown.status, shown.message, shown.queue_position) != (Status.QUEUED, self._message, place.position):
            self._show(shown.restated(status=Status.QUEUED, message=self._message,
                                      queue_position=place.position, eta_seconds=place.eta_seconds))

    def _drop_slot(self) -> None:
        """Free the slot held, or the place in line."""
        self._holding_slot = False
        self._slots.release(self)

    def _fail(self, message: str) -> None:
        self._status, self._message = Status.FAILED, message
        self._drop_slot()
        self._show(self.snapshot.restated(status=Status.FAILED, message=message))

    def _refuse_questions(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if command[0] == "ask":
                command[2].set_exception(RuntimeError("the run has stopped"))

    # ------------------------------------------------------------------ snapshots
    def _publish(self) -> None:
        steps, self._changed = self._lockstep, False
        if steps is None:
            return
        run = dict(version=self.snapshot.version + 1, status=self._status, message=self._message,
                   steps_per_second=self._rate if self._status is Status.RUNNING else 0.0, elapsed=self._elapsed)
        wait = not self._status.playing
        sides, self._sides = self._sides or [""] * len(steps.trainers), None   # a frame's own snapshot only
        parts = [w.fields(t, self._elapsed, wait, side) for w, t, side in zip(self._watches, steps.trainers, sides)]
        variants = () if len(parts) == 1 else tuple(
            Snapshot(**run, **part) if not stopped else
            Snapshot(**{**run, "status": Status.DIVERGED, "message": stopped, "steps_per_second": 0.0}, **part)
            for part, stopped in zip(parts, steps.stopped))
        self._show(Snapshot(**run, **parts[0], variants=variants))

    def _show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot       # one reference swap: readers see the old or the new, whole
        if self._on_publish is not None:
            self._on_publish(snapshot)


def _phase_text(trainer: Trainer, side: str) -> str:
    """What a slow-motion frame shows, "iteration 13: after D's update" ("" for other snapshots).
    The iteration's row is recorded with its last phase, so before that it is the next step."""
    if not side:
        return ""
    c = trainer.config
    iteration = trainer.step_count + (side != PHASE_ORDER[c.order][-1])
    update = "G's update" if side == "g" else "D's update" if c.d_steps == 1 else f"D's {c.d_steps} updates"
    return f"iteration {iteration:,}: after {update}"


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
