"""How soon after Play does the quality panel show a figure of the trained model?

    python -m bench.first_figures                       # every preset
    python -m bench.first_figures --presets toy-ring    # the smoke test's

Each preset runs as the app runs it (a RunProcess, its own child process, the app's refresh): it
loads, Play is sent, and the clock runs until a snapshot's quality figures were measured after
step 0.  Prints the seconds and the step they were measured at; presets without a quality
measure (the pattern GAN) say so.
"""
from __future__ import annotations

import argparse
import time

from gan_core.presets import PRESETS, preset
from gan_core.run_process import RunProcess
from gan_core.runner import Snapshot

WAIT = 180.0
STEP = "measured at step"


def measured_step(snap: Snapshot) -> int:
    entry = snap.metrics.get(STEP)
    return int(entry["value"]) if entry else -1


def seconds_to_first_figures(name: str) -> tuple[float, int] | None:
    """(seconds from Play, step measured at), or None when the preset has no quality measure."""
    run = RunProcess(preset(name, device="cpu"), refresh_seconds=0.5)
    try:
        loaded = run.wait_for(lambda s: s.status == "paused" and s.metrics, WAIT)
        if STEP not in loaded.metrics:
            return None
        started = time.perf_counter()
        run.play()
        shown = run.wait_for(lambda s: measured_step(s) > 0, WAIT)
        return time.perf_counter() - started, measured_step(shown)
    finally:
        run.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_figures", description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    args = parser.parse_args(argv)
    print("| preset | seconds from Play | measured at step |\n|---|---:|---:|", flush=True)
    for name in args.presets:
        result = seconds_to_first_figures(name)
        print(f"| {name} | " + ("no quality measure | – |" if result is None else f"{result[0]:.1f} | {result[1]:,} |"),
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
