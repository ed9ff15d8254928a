"""Fair turns for a server's training runs: a cap on how many train at once, a line for the rest.

A class of 30 on one server must not leave 26 students waiting for the whole lesson behind 4
runs nobody pauses.  ``RunSlots`` hands a free slot to the run that has waited longest, and while
anyone waits, a run whose turn (``turn_seconds`` of holding its slot) is over is asked to yield:
it goes to the back of the line and later continues where it was.

No holder polls to learn that its turn is over.  A run asks with ``acquire(ticket, tell)``,
where ``tell`` puts a command on the run's own command queue (a Runner's, or the pipe to a
RunProcess's child), and asks again every half second or so while it waits.  The slots send it ("yield",) when its turn is over and someone waits,
and ("wake",) when a slot it may take has come free, so it need not wait for its next retry.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from time import monotonic
from typing import Callable, Hashable

Tell = Callable[[tuple], None]      # hands one command to a run's training thread

YIELD = ("yield",)    # your turn is over and someone waits: free the slot and ask again
WAKE = ("wake",)      # a slot you may take is free: ask again now


@dataclass(frozen=True)
class Place:
    """What a run that asked for a slot got: the slot (position 0), or its place in line."""

    position: int         # 1 = next in line; 0 = it holds a slot
    eta_seconds: float    # estimated wait for a slot (0 with one)
    limit: int
    turn_seconds: float

    @property
    def granted(self) -> bool:
        return self.position == 0

    def message(self) -> str:
        """The sentence a waiting student reads."""
        runs = "1 run trains" if self.limit == 1 else f"{self.limit} runs train"
        return (f"Waiting for a turn: {ordinal(self.position)} in line, about {about(self.eta_seconds)} "
                f"({runs} at a time, in turns of {self.turn_seconds:g} s).")


class RunSlots:
    """How many runs may train at the same time in this process, and whose turn it is.
    ``ticket`` is anything hashable that names one run for as long as it lives (the run itself)."""

    def __init__(self, limit: int, turn_seconds: float = 20.0):
        self.limit, self.turn_seconds = limit, turn_seconds
        self._lock = threading.Lock()
        self._held: dict[Hashable, float] = {}     # holder -> when it got its slot
        self._line: list[Hashable] = []            # waiting runs, longest-waiting first
        self._tells: dict[Hashable, Tell] = {}     # for every holder and waiter
        self._asked: set[Hashable] = set()         # holders already asked to yield this turn

    @property
    def busy(self) -> int:
        """Slots held."""
        return len(self._held)

    @property
    def waiting(self) -> int:
        """Runs in line."""
        return len(self._line)

    def acquire(self, ticket: Hashable, tell: Tell) -> Place:
        """A slot for ``ticket`` if one is free and no run has waited longer; else its place in
        line (joined at the back on its first ask), and the holders whose turn is over are
        asked to yield, one for each waiting run that no free slot serves."""
        with self._lock:
            now = monotonic()
            self._tells[ticket] = tell
            if ticket not in self._held:
                if ticket not in self._line:
                    self._line.append(ticket)
                if self._line.index(ticket) < self._free():
                    self._line.remove(ticket)
                    self._held[ticket] = now
            if ticket in self._held:
                return Place(0, 0.0, self.limit, self.turn_seconds)
            place, asked = self._place(ticket, now), self._ask_to_yield(now)
        for tell_holder in asked:
            tell_holder(YIELD)
        return place

    def release(self, ticket: Hashable) -> None:
        """Free ``ticket``'s slot, or its place in line (a run that pauses, yields, stops or
        dies); the runs that may now take a slot are woken."""
        with self._lock:
            self._held.pop(ticket, None)
            if ticket in self._line:
                self._line.remove(ticket)
            self._asked.discard(ticket)
            self._tells.pop(ticket, None)
            woken = [self._tells[waiter] for waiter in self._line[:self._free()]]
        for tell in woken:
            tell(WAKE)

    def _free(self) -> int:
        return self.limit - len(self._held)

    def _place(self, ticket: Hashable, now: float) -> Place:
        """The wait if every holder keeps its slot to the end of its turn and each run ahead
        takes a whole turn: the k-th slot to come free goes to the k-th in line."""
        position = self._line.index(ticket) + 1
        ends = sorted([max(0.0, self.turn_seconds - (now - since)) for since in self._held.values()]
                      + [0.0] * self._free())
        rounds, slot = divmod(position - 1, self.limit)
        return Place(position, ends[slot] + rounds * self.turn_seconds, self.limit, self.turn_seconds)

    def _ask_to_yield(self, now: float) -> list[Tell]:
        """The tells of the holders to ask now: the longest-holding of those whose turn is over,
        one per waiting run beyond the free slots, each asked once per turn."""
        by_age = sorted(self._held, key=self._held.__getitem__)
        over = [h for h in by_age if now - self._held[h] >= self.turn_seconds]
        chosen = [h for h in over[:max(0, len(self._line) - self._free())] if h not in self._asked]
        self._asked.update(chosen)
        return [self._tells[h] for h in chosen]


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, ..., 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def about(seconds: float) -> str:
    """A wait, as coarse as an estimate deserves: the text (and so the snapshot) then changes
    every few seconds, not at every retry."""
    if seconds < 10:
        return f"{max(1, math.ceil(seconds))} s"
    if seconds < 90:
        return f"{5 * math.ceil(seconds / 5)} s"
    return f"{round(seconds / 60)} min"
