"""Pattern benchmark: in how many seeds does a preset learn seed 002's '1010' pattern?

    python -m bench.pattern_seeds                                  # pattern-1010, seeds 0-9
    python -m bench.pattern_seeds --preset seed-002-pattern --steps 10000 --seeds 3

Each seed trains the preset (with that seed) headless on the CPU for its own number of steps, then
averages 200 samples slot by slot (``gan_core.metrics.pattern_score``): learned = every high slot's mean
>= 0.75 and every low slot's mean <= 0.25.  Prints one row per seed and the count.  One torch
thread: the pattern nets are tiny, and a second thread only waits.
"""
from __future__ import annotations

import argparse
import sys

import torch

from bench.toy_quality import train_seed
from gan_core.metrics import trainer_pattern_score


def run_seed(name: str, seed: int, steps: int | None) -> dict:
    """Train ``name`` with ``seed`` and score its pattern (a diverged run where it rolled back)."""
    trainer, seconds, note = train_seed(name, seed, steps)
    return {"seed": seed, "steps": trainer.step_count, "seconds": round(seconds, 1),
            **trainer_pattern_score(trainer), "note": note}


def table(rows: list[dict]) -> str:
    """A markdown table, one row per seed, and the count of seeds that learned the pattern."""
    lines = ["| seed | steps | slot means (high, low, high, low, high, low) | learned | s |",
             "|---:|---:|---|---|---:|"]
    for r in rows:
        means = ", ".join(f"{m:.2f}" for m in r["slot_means"])
        lines.append(f"| {r['seed']} | {r['steps']:,} | {means} | {'yes' if r['learned'] else 'no'}"
                     f"{' (' + r['note'] + ')' if r['note'] else ''} | {r['seconds']} |")
    learned = sum(r["learned"] for r in rows)
    return "\n".join(lines) + f"\n\nlearned in {learned} of {len(rows)} seeds"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pattern_seeds", description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="pattern-1010")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. N-1")
    parser.add_argument("--steps", type=int, help="steps per seed (default: the preset's own)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for seed in range(args.seeds):
        rows.append(run_seed(args.preset, seed, args.steps))
        print(f"seed {seed}: {rows[-1]['slot_means']} learned={rows[-1]['learned']}", file=sys.stderr)
    print(f"{args.preset}, {rows[0]['steps']:,} steps, {torch.__version__}, CPU, 1 thread\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
