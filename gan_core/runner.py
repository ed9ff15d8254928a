"""Runner: one Trainer on one background thread, driven by commands, read through Snapshots.
(RunProcess in run_process.py puts a Runner in a child process, behind the same Controls.)

The page never touches the Trainer.  It sends commands (play, pause, step, change a knob, save),
which the runner's thread applies *between* steps, and it reads ``runner.snapshot``: an immutable
picture of the run that the thread replaces with a single reference swap after every chunk of
steps.  The thread makes no UI calls, so any front end (Streamlit, a notebook, a test) can drive it.

A process-wide ``RunSlots`` (turns.py) caps how many runs train at once; a run over the cap waits
in the "queued" state instead of slowing everyone down, and runs take turns while others wait.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from abc import ABC, abstractmethod
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .config import ConfigError, TrainConfig
from .errors import DivergenceError, GanCoreError
from . import metrics as quality
from .checkpoint import trainer_bytes
from .trainer import LIVE_FIELDS, METRICS, History, Trainer
from .turns import Place, RunSlots
from .visuals import POINTS_SHOWN, ToyView, toy_view

log = logging.getLogger(__name__)

GRID_SIZE = 36            # images in the live grid (from the trainer's fixed z)
TIMELINE_LENGTH = 12      # grids kept for the timeline
PATTERN_HISTORY = 400     # pattern outputs kept for the heatmap over time


SLOTS = RunSlots(int(os.environ.get("GAN_PLAYGROUND_MAX_RUNS", "4")),
                 float(os.environ.get("GAN_PLAYGROUND_TURN_SECONDS", "20")))


# Live quality measurements come at least this many steps apart, and take at most this share of
# the time: one takes 0.1-0.9 s of a CPU core.  They run on a thread of their own, on a copy of G,
# so training goes on meanwhile; the share still keeps them from crowding the core that a small
# machine's web server and browser use (or, on one core, training itself).
METRICS_EVERY = 500
METRICS_SHARE = 0.02
MEASURE_WAIT = 10.0       # seconds a stopping run waits for its measurement to end


def training_threads(slots: RunSlots) -> int:
    """CPU threads for one run's training thread (the one place this is decided): one core stays
    free for the web server, and the runs that may train at once share the others.  Oversubscribed
    OpenMP threads wait for each other at every op: on a busy 2-core machine 2 threads trained
    ~20x slower than 1 (bench/throughput.py)."""
    return max(1, ((os.cpu_count() or 1) - 1) // slots.limit)


class HistoryArrays:
    """numpy views of a History's columns for snapshots.  Rows are copied once into buffers that
    only grow, and each snapshot gets views of the rows filled so far: a publish costs the new rows
    only (converting whole lists cost ~80 ms at 100k steps, taken from training twice a second),
    and a view handed out never changes, because later rows land beyond its end.  A rollback
    (History.revision) or another History starts new buffers."""

    def __init__(self) -> None:
        self._source: tuple[History | None, int] = (None, 0)    # the history copied, its revision
        self._buffers: dict[str, np.ndarray] = {}
        self._filled = 0

    def update(self, history: History) -> dict[str, np.ndarray]:
        copied, revision = self._source
        fresh = copied is not history or revision != history.revision or len(history) < self._filled
        if fresh:
            self._source = (history, history.revision)
        start = 0 if fresh else self._filled
        return self.extend(start, {c: np.asarray(getattr(history, c)[start:]) for c in History.COLUMNS})

    def extend(self, start: int, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The columns with ``rows`` added after the first ``start`` rows (0: start afresh).
        Also how a reader in another process follows the rows it is sent."""
        if start == 0:
            self._buffers, self._filled = {}, 0
        if start != self._filled:
            raise ValueError(f"rows from {start} do not follow the {self._filled} held")
        total = start + len(rows["step"])
        if total == start:       # nothing new (its empty columns may not even have the right dtype)
            return {c: buffer[:total] for c, buffer in self._buffers.items()} if self._buffers else rows
        for column, new in rows.items():
            buffer = self._buffers.get(column)
            if buffer is None or len(buffer) < total or not np.can_cast(new.dtype, buffer.dtype):
                grown = np.empty(max(2 * total, 1024), new.dtype if buffer is None else np.result_type(buffer, new))
                if buffer is not None:
                    grown[:start] = buffer[:start]
                self._buffers[column] = buffer = grown
            buffer[start:total] = new
        self._filled = total
        return {c: buffer[:total] for c, buffer in self._buffers.items()}


@dataclass(frozen=True)
class Snapshot:
    """Everything a view shows about a run at one moment.  Never mutated after publishing."""

    version: int
    status: str                       # loading | paused | running | queued | diverged | failed | stopped
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

    def restated(self, **changes: Any) -> Snapshot:
        """This snapshot with a new status (and no rate, no place in line unless given), for a
        moment when nothing has trained since it was taken."""
        return replace(self, **{"version": self.version + 1, "steps_per_second": 0.0,
                                "queue_position": 0, "eta_seconds": 0.0, **changes})

    @property
    def playing(self) -> bool:
        return self.status in ("running", "queued")


EMPTY = Snapshot(0, "loading", "Preparing data and models ...", None, "", 0, 0.0, 0.0,
                 {c: np.array([]) for c in ("step", *METRICS, "time")})


class Controls(ABC):
    """What a front end does with a run, wherever it trains: send commands, ask for files, read
    snapshots.  Runner trains on a thread of this process, RunProcess (run_process.py) in a child
    process; both take the same commands and publish the same Snapshots."""

    config: TrainConfig
    snapshot: Snapshot

    def play(self) -> None:
        self._send(("play",))

    def pause(self) -> None:
        self._send(("pause",))

    def step(self, kind: str = "step") -> None:
        """One iteration ('step'), one D update ('d') or one G update ('g'); pauses first."""
        if kind not in ("step", "d", "g"):
            raise ValueError(f"unknown step kind {kind!r}")
        self._send(("step", kind))

    def set(self, **changes: Any) -> None:
        """Change live knobs.  Raises ConfigError at once for an invalid or structural change."""
        structural = sorted(set(changes) - LIVE_FIELDS)
        if structural:
            raise ConfigError(structural[0], "changing this rebuilds the model: start a new run")
        self.config = self.config.replace(**changes)   # validates now, in the caller's thread
        self._send(("set", changes))

    def save(self, path: str | Path, timeout: float = 60.0) -> Path:
        """Write a checkpoint from the training thread (between steps) and return its path."""
        return self.ask("save", path).result(timeout)

    def checkpoint_bytes(self, timeout: float = 60.0) -> bytes:
        """The checkpoint as bytes (for a download button)."""
        return self.ask("bytes").result(timeout)

    def history_csv(self, timeout: float = 30.0) -> str:
        return self.ask("csv").result(timeout)

    def wait_for(self, predicate: Callable[[Snapshot], bool], timeout: float = 30.0) -> Snapshot:
        """Poll the snapshot until ``predicate`` holds (for scripts and tests)."""
        deadline = time.monotonic() + timeout
        while not predicate(self.snapshot):
            if time.monotonic() > deadline:
                raise TimeoutError(f"run did not reach the expected state; last: {self.snapshot.status} "
                                   f"at step {self.snapshot.step}")
            time.sleep(0.01)
        return self.snapshot

    @abstractmethod
    def set_speed(self, steps_per_refresh: int | None) -> None:
        """Steps between two refreshes of the views; None lets the runner refresh by time."""

    @abstractmethod
    def ask(self, what: str, *args: Any) -> Future:
        """A question the training thread answers between steps: 'save' (a path), 'bytes' or 'csv'."""

    @abstractmethod
    def stop(self, timeout: float = 10.0) -> None:
        """Stop training and free the model (called when the browser session ends)."""

    @property
    @abstractmethod
    def alive(self) -> bool:
        """Whether the run can still train (False once stopped or failed for good)."""

    @abstractmethod
    def _send(self, command: tuple) -> None:
        """Hand one command to the training thread, in order."""


class Runner(Controls):
    """Drive one Trainer from a background thread.  All public methods are safe to call from any
    thread and return at once (``save`` waits for the thread to write the file).  ``on_publish``,
    if given, gets every snapshot as it is published, on the training thread."""

    def __init__(self, config: TrainConfig | None = None, *, trainer: Trainer | None = None,
                 slots: RunSlots = SLOTS, refresh_seconds: float = 0.25,
                 live_metrics: Callable[[Trainer], dict[str, Any]] | None = quality.live_metrics,
                 metrics_every: int = METRICS_EVERY, on_publish: Callable[[Snapshot], None] | None = None):
        if config is None and trainer is None:
            raise ValueError("give a config or a trainer")
        self.config = trainer.config if trainer is not None else config.validate()
        self._trainer = trainer
        self._slots, self._holding_slot = slots, False
        self._commands: queue.Queue = queue.Queue()
        self._playing = False
        self._stop = threading.Event()
        self.refresh_seconds = refresh_seconds
        self.steps_per_refresh: int | None = None     # None: publish by time (refresh_seconds)
        # Measured first at step 0, so the panel shows the untrained starting point at once.
        self._live_metrics, self._metrics_every = live_metrics, metrics_every
        self._metrics_step = -metrics_every
        self._metrics_due = 0.0                       # training time (s) before the next may start
        self._metrics: dict[str, Any] = {}
        self._measuring: Future | None = None          # (metrics, seconds) of the measurement under way
        self._history_arrays = HistoryArrays()
        self._timeline: list[tuple[int, np.ndarray]] = []
        self._pattern_history: list[tuple[int, np.ndarray]] = []
        self._elapsed, self._rate = 0.0, 0.0
        self._real: np.ndarray | None = None
        self._status, self._message = "loading", ""
        self._on_publish = on_publish
        self.snapshot: Snapshot = EMPTY
        self._thread = threading.Thread(target=self._main, name="gan-runner", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ Controls
    def set_speed(self, steps_per_refresh: int | None) -> None:
        self.steps_per_refresh = steps_per_refresh

    def ask(self, what: str, *args: Any) -> Future:
        future: Future = Future()
        self._commands.put(("ask", what, args, future))
        if not self._thread.is_alive():
            self._answer_pending()   # nobody will read the queue: refuse now, not after a timeout
        return future

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._commands.put(("wake",))
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _send(self, command: tuple) -> None:
        self._commands.put(command)

    # ------------------------------------------------------------------ the thread
    def _main(self) -> None:
        torch.set_num_threads(training_threads(self._slots))   # for this thread's ops
        try:
            if self._trainer is None:
                self._trainer = Trainer(self.config)
            self._status = "paused"
            self._publish()
            while not self._stop.is_set():
                self._handle_commands(block=not self._playing)   # at most 0.5 s while it waits
                if not self._playing and self._measured():
                    self._publish()            # show a measurement that ended while the run waits
                if self._playing and not self._stop.is_set() and self._take_slot():
                    self._run_chunk()
        except GanCoreError as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - the thread must report, not die silently
            log.exception("training thread failed")
            self._fail(f"Training stopped by an unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self._drop_slot()
            if self._status not in ("failed",):
                self._status = "stopped"
            self._trainer = None              # frees the model and the data
            if self._measuring is not None:   # a process that exits under a running torch op aborts
                futures.wait([self._measuring], MEASURE_WAIT)
            self._show(self.snapshot.restated(status=self._status))
            self._answer_pending()

    def _handle_commands(self, block: bool) -> None:
        try:
            command = self._commands.get(timeout=0.5) if block else self._commands.get_nowait()
        except queue.Empty:
            return
        while True:
            self._apply(command)
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return

    def _apply(self, command: tuple) -> None:
        name = command[0]
        if name == "play":
            self._playing, self._status, self._message = True, "running", ""
            self._publish()
        elif name == "pause":
            self._pause("paused")
        elif name == "yield" and self._holding_slot:   # turns.YIELD: to the back of the line
            self._drop_slot()
        elif name == "step":
            self._pause("paused")
            self._guarded(lambda: self._single_step(command[1]))
        elif name == "set":
            self._guarded(lambda: self._trainer.apply_changes(**command[1]))
            self._publish()
        elif name == "ask":
            _, what, args, future = command
            try:
                future.set_result(self._answer(what, *args))
            except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
                future.set_exception(exc)

    def _answer(self, what: str, *args: Any) -> Any:
        trainer = self._trainer
        if what == "save":
            return trainer.save(args[0])
        if what == "bytes":
            return trainer_bytes(trainer)
        trainer.flush()
        return trainer.history.to_csv()

    def _single_step(self, kind: str) -> None:
        started = time.perf_counter()
        {"step": self._trainer.step, "d": self._trainer.step_d, "g": self._trainer.step_g}[kind]()
        self._trainer.flush()
        self._elapsed += time.perf_counter() - started
        self._publish()

    def _run_chunk(self) -> None:
        trainer, started = self._trainer, time.perf_counter()
        first = trainer.step_count
        target = self.steps_per_refresh
        while True:
            if not self._guarded(trainer.step):
                return
            done = trainer.step_count - first
            if target and done >= target:
                break
            if not target and time.perf_counter() - started >= self.refresh_seconds:
                break
            if not self._commands.empty() or self._stop.is_set():
                break
        if not self._guarded(trainer.flush):
            return
        spent = time.perf_counter() - started
        self._elapsed += spent
        rate = (trainer.step_count - first) / max(spent, 1e-9)
        self._rate = rate if self._rate == 0 else 0.7 * self._rate + 0.3 * rate
        self._publish()

    def _guarded(self, action: Callable[[], Any]) -> bool:
        """Run one trainer action; a divergence or bad change pauses the run with its message."""
        try:
            action()
            return True
        except DivergenceError as exc:
            self._pause("diverged", str(exc))
        except GanCoreError as exc:
            self._pause("paused", str(exc))
        self._publish()
        return False

    def _pause(self, status: str, message: str = "") -> None:
        self._playing, self._status, self._message = False, status, message
        self._drop_slot()
        self._publish()

    def _take_slot(self) -> bool:
        if self._holding_slot:
            return True
        place = self._slots.acquire(self, self._send)
        if place.granted:
            self._holding_slot = True
            self._status, self._message = "running", ""
            return True
        self._show_place(place)
        self._handle_commands(block=True)   # wait a little (or to be woken) before asking again
        return False

    def _show_place(self, place: Place) -> None:
        """Say the run waits, and where in line, unless the last snapshot says so (its estimate's
        words are coarse, so they change every few seconds at most)."""
        self._status, self._message, shown = "queued", place.message(), self.snapshot
        if (shown.status, shown.message, shown.queue_position) != ("queued", self._message, place.position):
            self._show(shown.restated(status="queued", message=self._message,
                                      queue_position=place.position, eta_seconds=place.eta_seconds))

    def _drop_slot(self) -> None:
        """Leave the slots: free the slot held, or the place in line."""
        self._holding_slot = False
        self._slots.release(self)

    def _fail(self, message: str) -> None:
        self._playing, self._status, self._message = False, "failed", message
        self._drop_slot()
        self._show(self.snapshot.restated(status="failed", message=message))

    def _answer_pending(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if command[0] == "ask":
                command[3].set_exception(RuntimeError("the run has stopped"))

    # ------------------------------------------------------------------ snapshots
    def _publish(self) -> None:
        trainer = self._trainer
        if trainer is None:
            return
        c, h = trainer.config, trainer.history
        samples = trainer.sample(z=trainer.fixed_z[:GRID_SIZE]).numpy()
        self._remember(trainer.step_count, samples)
        self._take_metrics()
        if self._metrics_are_due():
            self._measure(trainer)
            if not self._playing:     # nothing trains meanwhile: wait, and show it in this snapshot
                self._measuring.result()
                self._take_metrics()
        toy = None
        if c.data_kind == "points":
            toy = toy_view(trainer, trainer.noise(POINTS_SHOWN // c.pack * c.pack,
                                                  torch.Generator(trainer.device).manual_seed(c.seed + 4)))
        self._show(Snapshot(
            version=self.snapshot.version + 1, status=self._status, message=self._message,
            config=c, device=_device_name(trainer.device), step=trainer.step_count,
            steps_per_second=self._rate if self._status == "running" else 0.0,
            elapsed=self._elapsed,
            history=self._history_arrays.update(h),
            evals=tuple(h.evals), samples=samples, real=self._real_batch(),
            timeline=tuple(self._timeline), toy=toy, pattern_history=tuple(self._pattern_history),
            metrics=self._metrics, data_note=trainer.data.note,
        ))

    def _show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot       # one reference swap: readers see the old or the new, whole
        if self._on_publish is not None:
            self._on_publish(snapshot)

    def _metrics_are_due(self) -> bool:
        return (self._live_metrics is not None and self._measuring is None and self._elapsed >= self._metrics_due
                and self._trainer.step_count - self._metrics_step >= self._metrics_every)

    def _measure(self, trainer: Trainer) -> None:
        """Measure G's quality as it is now, on a thread of its own: on the training thread,
        dcgan-small stopped for 0.7 s each time.  The copy of G takes that thread 1.5 ms."""
        self._metrics_step, frozen, measure = trainer.step_count, trainer.frozen(), self._live_metrics
        done: Future = Future()

        def run() -> None:   # a new thread takes the thread count this one set (training_threads)
            started = time.perf_counter()
            try:
                metrics = measure(frozen)
            except Exception as exc:  # noqa: BLE001 - a failed measurement must not stop the run
                log.exception("quality measurement failed")
                metrics = {"quality metrics": {"value": "n/a", "help": f"Measuring failed: {exc}"}}
            done.set_result((metrics, time.perf_counter() - started))

        self._measuring = done
        threading.Thread(target=run, name="gan-metrics", daemon=True).start()

    def _measured(self) -> bool:
        return self._measuring is not None and self._measuring.done()

    def _take_metrics(self) -> None:
        """Keep a finished measurement; the next may start once its time share allows."""
        if self._measured():
            self._metrics, seconds = self._measuring.result()
            self._measuring = None
            self._metrics_due = self._elapsed + seconds / METRICS_SHARE

    def _real_batch(self) -> np.ndarray:
        if self._real is None:
            self._real = self._trainer.data.held_out[:GRID_SIZE].float().cpu().numpy()
        return self._real

    def _remember(self, step: int, samples: np.ndarray) -> None:
        """Keep a thinned timeline: when full, drop every other entry (log-like spacing)."""
        if self._trainer.config.data_kind == "pattern":
            if not self._pattern_history or self._pattern_history[-1][0] != step:
                self._pattern_history.append((step, samples[0]))
                if len(self._pattern_history) > PATTERN_HISTORY:
                    self._pattern_history = self._pattern_history[::2]
        if not self._timeline or step - self._timeline[-1][0] >= max(1, step // TIMELINE_LENGTH):
            self._timeline.append((step, samples))
            if len(self._timeline) > TIMELINE_LENGTH:
                self._timeline = self._timeline[::2]   # odd length: keeps first and last


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
