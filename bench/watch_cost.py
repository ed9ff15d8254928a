"""What one watching student costs the server: the streamlit process's own CPU time per second,
per tab that watches a running run, for versions of the app side by side.

    python -m bench.watch_cost --app before=/tmp/app-before --app after=. \\
        [--presets toy-ring seed-002-pattern seed-001-mlp dcgan-small] [--tabs 4] [--seconds 15]
        [--rounds 3] [--browser-core N] [--json FILE]

Each ``--app NAME=DIR`` is a checkout of the app, started as ``streamlit run app.py`` (offline).
For each preset, ``--tabs`` browser tabs open on every app and pick the preset.  Then, ``--rounds``
times and in turn for each app: its tabs press Play, and after a warm-up the server's CPU time
(utime + stime of the streamlit process in /proc: not its runs' processes, not the browser) and
the tabs' messages to the server (each refresh is one) are counted over ``--seconds``; then they
press Pause.  The figure is the server's CPU per refresh times the app's two refreshes a second:
what a watching student costs when the browser keeps pace, which a busy machine's browser may not.
Alternating the apps cancels the drift of a shared machine; each round's figure is divided by the
first app's figure of the same round, and the medians of those ratios are reported.  Give the
same checkout twice to see the noise.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.app_server import launched_chromium, running_app, server_pid
from bench.live_page import RUN_FIGURES, open_train_page, press
from gan_core.presets import PRESETS

WAIT_MS = 120_000
WARM_UP_SECONDS = 3.0
REFRESHES_PER_SECOND = 2      # the Train page's pace while its run moves
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """The process's own CPU time so far (all its threads, none of its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Messages:
    """Counts the messages the tabs send the server (a refresh asks for one rerun)."""

    def __init__(self) -> None:
        self.count = 0

    def watch(self, page) -> None:
        page.on("websocket", lambda socket: socket.on("framesent", self._one))

    def _one(self, _payload) -> None:
        self.count += 1


def open_tabs(browser, url: str, preset: str, tabs: int, messages: Messages) -> list:
    """``tabs`` sessions of the app, each with ``preset`` loaded and paused."""
    return [open_train_page(browser, url, preset, watch=messages.watch) for _ in range(tabs)]


def set_playing(pages: list, playing: bool) -> None:
    from playwright.sync_api import expect
    for page in pages:
        press(page, "play" if playing else "pause")
    for page in pages:
        expect(page.locator(RUN_FIGURES)).to_contain_text("running" if playing else "paused",
                                                              timeout=WAIT_MS)


def watched_cost(pid: int, pages: list, messages: Messages, seconds: float) -> tuple[float, float, float]:
    """Server CPU seconds per second per tab while ``pages`` watch their runs train: at the app's
    pace, and as counted; and the refreshes a second each tab got."""
    set_playing(pages, True)
    pages[0].wait_for_timeout(min(WARM_UP_SECONDS, seconds) * 1000)   # no longer than the window (smoke runs)
    cpu, sent, wall = cpu_seconds(pid), messages.count, time.monotonic()
    pages[0].wait_for_timeout(seconds * 1000)   # the measuring window (it also delivers the counts)
    cpu, refreshes, wall = cpu_seconds(pid) - cpu, max(1, messages.count - sent), time.monotonic() - wall
    set_playing(pages, False)
    return cpu / refreshes * REFRESHES_PER_SECOND, cpu / wall / len(pages), refreshes / wall / len(pages)


def measure_preset(browser, servers: dict[str, tuple[str, int]], preset: str, tabs: int, seconds: float,
                   rounds: int) -> dict:
    """Every app's cost per round for ``preset``, and each app's median ratio to the first."""
    messages = {name: Messages() for name in servers}
    tabs_of = {name: open_tabs(browser, url, preset, tabs, messages[name]) for name, (url, _) in servers.items()}
    costs: dict[str, list[float]] = {name: [] for name in servers}
    paces: dict[str, list[float]] = {name: [] for name in servers}
    counted: dict[str, list[float]] = {name: [] for name in servers}
    for round_ in range(rounds):
        order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
        for name in order:
            cost, as_counted, pace = watched_cost(servers[name][1], tabs_of[name], messages[name], seconds)
            costs[name].append(cost)
            counted[name].append(as_counted)
            paces[name].append(round(pace, 2))
            print(f"{preset}, {name}, round {round_ + 1}: {1000 * cost:.1f} ms/s per tab at the app's pace, "
                  f"{1000 * as_counted:.1f} as counted ({pace:.2f} refreshes/s each)", file=sys.stderr, flush=True)
    for pages in tabs_of.values():
        for page in pages:
            page.context.close()
    first = next(iter(servers))
    return {"preset": preset, "cpu_per_tab": costs, "cpu_per_tab_as_counted": counted, "refreshes_per_s": paces,
            "ratio_to_first": {name: median_ratio(costs[name], costs[first]) for name in servers}}


def median_ratio(costs: list[float], firsts: list[float]) -> float:
    """The median over rounds of ``costs`` / ``firsts``; NaN when no round of the first app used a
    clock tick (a window too short to measure)."""
    ratios = [cost / first for cost, first in zip(costs, firsts) if first > 0]
    return statistics.median(ratios) if ratios else math.nan


def run(apps: dict[str, Path], presets: list[str], tabs: int, seconds: float, rounds: int,
        browser_core: int | None = None) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        servers = {}
        for name, root in apps.items():
            url = stack.enter_context(running_app(Path(tmp) / f"{name}.log", root.resolve()))
            servers[name] = (url, server_pid(url))
        browser = stack.enter_context(launched_chromium(browser_core))
        results = []
        for preset in presets:
            results.append(measure_preset(browser, servers, preset, tabs, seconds, rounds))
            print(table(results[-1:]), file=sys.stderr, flush=True)
        return results


def table(results: list[dict]) -> str:
    names = list(results[0]["cpu_per_tab"])
    lines = ["| preset | " + " | ".join(f"{n}: server CPU per tab (rounds)" for n in names)
             + " | " + " | ".join(f"{n} / {names[0]}" for n in names[1:]) + " |",
             "|---|" + "---:|" * (2 * len(names) - 1)]
    for r in results:
        cells = [f"{1000 * statistics.median(c):.1f} ms/s ({' / '.join(f'{1000 * v:.1f}' for v in c)})"
                 for c in r["cpu_per_tab"].values()]
        ratios = [f"{r['ratio_to_first'][n]:.2f}" for n in names[1:]]
        lines.append(f"| {r['preset']} | " + " | ".join(cells + ratios) + " |")
    return "\n".join(lines)


def app_argument(text: str) -> tuple[str, Path]:
    name, _, folder = text.partition("=")
    if not folder or not (Path(folder) / "app.py").is_file():
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=DIR, DIR a checkout holding app.py")
    return name, Path(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.watch_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--app", type=app_argument, action="append", required=True, metavar="NAME=DIR",
                        help="a checkout of the app to measure (give two or more to compare them)")
    parser.add_argument("--presets", nargs="+", default=["toy-ring", "seed-002-pattern", "seed-001-mlp",
                                                         "dcgan-small"], choices=list(PRESETS), metavar="PRESET")
    parser.add_argument("--tabs", type=int, default=4, help="tabs watching at once, each its own run")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measuring window")
    parser.add_argument("--rounds", type=int, default=3, help="windows per app and preset, alternated")
    parser.add_argument("--browser-core", type=int, metavar="N", help="confine Chromium to CPU core N")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    results = run(dict(args.app), args.presets, args.tabs, args.seconds, args.rounds, args.browser_core)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                         "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
