"""What watching costs: a preset's steps/s with the Train page open in a real browser versus the
same preset trained headless by the CLI, and the time from pressing Play to the first chart update.

    python -m bench.live_page [--presets seed-001-mlp dcgan-small] [--seconds 30] [--json FILE]

For each preset: start ``streamlit run app.py`` (offline), open it in headless Chromium, pick the
preset, press Play and time the first loss-chart update; then read the step counter at both ends
of a ``--seconds`` window while the page refreshes live.  Afterwards the CLI
(``python -m gan_core train``) trains the same preset for about as many steps, once with the thread
count the app gives its training thread and once with torch's default, and reports its own
steps/s (training only, start-up excluded).  Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.app_server import CHROMIUM_ARGS, ROOT, chromium_path, running_app
from gan_core.presets import PRESETS, preset
from gan_core.runner import SLOTS, training_threads

WAIT_MS = 60_000
# The last step drawn on the loss chart (Plotly keeps the traces it drew on the chart's div).
LAST_CHARTED_STEP = """() => {
    const chart = document.querySelector('.st-key-loss_chart .js-plotly-plot');
    const trace = chart && chart._fullData && chart._fullData.find(t => t.name === 'D loss');
    return trace && trace.x.length ? trace.x[trace.x.length - 1] : 0;
}"""
CLI_RATE = re.compile(r"\(([\d.]+) steps/s over")


# ------------------------------------------------------------------ the Train page, as a user drives it
def stat(page, key: str):
    """The value of one of the page's stat tiles (status, step, rate, ...).  While a rerun draws
    the new value, Streamlit can keep the old one on the page marked stale: skip that one."""
    return page.locator(f".st-key-stat_{key} [data-testid='stElementContainer']:not([data-stale='true']) "
                        "[data-testid='stMetricValue']")


def step_count(page) -> int:
    return int(stat(page, "step").inner_text().replace(",", ""))


def press(page, key: str) -> None:
    page.locator(f".st-key-{key}").get_by_role("button").click()


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


def measure_page(page, name: str, seconds: float) -> dict:
    """Pick ``name``, press Play, time the first chart update, count steps over ``seconds``."""
    from playwright.sync_api import expect
    expect(stat(page, "status")).to_have_text("paused", timeout=WAIT_MS)
    choose_preset(page, name)
    page.locator(_main_view(name)).first.wait_for(timeout=WAIT_MS)
    expect(stat(page, "status")).to_have_text("paused", timeout=WAIT_MS)
    before = charted_step(page)
    pressed = time.perf_counter()
    press(page, "play")
    wait_for_chart_beyond(page, before)
    first_update = time.perf_counter() - pressed
    start_step, start = step_count(page), time.perf_counter()
    page.wait_for_timeout(seconds * 1000)   # the measuring window itself, not synchronisation
    end_step, end = step_count(page), time.perf_counter()
    shown_rate = stat(page, "rate").inner_text()
    press(page, "pause")
    expect(stat(page, "status")).to_have_text("paused", timeout=WAIT_MS)
    return {"first_chart_update_s": round(first_update, 2),
            "page_steps_per_s": round((end_step - start_step) / (end - start), 2),
            "page_rate_shown": shown_rate, "window_steps": end_step - start_step}


# ------------------------------------------------------------------------------- the same run headless
def measure_cli(name: str, steps: int, threads: int | None) -> float:
    """Steps/s that ``python -m gan_core train`` reports for ``steps`` steps of ``name``."""
    env = {**os.environ, "GAN_PLAYGROUND_OFFLINE": "1"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", name,
                               "--steps", str(steps), "--device", "cpu", "--out", f"{tmp}/run.pt"],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(CLI_RATE.findall(done.stderr)[-1])


def measure(browser, url: str, names: list[str], seconds: float,
            restore_cores: set[int] | None = None) -> list[dict]:
    """The page figures of each preset (a fresh tab each) with ``browser`` on the app at ``url``,
    then the CLI's figures for the same presets (on ``restore_cores`` when given)."""
    results = []
    for name in names:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(url)
        page.get_by_test_id("stApp").wait_for()
        results.append({"preset": name, **measure_page(page, name, seconds)})
        context.close()
    if restore_cores:
        os.sched_setaffinity(0, restore_cores)
    app_threads = training_threads(SLOTS)
    for row in results:
        steps = max(20, int(row["page_steps_per_s"] * seconds))
        row["cli_steps"] = steps
        row["app_threads"] = app_threads
        row["cli_same_threads_steps_per_s"] = measure_cli(row["preset"], steps, app_threads)
        row["cli_default_threads_steps_per_s"] = measure_cli(row["preset"], steps, None)
        row["page_cost"] = round(1 - row["page_steps_per_s"] / row["cli_same_threads_steps_per_s"], 3)
        print(f"{row['preset']}: Play -> first chart {row['first_chart_update_s']} s; page open "
              f"{row['page_steps_per_s']} steps/s; CLI {row['cli_same_threads_steps_per_s']} "
              f"({app_threads} thread) / {row['cli_default_threads_steps_per_s']} (default threads)",
              file=sys.stderr, flush=True)
    return results


def run(names: list[str], seconds: float, browser_core: int | None = None) -> list[dict]:
    """Start the app and Chromium, then ``measure``.  With ``browser_core``, Chromium (started
    from this process) is confined to that one CPU core: on a 2-core box this stands in for a
    student whose own machine runs the browser, leaving the server both cores."""
    from playwright.sync_api import sync_playwright
    executable = chromium_path()
    if executable is None:
        raise SystemExit("error: no chromium found (apt-get install chromium, or set $CHROMIUM)")
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "server.log") as url:
        cores = os.sched_getaffinity(0)
        if browser_core is not None:
            os.sched_setaffinity(0, {browser_core})       # inherited by the driver and Chromium
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                try:
                    return measure(browser, url, names, seconds, restore_cores=cores)
                finally:
                    browser.close()
        finally:
            os.sched_setaffinity(0, cores)


def table(results: list[dict]) -> str:
    lines = ["| preset | Play → first chart update | page open, steps/s | CLI, same threads | page cost | CLI, torch's default threads |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['preset']} | {r['first_chart_update_s']:.2f} s | {r['page_steps_per_s']:.1f} | "
                     f"{r['cli_same_threads_steps_per_s']:.1f} ({r['app_threads']}) | "
                     f"{100 * r['page_cost']:.1f} % | {r['cli_default_threads_steps_per_s']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live_page", description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["seed-001-mlp", "dcgan-small"],
                        choices=list(PRESETS), metavar="PRESET", help="presets to measure")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the page's measuring window")
    parser.add_argument("--browser-core", type=int, metavar="N",
                        help="confine Chromium to CPU core N (the browser of a remote student)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    report(run(args.presets, args.seconds, args.browser_core), args.json)
    return 0


def report(results: list[dict], json_path: Path | None) -> None:
    """The table on stdout and, if asked, the figures as JSON."""
    print(table(results))
    if json_path:
        json_path.write_text(json.dumps({"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                         "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
