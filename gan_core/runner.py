"""Runner: one run (a Trainer, or a comparison's Trainers in lockstep) on a background thread.

A front end sends it commands, which the thread carries out between steps, and reads
``runner.snapshot``, an immutable picture of the run replaced whole after each chunk of steps.
The thread makes no UI calls; ``run_process.RunProcess`` runs this same Runner in a child process.
"""
from __future__ import annotations

import itertools
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
from .compare import Lockstep, random_state
from .config import TrainConfig
from .errors import DivergenceError, GanCoreError
from .threads import training_threads
from .trainer import PHASE_ORDER, STEP_KINDS, History, Trainer, live_replace
from .turns import Place, RunSlots
from .visuals import LiveViews, ToyView

log = logging.getLogger(__name__)

SLOTS = RunSlots(int(os.environ.get("GAN_PLAYGROUND_MAX_RUNS", "4")),
                 float(os.environ.get("GAN_PLAYGROUND_TURN_SECONDS", "20")))

MEASURE_WAIT = 10.0       # seconds a stopping run waits for a quality measurement to end
IDLE_WAIT = 0.5           # seconds a waiting run's thread sleeps on its commands at a time
SLOW_MOTION = "slow motion"   # the speed that shows D's and G's updates as frames of their own
FRAME_SECONDS = 0.7       # a slow-motion frame's hold: a page refreshing twice a second shows each
# Commands that touch neither model nor run; every other one first finishes a slow-motion iteration.
_MID_ITERATION = frozenset({"speed", "place", "wake", "stop"})
_SINGLE_STEPS = {"step": Lockstep.step, "d": Lockstep.step_d, "g": Lockstep.step_g}


class Status(str, Enum):
    """Where a run is; a plain string too, so it compares and prints as its value."""

    LOADING = "loading"
    PAUSED = "paused"
    RUNNING = "running"
    QUEUED = "queued"
    DIVERGED = "diverged"
    FAILED = "failed"
    STOPPED = "stopped"
    __str__ = str.__str__     # prints as its value, as the plain string it is

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
    """numpy views of a History's columns, copied into buffers that only grow: an update pays for
    its new rows only, and a view handed out never changes.  A rollback or another History starts afresh."""

    def __init__(self) -> None:
        self._source: tuple[History | None, int] = (None, 0)
        self._buffers: dict[str, np.ndarray] = {}
        self._filled = 0

    def update(self, history: History) -> dict[str, np.ndarray]:
        same = self._source == (history, history.revision) and len(history) >= self._filled
        self._source = (history, history.revision)
        start = self._filled if same else 0
        return self.extend(start, {c: np.asarray(getattr(history, c)[start:]) for c in History.COLUMNS})

    def extend(self, start: int, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The columns with ``rows`` put after the first ``start`` rows (0: afresh)."""
        if start == 0:
            self._buffers = {}
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


# A comparison's snapshot's own fields; its others are its first variant's.
RUN_FIELDS = ("version", "status", "message", "steps_per_second", "elapsed", "queue_position", "eta_seconds")
EMPTY = Snapshot(0, Status.LOADING, "Preparing data and models ...", None, "", 0, 0.0, 0.0,
                 {c: np.array([]) for c in History.COLUMNS})


class Commands:
    """What a front end does with a run, wherever it trains: each call sends one command, which
    ``Runner._apply`` carries out.  A subclass says how commands travel (``send``)."""

    def __init__(self, config: TrainConfig | Sequence[TrainConfig]):
        self.configs = [c.validate() for c in ([config] if isinstance(config, TrainConfig) else config)]
        self.snapshot: Snapshot = EMPTY
        self._questions: dict[int, Future] = {}
        self._ids = itertools.count()

    @property
    def config(self) -> TrainConfig:
        """The run's config, or a comparison's first variant's, with every live change sent."""
        return self.configs[0]

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
        self.configs = [live_replace(c, changes) for c in self.configs]   # validates now, in the caller's thread
        self.send(("set", changes))

    def set_speed(self, steps_per_refresh: int | str | None) -> None:
        """Steps between refreshes of the views: a number, None (by time) or SLOW_MOTION (each phase)."""
        self.send(("speed", steps_per_refresh))

    def checkpoint_bytes(self, timeout: float = 60.0) -> bytes:
        return self.ask("bytes").result(timeout)

    def history_csv(self, timeout: float = 30.0) -> str:
        return self.ask("csv").result(timeout)

    def ask(self, what: str) -> Future:
        """A question, 'bytes' (a checkpoint) or 'csv', answered between steps (refused if the run has ended)."""
        ident = next(self._ids)
        future = self._questions[ident] = Future()
        self.send(("ask", ident, what))
        if not self.alive:
            self._refuse_questions()
        return future

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

    def stop(self, timeout: float = 10.0) -> None:
        """Stop training and free the model."""
        raise NotImplementedError

    @property
    def alive(self) -> bool:
        raise NotImplementedError

    def _refuse_questions(self) -> None:
        for ident in list(self._questions):
            if future := self._questions.pop(ident, None):   # popped: now this caller's alone to settle
                future.set_exception(RuntimeError("the run has stopped"))


class _Watch:
    """What one variant's snapshots are made from, kept between publishes."""

    def __init__(self, live_metrics: Callable[[Trainer], dict[str, Any]] | None, metrics_every: int,
                 variants: int) -> None:
        self.history, self.views = HistoryArrays(), LiveViews()
        self.quality = quality.LiveQuality(live_metrics, metrics_every, sharers=variants)

    def fields(self, trainer: Trainer, elapsed: float, wait: bool, side: str) -> dict[str, Any]:
        return dict(config=trainer.config, device=_device_name(trainer.device), step=trainer.step_count,
                    history=self.history.update(trainer.history), evals=tuple(trainer.history.evals),
                    metrics=self.quality.update(trainer, elapsed, wait=wait), data_note=trainer.data.note,
                    phase=_phase_text(trainer, side), **self.views.update(trainer))


class Runner(Commands):
    """A run of a config (or a Trainer), or a comparison's configs (or their Lockstep), on a thread of
    its own.  Every method is safe from any thread; ``on_publish`` gets each snapshot on that thread."""

    def __init__(self, config: TrainConfig | Sequence[TrainConfig] | None = None, *,
                 trainer: Trainer | Lockstep | None = None,
                 slots: RunSlots = SLOTS, refresh_seconds: float = 0.25, frame_seconds: float = FRAME_SECONDS,
                 live_metrics: Callable[[Trainer], dict[str, Any]] | None = quality.live_metrics,
                 metrics_every: int = quality.METRICS_EVERY, on_publish: Callable[[Snapshot], None] | None = None):
        if config is None and trainer is None:
            raise ValueError("give a config or a trainer")
        if isinstance(trainer, Trainer):
            trainer = Lockstep([trainer], [random_state(trainer.device)])
        super().__init__(trainer.configs if trainer is not None else config)
        self._lockstep, self._slots, self._holding_slot = trainer, slots, False
        self._commands: queue.Queue = queue.Queue()
        self._stopping = False
        self._refresh_seconds, self._steps_per_refresh = refresh_seconds, None
        self._frame_seconds, self._frame_until = frame_seconds, 0.0
        self._iteration: Iterator[list[str]] | None = None   # slow motion's iteration under way
        self._iteration_started: float | None = None          # ... and when it began
        self._sides: list[str] | None = None        # the phase the next snapshot shows, per variant
        self._status, self._message = Status.LOADING, ""
        self._changed = False          # something to publish at the end of this tick
        self._elapsed, self._rate = 0.0, 0.0
        self._watches = [_Watch(live_metrics, metrics_every, len(self.configs)) for _ in self.configs]
        self._on_publish = on_publish
        self._thread = threading.Thread(target=self._main, name="gan-runner", daemon=True)
        self._thread.start()

    def send(self, command: tuple) -> None:
        self._commands.put(command)

    def stop(self, timeout: float = 10.0) -> None:
        self.send(("stop",))
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
            while not self._stopping:
                if self._status.playing and time.monotonic() >= self._frame_until and self._take_slot():
                    self._run_chunk()
                # sleep on the commands while waiting for the user, or for the rest of a slow-motion frame
                wait = max(0.0, self._frame_until - time.monotonic()) if self._status.playing else IDLE_WAIT
                self._handle_commands(0.0 if self._changed else wait)
                measured = any(w.quality.finished for w in self._watches)
                if self._changed or (not self._status.playing and measured):
                    self._publish()    # once a tick: after the commands, so it shows what they did
        except Exception as exc:  # noqa: BLE001 - the thread must report, not die silently
            message = str(exc)
            if not isinstance(exc, GanCoreError):
                log.exception("training thread failed")
                message = f"Training stopped by an unexpected error: {type(exc).__name__}: {message}"
            self._status, self._message = Status.FAILED, message
            self._show(self.snapshot.restated(status=Status.FAILED, message=message))
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
            self._train(lambda: _SINGLE_STEPS[args[0]](self._lockstep))
        elif name == "set":
            self._guarded(lambda: self._lockstep.apply_changes(**args[0]))
            self._changed = True
        elif name == "speed" and args[0] != self._steps_per_refresh:
            # one pace's rate says nothing of another's, and its frame need not be held
            self._steps_per_refresh, self._rate, self._frame_until = args[0], 0.0, 0.0
            self._finish_iteration()   # leaving slow motion mid-iteration
            self._iteration_started = None
        elif name == "place":          # the slots' answer, when they are another process's
            self._placed(args[0])
        elif name == "yield" and self._holding_slot:   # turns.YIELD: to the back of the line
            self._drop_slot()
        elif name == "ask":
            self._answer(*args)
        elif name == "stop":
            self._stopping = True
        # "wake" (turns.WAKE) only ends a wait for commands

    def _answer(self, ident: int, what: str) -> None:
        if self._changed:
            self._publish()    # so an answer finds every earlier command's effect shown
        future = self._questions.pop(ident)
        try:
            future.set_result(self._lockstep.checkpoint(self._elapsed) if what == "bytes"
                              else self._lockstep.history_csv())
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
            future.set_exception(exc)

    # ------------------------------------------------------------------ training
    def _run_chunk(self) -> None:
        """Train until the views are due a refresh, or in slow motion the next phase, held as a frame."""
        if self._steps_per_refresh == SLOW_MOTION:
            if self._train(self._next_phase):
                self._frame_until = time.monotonic() + self._frame_seconds
                self._drop_slot()     # a frame's hold is no training: others may train meanwhile
            return
        first, started = self._lockstep.step_count, time.perf_counter()
        if self._train(self._steps_until_refresh):
            self._note_rate(self._lockstep.step_count - first, time.perf_counter() - started)

    def _steps_until_refresh(self) -> None:
        """Steps until ``steps_per_refresh`` (or ``refresh_seconds``) are done, or a command comes."""
        trainer, started = self._lockstep, time.perf_counter()
        first, target = trainer.step_count, self._steps_per_refresh
        while True:
            trainer.step()
            due = trainer.step_count - first >= target if target else \
                time.perf_counter() - started >= self._refresh_seconds
            if due or not self._commands.empty():
                return

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

    def _train(self, action: Callable[[], Any]) -> bool:
        """Run ``action`` on the lockstep and flush its metrics, guarded, as training time."""
        started = time.perf_counter()
        done = self._guarded(lambda: (action(), self._lockstep.flush()))
        self._elapsed += time.perf_counter() - started
        self._changed = True
        return done

    def _note_rate(self, steps: int, seconds: float) -> None:
        rate = steps / max(seconds, 1e-9)
        self._rate = rate if self._rate == 0 else 0.7 * self._rate + 0.3 * rate

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
        """Whether the run holds a slot; if not, ask (again) and wait a little for an answer or any command."""
        if not self._holding_slot:
            place = self._slots.acquire(self, self.send)
            if place is not None:
                self._placed(place)
            if not self._holding_slot:
                self._handle_commands(IDLE_WAIT)
        return self._holding_slot

    def _placed(self, place: Place) -> None:
        """Take the slot, or say the run waits and where in line (unless the last snapshot says so)."""
        if not self._status.playing:
            if place.granted:
                self._slots.release(self)     # an answer to an ask from before a pause
        elif place.granted:
            self._holding_slot, self._status, self._message = True, Status.RUNNING, ""
        else:
            self._status, self._message, shown = Status.QUEUED, place.message(), self.snapshot
            if (shown.status, shown.message, shown.queue_position) != (self._status, self._message, place.position):
                self._show(shown.restated(status=self._status, message=self._message,
                                          queue_position=place.position, eta_seconds=place.eta_seconds))

    def _drop_slot(self) -> None:
        """Free the slot held, or the place in line."""
        self._holding_slot = False
        self._slots.release(self)

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
        stopped = [dict(status=Status.DIVERGED, message=why, steps_per_second=0.0) if why else {}
                   for why in steps.stopped]
        variants = () if len(parts) == 1 else tuple(
            Snapshot(**{**run, **stop}, **part) for part, stop in zip(parts, stopped))
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
    return f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else device.type
