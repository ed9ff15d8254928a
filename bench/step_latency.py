"""How long a single-step button takes to show its effect: Step, Step D and Step G on the Train
page, from the click to the Step figure showing the new count, in a real browser.

    python -m bench.step_latency [--preset toy-ring] [--clicks 20] [--quick] [--json FILE]

Starts ``streamlit run app.py`` (offline) and headless Chromium, opens the Train page on
``--preset`` and clicks each button ``--clicks`` times (the run is paused, so each click is one
step).  The clicks come at varying moments after the previous one's effect, so they fall at every
point of the page's own refresh timer, as a user's do.  Times are taken inside the page by the
browser's clock (``RECORDER``): the click, and the first moment the Step figure reads the new
count, seen by a MutationObserver; a slow driver delays clicks but never skews the figures.
Reported per button: median, 95th percentile and maximum.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.app_server import launched_chromium, running_app
from bench.live_page import FIGURE_VALUE, WAIT_MS, open_train_page, press
from bench.stats import percentile
from gan_core.presets import PRESETS
from ui.runs import DEFAULT_PRESET

BUTTONS = ("step", "step_d", "step_g")
QUICK_CLICKS = 3
# Pauses between one click's effect and the next click: spread over the idle page's 3 s refresh
# period, so the clicks sample every point of it.
GAPS_S = (0.1, 1.3, 2.6, 0.7, 1.9, 3.1, 0.4, 2.2)
# Notes, by the page's clock, each click on a step button and each new value of the Step figure.
RECORDER = """(() => {
  const log = {clicks: [], steps: []};
  const stepShown = () => {
    const value = document.querySelector(%s);
    return value ? Number(value.textContent.trim().replace(/,/g, '')) : null;
  };
  let last = stepShown();
  new MutationObserver(() => {
    const now = performance.now(), step = stepShown();
    if (step !== null && step !== last) { last = step; log.steps.push([now, step]); }
  }).observe(document, {subtree: true, childList: true, characterData: true});
  const buttons = %s.map(key => `.st-key-${key} button`).join(', ');
  document.addEventListener('click', e => {
    if (e.target.closest && e.target.closest(buttons)) log.clicks.push(performance.now());
  }, true);
  window.__stepLatency = {log, shown: () => last};
})()""" % (json.dumps(FIGURE_VALUE.format("Step")), json.dumps(BUTTONS))


def click_latencies(page, key: str, clicks: int) -> list[float]:
    """Seconds from each of ``clicks`` clicks on ``key`` to the Step figure's new count."""
    latencies = []
    for i in range(clicks):
        page.wait_for_timeout(GAPS_S[i % len(GAPS_S)] * 1000)   # the click's moment, not synchronisation
        expected = page.evaluate("() => window.__stepLatency.shown()") + 1
        press(page, key)
        page.wait_for_function(f"() => window.__stepLatency.shown() >= {expected}", timeout=WAIT_MS)
        clicked = page.evaluate("() => window.__stepLatency.log.clicks.at(-1)")
        shown = page.evaluate(f"() => window.__stepLatency.log.steps.find(s => s[1] >= {expected})[0]")
        latencies.append((shown - clicked) / 1000)
    return latencies


def measure(browser, url: str, preset: str, clicks: int) -> list[dict]:
    """One row per button: its latencies and their median, p95 and maximum."""
    page = open_train_page(browser, url, preset)
    page.evaluate(RECORDER)
    rows = []
    for key in BUTTONS:
        seconds = click_latencies(page, key, clicks)
        rows.append({"button": key, "preset": preset, "clicks": clicks, "latencies_s": [round(s, 3) for s in seconds],
                     "median_s": round(statistics.median(seconds), 3), "p95_s": round(percentile(seconds, 0.95), 3),
                     "max_s": round(max(seconds), 3)})
        print(f"{key}: median {rows[-1]['median_s']} s, p95 {rows[-1]['p95_s']} s", file=sys.stderr, flush=True)
    page.context.close()
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| button | preset | clicks | median | p95 | max |", "|---|---|---:|---:|---:|---:|"]
    labels = {"step": "Step", "step_d": "Step D", "step_g": "Step G"}
    lines += [f"| {labels[r['button']]} | {r['preset']} | {r['clicks']} | {r['median_s']:.2f} s | "
              f"{r['p95_s']:.2f} s | {r['max_s']:.2f} s |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.step_latency", description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=list(PRESETS), metavar="PRESET")
    parser.add_argument("--clicks", type=int, default=20, help="clicks per button")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK_CLICKS} clicks per button")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    clicks = QUICK_CLICKS if args.quick else args.clicks
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "server.log") as url:
        with launched_chromium() as browser:
            rows = measure(browser, url, args.preset, clicks)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "results": rows},
                                        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
