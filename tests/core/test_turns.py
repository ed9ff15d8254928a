"""Fair turns: RunSlots's line, yields and estimates on a fake clock, then runs that take turns,
in this process (Runner) and in child processes (RunProcess).

Runs wait for each other with ``wait_for`` (polling); the turns are short (0.3 s) where runs
must rotate, and long (60 s) where the line must stand still while it is looked at.
"""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

import gan_core.turns as turns
from gan_core.presets import preset
from gan_core.run_process import RunProcess
from gan_core.runner import Commands, Runner
from gan_core.turns import WAKE, YIELD, RunSlots, about, ordinal

WAIT = 60.0   # generous: the CI box is a shared 2-core machine


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(turns, "monotonic", fake)
    return fake


class Told:
    """What the slots told each ticket, by ticket."""

    def __init__(self) -> None:
        self.commands: dict[str, list[tuple]] = {}

    def to(self, ticket: str):
        return lambda command: self.commands.setdefault(ticket, []).append(command)

    def __getitem__(self, ticket: str) -> list[tuple]:
        return self.commands.get(ticket, [])


def test_a_free_slot_goes_to_the_longest_waiting_run_and_wakes_it(clock: Clock) -> None:
    slots, told = RunSlots(1, turn_seconds=60), Told()
    assert slots.acquire("a", told.to("a")).granted
    assert slots.acquire("b", told.to("b")).position == 1
    assert slots.acquire("c", told.to("c")).position == 2
    slots.release("a")                                    # a pauses
    assert told["b"] == [WAKE] and told["c"] == []        # the head of the line may ask at once
    assert slots.acquire("c", told.to("c")).position == 2, "asking first does not jump the line"
    assert slots.acquire("b", told.to("b")).granted
    slots.release("c")                                    # a waiter that pauses leaves the line
    assert (slots.busy, slots.waiting) == (1, 0)


def test_holders_yield_when_their_turn_is_over_and_someone_waits(clock: Clock) -> None:
    slots, told = RunSlots(2, turn_seconds=10), Told()
    slots.acquire("a", told.to("a"))
    clock.now = 1.0
    slots.acquire("b", told.to("b"))
    clock.now = 5.0
    assert slots.acquire("c", told.to("c")).position == 1
    assert told["a"] == told["b"] == [], "no turn is over yet"
    clock.now = 11.5
    slots.acquire("c", told.to("c"))
    slots.acquire("c", told.to("c"))
    assert told["a"] == [YIELD] and told["b"] == [], "the longest-holding first, once, one per waiting run"
    slots.acquire("d", told.to("d"))
    assert told["b"] == [YIELD]
    slots.release("a")                                     # a yields: back of the line
    assert slots.acquire("a", told.to("a")).position == 3
    assert slots.acquire("c", told.to("c")).granted


def test_with_nobody_waiting_nobody_yields(clock: Clock) -> None:
    slots, told = RunSlots(1, turn_seconds=10), Told()
    slots.acquire("a", told.to("a"))
    clock.now = 100.0
    assert slots.acquire("a", told.to("a")).granted and told["a"] == []
    assert slots.acquire("b", told.to("b")).eta_seconds == 0.0   # a's turn is over: it yields now
    assert told["a"] == [YIELD]


def test_the_estimate_counts_the_holders_turns_and_the_runs_ahead(clock: Clock) -> None:
    slots, told = RunSlots(2, turn_seconds=20), Told()
    slots.acquire("a", told.to("a"))
    clock.now = 10.0
    slots.acquire("b", told.to("b"))
    clock.now = 15.0                                     # a's turn ends in 5 s, b's in 15 s
    places = [slots.acquire(name, told.to(name)) for name in ("c", "d", "e", "f")]
    assert [p.position for p in places] == [1, 2, 3, 4]
    assert [p.eta_seconds for p in places] == [5.0, 15.0, 25.0, 35.0]
    assert places[2].message() == ("Waiting for a turn: 3rd in line, about 25 s "
                                   "(2 runs train at a time, in turns of 20 s).")


def test_places_and_waits_read_naturally() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]
    assert [about(s) for s in (0.0, 0.2, 9.1, 12.0, 40.0, 89.0, 150.0)] == [
        "1 s", "1 s", "10 s", "15 s", "40 s", "90 s", "2 min"]


# ---------------------------------------------------------------------------------- runs
def toy(**changes):
    return preset("toy-ring", device="cpu", batch_size=16, **changes)


@pytest.fixture
def runs() -> Iterator[list[Commands]]:
    """Runs to stop after the test, whatever happens."""
    started: list[Commands] = []
    yield started
    for run in started:
        run.stop()


def loaded(runs: list[Commands], run: Commands) -> Commands:
    runs.append(run)
    run.wait_for(lambda s: s.status == "paused", WAIT)
    return run


def thread_run(runs: list[Commands], slots: RunSlots, seed: int = 0) -> Commands:
    return loaded(runs, Runner(toy(seed=seed), slots=slots, live_metrics=None))


def process_run(runs: list[Commands], slots: RunSlots, seed: int = 0) -> Commands:
    return loaded(runs, RunProcess(toy(seed=seed), slots=slots))


def takes_turns(first: Commands, second: Commands) -> None:
    """Both playing on one slot: the second trains (the first yielded), then the first again."""
    first.play()
    first.wait_for(lambda s: s.status == "running" and s.step > 0, WAIT)
    second.play()
    second.wait_for(lambda s: s.step > 0, WAIT)
    was = first.snapshot.step
    assert first.wait_for(lambda s: s.step > was, WAIT).playing


def test_two_runs_take_turns_on_one_slot(runs: list[Commands]) -> None:
    slots = RunSlots(1, turn_seconds=0.3)
    a, b = thread_run(runs, slots), thread_run(runs, slots, seed=1)
    takes_turns(a, b)
    was = b.snapshot.step
    b.wait_for(lambda s: s.step > was, WAIT)
    assert slots.busy == 1 and slots.waiting == 1


def test_a_waiting_run_sees_its_place_and_the_longest_waiting_goes_first(runs: list[Commands]) -> None:
    slots = RunSlots(1, turn_seconds=60)
    a, b, c = (thread_run(runs, slots, seed) for seed in range(3))
    a.play()
    a.wait_for(lambda s: s.status == "running", WAIT)
    b.play()
    assert b.wait_for(lambda s: s.status == "queued", WAIT).queue_position == 1
    c.play()
    third = c.wait_for(lambda s: s.status == "queued", WAIT)
    assert third.playing and third.queue_position == 2 and 60 <= third.eta_seconds <= 120
    assert third.message.startswith("Waiting for a turn: 2nd in line, about ")
    assert third.message.endswith("(1 run trains at a time, in turns of 60 s).")
    c.set(lr_g=1e-4)                                 # a change while waiting keeps the place shown
    c.wait_for(lambda s: s.config.lr_g == 1e-4 and s.queue_position == 2, 10)
    a.pause()
    b.wait_for(lambda s: s.status == "running" and s.step > 0, WAIT)
    assert c.wait_for(lambda s: s.queue_position == 1, WAIT).status == "queued"
    c.pause()
    assert c.wait_for(lambda s: s.status == "paused", WAIT).queue_position == 0
    assert (slots.busy, slots.waiting) == (1, 0)


def test_the_slots_turns_reach_a_child_process(runs: list[Commands]) -> None:
    slots = RunSlots(1, turn_seconds=0.3)
    takes_turns(process_run(runs, slots), thread_run(runs, slots, seed=1))


def test_a_killed_child_frees_its_slot_and_leaves_the_line(runs: list[Commands]) -> None:
    slots = RunSlots(1, turn_seconds=60)
    holder, waiter = process_run(runs, slots), process_run(runs, slots, seed=1)
    last = thread_run(runs, slots, seed=2)
    for run, state in ((holder, "running"), (waiter, "queued"), (last, "queued")):
        run.play()
        run.wait_for(lambda s: s.status == state, WAIT)
    os.kill(waiter.pid, signal.SIGKILL)
    waiter.wait_for(lambda s: s.status == "failed", WAIT)
    assert last.wait_for(lambda s: s.queue_position == 1, WAIT).status == "queued"
    os.kill(holder.pid, signal.SIGKILL)
    last.wait_for(lambda s: s.status == "running", WAIT)
    assert (slots.busy, slots.waiting) == (1, 0)
