"""RunProcess: a Runner in a child process, driven and read exactly like a Runner.

The run then shares no interpreter lock with the web server's page refreshes, its memory ends with
its process, and a crash takes only itself down.  The cap on training runs stays in the parent, so
a child that dies never keeps a slot.
"""
from __future__ import annotations

import os
import pickle
import signal
import threading
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any, Callable, Hashable, Sequence

from .compare import Lockstep
from .config import TrainConfig
from .errors import GanCoreError
from .forkserver import CONTEXT
from .runner import EMPTY, RUN_FIELDS, SLOTS, Commands, HistoryArrays, Runner, Snapshot, Status
from .turns import RunSlots, Tell

SENT = Ellipsis     # in a snapshot from the child: "as in the last one" (no field holds it)
_Part = tuple[Snapshot, int]   # a snapshot (or variant) as sent: its history is the rows from this index on


class RunProcess(Commands):
    """A run (one config, or a comparison's configs) trained by a child process.  ``stop`` ends
    the child; a child that ends by itself shows as a failed run."""

    def __init__(self, config: TrainConfig | Sequence[TrainConfig], *, checkpoint: bytes | None = None,
                 slots: RunSlots = SLOTS, refresh_seconds: float = 0.25):
        super().__init__(config)
        self._slots = slots
        self._histories: defaultdict[int, HistoryArrays] = defaultdict(HistoryArrays)
        self._conn, theirs = CONTEXT.Pipe()
        self._send = _sender(self._conn)
        self._process = CONTEXT.Process(target=_child, name="gan-run", daemon=True,
                                        args=(theirs, self.configs, checkpoint, refresh_seconds, slots.limit))
        self._process.start()
        theirs.close()
        self._receiver = threading.Thread(target=self._receive, name="gan-run-receiver", daemon=True)
        self._receiver.start()

    def send(self, command: tuple) -> None:
        self._send(command)

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
                    self.snapshot = self._joined(*args)
                elif name == "acquire":
                    self.send(("place", self._slots.acquire(self, self.send)))
                elif name == "release":
                    self._slots.release(self)
                else:
                    ident, error, value = args
                    if future := self._questions.pop(ident, None):   # None: refused already
                        future.set_result(value) if error is None else future.set_exception(error)
        except (EOFError, OSError):
            pass
        self._ended()

    def _joined(self, run: dict[str, Any] | None, parts: list[_Part]) -> Snapshot:
        """The child's snapshot, with what it did not send again taken from the last one: a run's
        (``run`` None), or a comparison's variants and its own ``run`` fields."""
        last = self.snapshot.variants or (self.snapshot,)
        whole = [self._join(i, part, last[i] if i < len(last) else EMPTY) for i, part in enumerate(parts)]
        return whole[0] if run is None else replace(whole[0], **run, variants=tuple(whole))

    def _join(self, i: int, part: _Part, last: Snapshot) -> Snapshot:
        snapshot, start = part
        earlier = dict(last.timeline)
        return replace(snapshot, history=self._histories[i].extend(start, snapshot.history),
                       real=last.real if snapshot.real is SENT else snapshot.real,
                       timeline=tuple((step, earlier[step] if grid is SENT else grid)
                                      for step, grid in snapshot.timeline))

    def _ended(self) -> None:
        """The child has gone: free its slot, refuse its questions, and say so if it died."""
        self._process.join(10.0)
        self._slots.release(self)
        self._refuse_questions()
        if not self.snapshot.status.ended:
            self.snapshot = self.snapshot.restated(
                status=Status.FAILED,
                message=f"The training process ended unexpectedly (exit code {self._process.exitcode}), "
                        "perhaps out of memory.")


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
    os.setsid()      # the scheduler then weighs the run as a group of its own, apart from the server
    send = _sender(conn)
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


def _sender(conn: Connection) -> Tell:
    """Sends down ``conn`` from any thread; a closed pipe is left to its reader to notice."""
    lock = threading.Lock()

    def send(message: tuple) -> None:
        with lock:
            try:
                conn.send(message)
            except OSError:
                pass
    return send


def _publisher(send: Tell) -> Callable[[Snapshot], None]:
    """Send each snapshot (and a comparison's variants) without what the parent has, so that only
    new history rows travel and the page's pictures, cached by identity, are encoded once."""
    last: dict[int, Snapshot] = {}    # kept alive, so an identity compared is never a new object's

    def part(i: int, snapshot: Snapshot) -> _Part:
        before, last[i] = last.get(i, EMPTY), snapshot
        # History columns are views of buffers that only grow: on the same buffer, older rows are sent.
        steps, sent = snapshot.history["step"], before.history["step"]
        start = len(sent) if steps.base is not None and steps.base is sent.base else 0
        shown = {step for step, _ in before.timeline}
        return replace(snapshot, variants=(), history={c: rows[start:] for c, rows in snapshot.history.items()},
                       real=SENT if snapshot.real is not None and snapshot.real is before.real else snapshot.real,
                       timeline=tuple((step, SENT if step in shown else grid) for step, grid in snapshot.timeline)
                       ), start

    def publish(snapshot: Snapshot) -> None:
        if not snapshot.variants:
            send(("snapshot", None, [part(0, snapshot)]))
            return
        # A comparison's own fields but the run's are variant A's: they travel once, as A's.
        send(("snapshot", {f: getattr(snapshot, f) for f in RUN_FIELDS},
              [part(i, variant) for i, variant in enumerate(snapshot.variants)]))
    return publish


def _outcome(future: Future) -> tuple[BaseException | None, Any]:
    """(None, result), or (error, None) with the error as the parent can unpickle it."""
    error = future.exception()
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any failure means "not portable"
        error = RuntimeError(str(error))
    return (None, future.result()) if error is None else (error, None)
