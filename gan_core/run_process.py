"""RunProcess: a Runner in a process of its own, driven and read exactly like a Runner.

Why a process: the run's thread then shares no interpreter lock with the web server's page
refreshes, a server can end a run's memory by ending its process, and a run that crashes takes
only itself down.  The child starts a session of its own (``os.setsid``), so where Linux groups
processes by session for scheduling, the run takes turns with the server and the browser as one
group rather than thread by thread.

How: the child runs an ordinary Runner.  Every command goes down a pipe into the Runner's queue
unchanged; every snapshot it publishes comes back up, but for what the parent has already: the
history, which only grows, comes as its new rows (the one part whose size has no bound), and the
real batch and each timeline grid come once (for a comparison: for each variant), so the page's
pictures of them, cached by identity, are encoded once.  The cap on
training runs stays in the parent: the child's requests for a slot go up the pipe, and the
answers (and the slots' "yield" and "wake") come down it as commands, so a child that dies never
keeps a slot.
"""
from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import signal
import threading
from concurrent.futures import Future
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from .compare import Lockstep
from .config import TrainConfig
from .errors import GanCoreError
from .runner import EMPTY, SLOTS, Commands, HistoryArrays, Runner, Snapshot, Status
from .turns import RunSlots, Tell

CONTEXT = multiprocessing.get_context("forkserver")
# What the forkserver imports once, so that a new run does not import torch again (and
# torch.optim's first optimiser does not import torch._dynamo again).
PRELOAD = ("gan_core.run_process", "torch._dynamo")
CONTEXT.set_forkserver_preload(list(PRELOAD))
SENT = Ellipsis     # in a snapshot from the child: "as in the last one" (no field holds it)


def start_forkserver(also_preload: tuple[str, ...] = ()) -> None:
    """Start the forkserver now, in the background, so the first run need not wait for its
    imports.  ``also_preload``: modules every child imports anyway (multiprocessing runs the
    server's main script again in each one)."""
    CONTEXT.set_forkserver_preload([*PRELOAD, *also_preload])
    threading.Thread(target=multiprocessing.forkserver.ensure_running, name="forkserver-start",
                     daemon=True).start()


class RunProcess(Commands):
    """A run (one config, or a comparison's configs) trained by a child process.  ``stop`` ends
    the child; a child that ends by itself shows as a failed run."""

    def __init__(self, config: TrainConfig | Sequence[TrainConfig], *, checkpoint: bytes | None = None,
                 slots: RunSlots = SLOTS, refresh_seconds: float = 0.25):
        self.configs = [c.validate() for c in ([config] if isinstance(config, TrainConfig) else config)]
        self.config = self.configs[0]
        self.snapshot: Snapshot = EMPTY
        self._slots = slots
        self._questions: dict[int, Future] = {}
        self._ids = itertools.count()
        self._joiners: dict[Any, _Joiner] = {}
        self._gone = False                       # the child has closed its end of the pipe
        self._conn, theirs = CONTEXT.Pipe()
        self._send_lock = threading.Lock()
        self._process = CONTEXT.Process(target=_child, name="gan-run", daemon=True,
                                        args=(theirs, self.configs, checkpoint, refresh_seconds, slots.limit))
        self._process.start()
        theirs.close()
        self._receiver = threading.Thread(target=self._receive, name="gan-run-receiver", daemon=True)
        self._receiver.start()

    def send(self, command: tuple) -> None:
        """Down the pipe, from any thread; a child that is gone is reported by the receiver."""
        with self._send_lock:
            try:
                self._conn.send(command)
            except OSError:
                pass

    def ask(self, what: str) -> Future:
        future: Future = Future()
        ident = next(self._ids)
        self._questions[ident] = future
        self.send(("ask", ident, what))
        if self._gone:
            self._refuse_questions()   # the child is gone: refuse now, not after a timeout
        return future

    def stop(self, timeout: float = 10.0) -> None:
        self.send(("stop",))
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        if threading.current_thread() is not self._receiver:
            self._receiver.join(timeout)

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    @property
    def pid(self) -> int:
        return self._process.pid

    def _receive(self) -> None:
        """What the child sends: snapshots, its slot requests, and answers to questions."""
        try:
            while True:
                name, *args = self._conn.recv()
                if name == "snapshot":
                    self.snapshot = self._completed(*args)
                elif name == "acquire":
                    self.send(("place", self._slots.acquire(self, self.send)))
                elif name == "release":
                    self._slots.release(self)
                else:
                    ident, error, value = args
                    future = self._questions.pop(ident)
                    future.set_result(value) if error is None else future.set_exception(error)
        except (EOFError, OSError):
            pass
        self._ended()

    def _completed(self, run: _Stripped, variants: tuple[_Stripped, ...]) -> Snapshot:
        """The snapshot with what the child did not send again taken from the last one."""
        last = self.snapshot
        whole = self._joiners.setdefault("run", _Joiner()).join(run, last)
        return replace(whole, variants=tuple(
            self._joiners.setdefault(i, _Joiner()).join(variant, last.variants[i] if i < len(last.variants) else EMPTY)
            for i, variant in enumerate(variants)))

    def _ended(self) -> None:
        """The child has gone: free its slot, refuse its questions, and say so if it died."""
        self._gone = True
        self._process.join(10.0)
        self._slots.release(self)
        self._refuse_questions()
        if not self.snapshot.status.ended:
            self.snapshot = self.snapshot.restated(
                status=Status.FAILED,
                message=f"The training process ended unexpectedly (exit code {self._process.exitcode}), "
                        "perhaps out of memory.")

    def _refuse_questions(self) -> None:
        for ident in list(self._questions):
            future = self._questions.pop(ident, None)
            if future is not None and not future.done():
                future.set_exception(RuntimeError("the run has stopped"))


class _ParentSlots:
    """The child Runner's slots: requests go up the pipe, answers come back as "place" commands."""

    def __init__(self, send: Tell, limit: int):
        self._send, self.limit = send, limit

    def acquire(self, ticket: Hashable, tell: Tell) -> None:
        self._send(("acquire",))

    def release(self, ticket: Hashable) -> None:
        self._send(("release",))


def _child(conn: Connection, configs: list[TrainConfig], checkpoint: bytes | None, refresh_seconds: float,
           slots_limit: int) -> None:
    """Train with a Runner and pass it the pipe's commands until told to stop or the parent goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C stops the server, and that stops us
    os.setsid()
    lock = threading.Lock()

    def send(message: tuple) -> None:
        with lock:
            try:
                conn.send(message)
            except OSError:
                pass          # the parent has gone: the loop below sees the pipe close

    try:
        # The parent checked the file and decided the configs (the server's paths, its device).
        lockstep = Lockstep.load(checkpoint, configs) if checkpoint is not None else None
    except GanCoreError as exc:
        _publisher(send)(replace(EMPTY, status=Status.FAILED, message=str(exc), config=configs[0], version=1))
        return
    runner = Runner(configs, trainer=lockstep, slots=_ParentSlots(send, slots_limit),
                    refresh_seconds=refresh_seconds, on_publish=_publisher(send))
    while True:
        try:
            command = conn.recv()
        except (EOFError, OSError):
            break
        if command[0] == "stop":
            break
        if command[0] == "ask":
            _, ident, what = command
            runner.ask(what).add_done_callback(lambda f, ident=ident: send(("answer", ident, *_outcome(f))))
        else:
            runner.send(command)
    runner.stop()


_Stripped = tuple[Snapshot, int, dict[str, np.ndarray]]   # a snapshot as sent, its first new row, the rows


class _Stripper:
    """Takes out of one run's (or variant's) snapshots what the parent has: history rows it holds
    (the Runner's columns are views of buffers that only grow, so while they stay on the buffer
    last sent, the rows beyond the last sent are all that is new), the real batch sent before,
    and the timeline grids of steps sent before (a step's grid never changes)."""

    def __init__(self) -> None:
        self._buffer: Any = None
        self._rows, self._real, self._steps = 0, None, set()

    def strip(self, snapshot: Snapshot) -> _Stripped:
        steps: np.ndarray = snapshot.history["step"]
        start = self._rows if steps.base is not None and steps.base is self._buffer else 0
        real = SENT if snapshot.real is not None and snapshot.real is self._real else snapshot.real
        timeline = tuple((step, SENT if step in self._steps else grid) for step, grid in snapshot.timeline)
        # kept alive, so an id compared above is never a new object's
        self._buffer, self._rows, self._real = steps.base, len(steps), snapshot.real
        self._steps = {s for s, _ in timeline}
        return (replace(snapshot, history={}, real=real, timeline=timeline, variants=()), start,
                {column: values[start:] for column, values in snapshot.history.items()})


class _Joiner:
    """The parent's side of a _Stripper: puts back what was not sent again."""

    def __init__(self) -> None:
        self._history = HistoryArrays()

    def join(self, stripped: _Stripped, last: Snapshot) -> Snapshot:
        snapshot, start, rows = stripped
        earlier = dict(last.timeline)
        return replace(snapshot, history=self._history.extend(start, rows),
                       real=last.real if snapshot.real is SENT else snapshot.real,
                       timeline=tuple((step, earlier[step] if grid is SENT else grid)
                                      for step, grid in snapshot.timeline))


def _publisher(send: Tell) -> Callable[[Snapshot], None]:
    """Send each snapshot, and each of a comparison's variants, without what the parent has."""
    strippers: dict[Any, _Stripper] = {}

    def publish(snapshot: Snapshot) -> None:
        run = strippers.setdefault("run", _Stripper()).strip(snapshot)
        variants = tuple(strippers.setdefault(i, _Stripper()).strip(v) for i, v in enumerate(snapshot.variants))
        send(("snapshot", run, variants))
    return publish


def _outcome(future: Future) -> tuple[BaseException | None, Any]:
    """(None, result), or (error, None) with the error as the parent can unpickle it."""
    error = future.exception()
    if error is None:
        return None, future.result()
    try:
        pickle.loads(pickle.dumps(error))
        return error, None
    except Exception:  # noqa: BLE001 - any failure means "not portable"
        return RuntimeError(str(error)), None
