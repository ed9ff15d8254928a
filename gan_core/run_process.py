"""RunProcess: a Runner in a process of its own, driven and read exactly like a Runner.

Why a process: in the web server's process the training thread shares the GIL with every page
refresh (a refresh holds it for ~20 ms, twice a second per open tab).  Here the child trains with
an interpreter of its own, and the server only unpickles what changed.  The child also starts a
session of its own (``os.setsid``): where Linux groups processes by session for scheduling
(autogroup, the default of most desktop distributions), a burst of the browser's or the server's
threads then takes turns with the run as one group, not as one thread each.  Together they
raised the training thread's share of a core, with its page open in a browser on the same 2-core
machine, from 0.82-0.83 to 0.87-0.92 (README, "The cost of watching").

How: the child runs an ordinary Runner.  Commands go down a pipe; every snapshot the Runner
publishes comes back up as what changed since the last one (new history rows, new grids), and
the parent rebuilds a full Snapshot from it.  The server-wide cap on training runs stays in the
parent: the child asks it for a slot over the same pipe, so a child that dies can never keep one,
and the parent's slots tell the child to yield its turn, or to ask again, down the pipe.

Children are forked from a forkserver that has imported torch once, so a new run starts in a
fraction of a second instead of paying torch's import each time.
"""
from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import queue
import signal
import threading
from concurrent.futures import Future
from dataclasses import fields, replace
from multiprocessing.connection import Connection
from typing import Any, Hashable

import numpy as np

from .checkpoint import load_trainer
from .config import TrainConfig
from .errors import GanCoreError
from .runner import EMPTY, SLOTS, Controls, HistoryArrays, Runner, RunSlots, Snapshot
from .turns import WAKE, YIELD, Place, Tell

CONTEXT = multiprocessing.get_context("forkserver")
# What the forkserver imports once, rather than every run: torch.optim imports torch._dynamo when
# the first optimiser is made (1.4 s here).
PRELOAD = ("gan_core.run_process", "torch._dynamo")
CONTEXT.set_forkserver_preload(list(PRELOAD))


def start_forkserver(also_preload: tuple[str, ...] = ()) -> None:
    """Start the forkserver now, in the background: it imports torch once (seconds on a small
    machine), and the first run would otherwise wait for that in its page's script.
    ``also_preload``: modules a child would import anyway (say, what the server's main script
    imports: multiprocessing runs that script again in every child)."""
    CONTEXT.set_forkserver_preload([*PRELOAD, *also_preload])
    threading.Thread(target=multiprocessing.forkserver.ensure_running, name="forkserver-start",
                     daemon=True).start()


UNCHANGED = Ellipsis       # in a packed snapshot: "as in the last one sent" (no field holds it)
ENTRY_FIELDS = ("timeline", "pattern_history")   # tuples of (step, array): each array goes once
SNAPSHOT_FIELDS = tuple(f.name for f in fields(Snapshot))


class RunProcess(Controls):
    """A run trained by a child process.  Same commands, reads and guarantees as Runner; ``stop``
    ends the child, and a child that ends by itself shows as a failed run."""

    def __init__(self, config: TrainConfig, *, checkpoint: bytes | None = None, slots: RunSlots = SLOTS,
                 refresh_seconds: float = 0.25):
        self.config = config.validate()
        self.steps_per_refresh: int | None = None
        self.snapshot: Snapshot = EMPTY
        self._slots = slots
        self._questions: dict[int, Future] = {}
        self._ids = itertools.count()
        self._closed = False                     # the child has closed its end of the pipe
        self._conn, theirs = CONTEXT.Pipe()
        self._link = _Link(self._conn)
        self._process = CONTEXT.Process(target=_child, name="gan-run", daemon=True,
                                        args=(theirs, self.config, checkpoint, refresh_seconds, slots.limit))
        self._process.start()
        theirs.close()
        self._receiver = threading.Thread(target=self._receive, name="gan-run-receiver", daemon=True)
        self._receiver.start()

    # ------------------------------------------------------------------ Controls
    def set_speed(self, steps_per_refresh: int | None) -> None:
        if steps_per_refresh != self.steps_per_refresh:
            self.steps_per_refresh = steps_per_refresh
            self._send(("speed", steps_per_refresh))

    def ask(self, what: str, *args: Any) -> Future:
        future: Future = Future()
        ident = next(self._ids)
        self._questions[ident] = future
        self._send(("ask", ident, what, args))
        if self._closed:
            self._answer_pending()   # the child is gone: refuse now, not after a timeout
        return future

    def stop(self, timeout: float = 10.0) -> None:
        self._send(("stop",))
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
        """The child's process id (to watch or signal it)."""
        return self._process.pid

    def _send(self, command: tuple) -> None:
        self._link.send(command)   # a child that is gone is reported by the receiver

    # ------------------------------------------------------------------ what the child sends
    def _receive(self) -> None:
        unpacker = SnapshotUnpacker()
        try:
            while True:
                message = self._conn.recv()
                kind = message[0]
                if kind == "snapshot":
                    self.snapshot = unpacker.unpack(message[1])
                elif kind == "slot":
                    self._slot(message[1])
                else:
                    _, ident, ok, value = message
                    future = self._questions.pop(ident)
                    future.set_result(value) if ok else future.set_exception(value)
        except (EOFError, OSError):
            pass
        self._ended()

    def _slot(self, request: str) -> None:
        """The child's Runner asks for a slot or leaves the slots; this run is its ticket, and
        what the slots tell it goes down the pipe."""
        if request == "acquire":
            self._send(("slot", self._slots.acquire(self, self._send)))
        else:
            self._slots.release(self)

    def _ended(self) -> None:
        """The child has closed its end: free its slot, refuse its questions, and say so if it
        died rather than stopped."""
        self._closed = True
        self._process.join(10.0)
        self._slots.release(self)
        self._answer_pending()
        if self.snapshot.status not in ("stopped", "failed"):
            self.snapshot = self.snapshot.restated(
                status="failed",
                message=f"The training process ended unexpectedly (exit code {self._process.exitcode}), "
                        "perhaps out of memory.")

    def _answer_pending(self) -> None:
        for ident in list(self._questions):
            future = self._questions.pop(ident, None)
            if future is not None and not future.done():
                future.set_exception(RuntimeError("the run has stopped"))


# ---------------------------------------------------------------------------------- snapshots
class SnapshotPacker:
    """The child's half: a Snapshot as what changed since the last one sent.  The Runner builds a
    new object only for what changed, so identity says what to send.  History columns are views
    of buffers that only grow (HistoryArrays): while they stay on the same buffer, only the rows
    beyond the last sent go."""

    def __init__(self) -> None:
        self._sent: dict[str, Any] = {}

    def pack(self, snapshot: Snapshot) -> dict[str, Any]:
        packed = {}
        for name in SNAPSHOT_FIELDS:
            value = getattr(snapshot, name)
            if name == "history":
                packed[name] = self._rows(value)
            elif name in ENTRY_FIELDS:
                known = {(step, id(array)) for step, array in self._sent.get(name, ())}
                packed[name] = tuple((step, UNCHANGED if (step, id(array)) in known else array)
                                     for step, array in value)
            else:
                packed[name] = UNCHANGED if name in self._sent and self._sent[name] is value else value
            self._sent[name] = value   # kept alive, so an id above is never a new object's
        return packed

    def _rows(self, columns: dict[str, np.ndarray]) -> tuple[int, dict[str, np.ndarray]]:
        sent = self._sent.get("history")
        extended = sent is not None and all(
            column.base is not None and column.base is sent[name].base and len(column) >= len(sent[name])
            for name, column in columns.items())
        start = len(sent["step"]) if extended else 0
        return start, {name: column[start:] for name, column in columns.items()}


class SnapshotUnpacker:
    """The parent's half: full Snapshots again, from the packed changes, in the order sent."""

    def __init__(self) -> None:
        self._last: dict[str, Any] = {}
        self._arrays = HistoryArrays()

    def unpack(self, packed: dict[str, Any]) -> Snapshot:
        values = {}
        for name, value in packed.items():
            if name == "history":
                value = self._arrays.extend(*value)
            elif name in ENTRY_FIELDS:
                earlier = dict(self._last.get(name, ()))
                value = tuple((step, earlier[step] if array is UNCHANGED else array) for step, array in value)
            elif value is UNCHANGED:
                value = self._last[name]
            values[name] = value
        self._last = values
        return Snapshot(**values)


# ---------------------------------------------------------------------------------- the pipe
class _Link:
    """One end of the pipe, which several threads send on.  A send to a process that is gone is
    dropped: the reader on this end sees the pipe close and acts on it."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, message: tuple) -> None:
        with self._lock:
            try:
                self.conn.send(message)
            except OSError:
                pass


# ---------------------------------------------------------------------------------- the child
class _SlotsFromParent:
    """The child Runner's RunSlots, answered by the parent's: the cap counts every process's runs.
    (The parent's RunProcess is the ticket there: the child has one Runner.)"""

    def __init__(self, link: _Link, limit: int):
        self.limit = limit
        self._link = link
        self._answers: queue.Queue = queue.Queue()
        self._tell: Tell = lambda command: None

    def acquire(self, ticket: Hashable, tell: Tell) -> Place:
        self._tell = tell
        self._link.send(("slot", "acquire"))
        return self._answers.get()

    def release(self, ticket: Hashable) -> None:
        self._link.send(("slot", "release"))

    def answer(self, place: Place) -> None:
        self._answers.put(place)

    def tell(self, command: tuple) -> None:
        """What the parent's slots told this run (YIELD or WAKE), handed to the Runner that asked."""
        self._tell(command)


ACTIONS = {
    "play": lambda runner: runner.play(),
    "pause": lambda runner: runner.pause(),
    "step": lambda runner, kind: runner.step(kind),
    "set": lambda runner, changes: runner.set(**changes),
    "speed": lambda runner, steps: runner.set_speed(steps),
}


def _child(conn: Connection, config: TrainConfig, checkpoint: bytes | None, refresh_seconds: float,
           slots_limit: int) -> None:
    """The child process: train with a Runner, obey the pipe until told to stop or the parent
    goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C stops the server, and that stops us
    os.setsid()   # a scheduling group of its own (the module's docstring says why)
    link, packer = _Link(conn), SnapshotPacker()
    publish = lambda snapshot: link.send(("snapshot", packer.pack(snapshot)))  # noqa: E731
    try:
        # The parent checked the file and decided the config (the server's paths, its device).
        trainer = load_trainer(checkpoint, overrides=config.to_dict()) if checkpoint is not None else None
    except GanCoreError as exc:
        publish(replace(EMPTY, status="failed", message=str(exc), config=config, version=1))
        return
    slots = _SlotsFromParent(link, slots_limit)
    runner = Runner(config, trainer=trainer, slots=slots, refresh_seconds=refresh_seconds, on_publish=publish)
    while True:
        try:
            command = conn.recv()
        except (EOFError, OSError):
            break
        name, *args = command
        if name == "stop":
            break
        if name == "slot":
            slots.answer(*args)
        elif command in (YIELD, WAKE):
            slots.tell(command)
        elif name == "ask":
            ident, what, question = args
            runner.ask(what, *question).add_done_callback(lambda f, ident=ident: _reply(link, ident, f))
        else:
            ACTIONS[name](runner, *args)
    slots.answer(Place(1, 0.0, slots_limit, 0.0))   # a thread waiting for a slot must not wait for ever
    runner.stop()


def _reply(link: _Link, ident: int, future: Future) -> None:
    error = future.exception()
    link.send(("answer", ident, True, future.result()) if error is None
              else ("answer", ident, False, _portable(error)))


def _portable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling (an OSError, a CheckpointError), else a RuntimeError
    with its sentence: the parent raises what it gets."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - any failure means "not portable"
        return RuntimeError(str(error))
