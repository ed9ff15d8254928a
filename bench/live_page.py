"""What watching costs: a preset's steps/s with the Train page open in a real browser versus the
same preset trained headless by the CLI, and the time from pressing Play to the first chart update.

    python -m bench.live_page [--presets seed-001-mlp dcgan-small] [--seconds 20] [--rounds 3]
                              [--browser-core N] [--json FILE]

For each preset: start ``streamlit run app.py`` (offline), open it in headless Chromium, pick the
preset, press Play and time the first loss-chart update.  Then, ``--rounds`` times: count the
steps of a ``--seconds`` window while the page refreshes live, pause, and let the CLI
(``python -m gan_core train``, the thread count the app gives its training thread) train the same
preset for about as many steps, reporting its own steps/s (training only, start-up excluded).
Alternating the two cancels the drift of a shared machine's speed; the medians are compared.
Each round also reports, for its page window and its CLI run apart, the share of the machine's
CPU time its hypervisor gave to other guests (Linux's "steal"): on a busy VM host that share
moves, and the figures with it.  Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from bench.app_server import ROOT, launched_chromium, running_app
from gan_core.presets import PRESETS, preset
from gan_core.runner import SLOTS, Status
from gan_core.threads import training_threads
from ui.runs import DEFAULT_PRESET

WAIT_MS = 60_000
# The run's row of figures; checkouts up to f54f248 drew it in a container keyed "stats", and
# bench.watch_cost compares checkouts.
RUN_FIGURES = "[data-figures=stats], .st-key-stats"
FIGURE_VALUE = "[data-figures=stats] [data-figure='{}'] .figure-value"   # the value of the run's figure {label}
# The last step drawn on the loss chart (Plotly keeps the traces it drew on the chart's div).
LAST_CHARTED_STEP = """() => {
    const chart = document.querySelector('.st-key-loss_chart .js-plotly-plot');
    const trace = chart && chart._fullData && chart._fullData.find(t => t.name === 'D loss');
    return trace && trace.x.length ? trace.x[trace.x.length - 1] : 0;
}"""
CLI_RATE = re.compile(r"\(([\d.]+) steps/s over")


# ------------------------------------------------------------------ the Train page, as a user drives it
def stat(page, label: str):
    """The value of one of the run's figures (Status, Step, Steps/s, ...)."""
    return page.locator(FIGURE_VALUE.format(label))


def wait_for_step(page, steps: int) -> None:
    """Wait until the run's Step figure reads at least ``steps``."""
    page.wait_for_function(f"() => {{ const v = document.querySelector({json.dumps(FIGURE_VALUE.format('Step'))});"
                           f" return v && parseInt(v.innerText.replace(/,/g, '')) >= {steps}; }}", timeout=WAIT_MS)


def step_count(page) -> int:
    return int(stat(page, "Step").inner_text().replace(",", ""))


def press(page, key: str) -> None:
    page.locator(f".st-key-{key}").get_by_role("button").click()


def open_train_page(browser, url: str, name: str, watch: Callable[[Any], None] | None = None):
    """A fresh tab (its own session) on the Train page with preset ``name`` loaded and paused;
    ``watch(page)`` runs before the page loads.  The preset is picked as a user picks it."""
    from playwright.sync_api import expect
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(WAIT_MS)
    if watch is not None:
        watch(page)
    page.goto(url)
    expect(page.locator(RUN_FIGURES)).to_contain_text(str(Status.PAUSED), timeout=WAIT_MS)
    if name != DEFAULT_PRESET:
        choose_preset(page, name)
    page.locator(_main_view(name)).first.wait_for(timeout=WAIT_MS)
    expect(page.locator(RUN_FIGURES)).to_contain_text(str(Status.PAUSED), timeout=WAIT_MS)
    return page


def choose_preset(page, name: str) -> None:
    page.locator(".st-key-preset").get_by_role("combobox").click()
    page.get_by_role("option", name=name, exact=True).click()


def charted_step(page) -> float:
    return page.evaluate(LAST_CHARTED_STEP)


def wait_for_chart_beyond(page, step: float) -> None:
    page.wait_for_function(f"() => ({LAST_CHARTED_STEP})() > {step}", timeout=WAIT_MS)


def _main_view(name: str) -> str:
    """A selector that appears once the page shows ``name``'s kind of data."""
    return {"image": ".st-key-samples img", "pattern": ".st-key-pattern_chart .js-plotly-plot",
            "points": ".st-key-toy_chart .js-plotly-plot"}[preset(name).data_kind]


def start_playing(page) -> float:
    """Press Play; the seconds from the click to the first chart update."""
    before = charted_step(page)
    pressed = time.perf_counter()
    press(page, "play")
    wait_for_chart_beyond(page, before)
    return time.perf_counter() - pressed


def page_window(page, seconds: float) -> tuple[float, int]:
    """Steps/s (and steps) counted on the page over ``seconds`` of live training."""
    start_step, start = step_count(page), time.perf_counter()
    page.wait_for_timeout(seconds * 1000)   # the measuring window itself, not synchronisation
    end_step, end = step_count(page), time.perf_counter()
    return (end_step - start_step) / (end - start), end_step - start_step


def set_playing(page, playing: bool) -> None:
    from playwright.sync_api import expect
    press(page, "play" if playing else "pause")
    expect(stat(page, "Status")).to_have_text("running" if playing else "paused", timeout=WAIT_MS)


# ---------------------------------------------------------------------------------- the machine itself
def cpu_counters() -> tuple[int, int] | None:
    """(steal, total) CPU ticks of the whole machine so far, from Linux's /proc/stat (None
    elsewhere).  Steal is time the hypervisor gave this VM's CPUs to other guests."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return ticks[7], sum(ticks[:8])


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of the machine's CPU time stolen between two ``cpu_counters`` readings."""
    if before is None or after is None or after[1] == before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 3)


# ------------------------------------------------------------------------------- the same run headless
def measure_cli(name: str, steps: int, threads: int) -> float:
    """Steps/s that ``python -m gan_core train`` reports for ``steps`` steps of ``name``."""
    env = {**os.environ, "GAN_PLAYGROUND_OFFLINE": "1", "OMP_NUM_THREADS": str(threads)}
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", name,
                               "--steps", str(steps), "--device", "cpu", "--out", f"{tmp}/run.pt"],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(CLI_RATE.findall(done.stderr)[-1])


def measure_preset(page, name: str, seconds: float, rounds: int, threads: int) -> dict:
    """Play ``name`` on the page, then alternate page windows and CLI runs ``rounds`` times."""
    first_update = start_playing(page)
    page_rates, cli_rates, page_steal, cli_steal, steps = [], [], [], [], 0
    for round_ in range(rounds):
        if round_:
            set_playing(page, True)
        counters = cpu_counters()
        rate, steps = page_window(page, seconds)
        page_rates.append(round(rate, 2))
        set_playing(page, False)
        paused = cpu_counters()
        page_steal.append(steal_share(counters, paused))
        cli_rates.append(measure_cli(name, max(20, int(rate * seconds)), threads))
        cli_steal.append(steal_share(paused, cpu_counters()))
    page_rate, cli_rate = statistics.median(page_rates), statistics.median(cli_rates)
    return {"preset": name, "first_chart_update_s": round(first_update, 2), "window_steps": steps,
            "page_steps_per_s": page_rate, "page_rounds": page_rates,
            "cli_same_threads_steps_per_s": cli_rate, "cli_rounds": cli_rates, "app_threads": threads,
            "page_cost": round(1 - page_rate / cli_rate, 3), "page_stolen_rounds": page_steal,
            "cli_stolen_rounds": cli_steal}


def measure(browser, url: str, names: list[str], seconds: float, rounds: int = 3) -> list[dict]:
    """The figures of each preset (a fresh tab each) with ``browser`` on the app at ``url``."""
    threads, results = training_threads(SLOTS.limit), []
    for name in names:
        page = open_train_page(browser, url, name)
        row = measure_preset(page, name, seconds, rounds, threads)
        page.context.close()
        results.append(row)
        print(f"{name}: Play -> first chart {row['first_chart_update_s']} s; page open {row['page_rounds']} "
              f"steps/s; CLI ({threads} thread) {row['cli_rounds']}", file=sys.stderr, flush=True)
    return results


def run(names: list[str], seconds: float, rounds: int, browser_core: int | None = None) -> list[dict]:
    """Start the app and Chromium, then ``measure``.  With ``browser_core``, Chromium is confined
    to that one CPU core: on a 2-core box this stands in for a classroom server whose students'
    browsers run elsewhere, with the server's own threads still sharing the machine."""
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "server.log") as url:
        with launched_chromium(browser_core) as browser:
            return measure(browser, url, names, seconds, rounds)


def stolen(page: list[float | None], cli: list[float | None]) -> str:
    """Each round's steal shares, page window and CLI run, as percentages ('?' where the machine
    has no /proc/stat)."""
    percent = lambda share: "?" if share is None else f"{100 * share:.0f}"   # noqa: E731
    return " · ".join(f"{percent(p)}/{percent(c)}" for p, c in zip(page, cli)) + " %"


def table(results: list[dict]) -> str:
    lines = ["| preset | Play → first chart update | page open, steps/s (median of rounds) | CLI, same threads "
             "| page cost | CPU stolen by the host, page/CLI per round |", "|---|---:|---:|---:|---:|---|"]
    for r in results:
        rounds = lambda key: " / ".join(f"{v:.1f}" for v in r[key])   # noqa: E731
        lines.append(f"| {r['preset']} | {r['first_chart_update_s']:.2f} s | {r['page_steps_per_s']:.1f} "
                     f"({rounds('page_rounds')}) | {r['cli_same_threads_steps_per_s']:.1f} "
                     f"({rounds('cli_rounds')}) | {100 * r['page_cost']:.1f} % | {stolen(r['page_stolen_rounds'], r['cli_stolen_rounds'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live_page", description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["seed-001-mlp", "dcgan-small"],
                        choices=list(PRESETS), metavar="PRESET", help="presets to measure")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each page measuring window")
    parser.add_argument("--rounds", type=int, default=3, help="page windows, each followed by a CLI run")
    parser.add_argument("--browser-core", type=int, metavar="N",
                        help="confine Chromium to CPU core N (the browser of a remote student)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    report(run(args.presets, args.seconds, args.rounds, args.browser_core), args.json)
    return 0


def report(results: list[dict], json_path: Path | None) -> None:
    """The table on stdout and, if asked, the figures as JSON."""
    print(table(results))
    if json_path:
        json_path.write_text(json.dumps({"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                         "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
