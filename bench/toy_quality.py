"""Toy quality benchmark: train a recipe over several seeds and score it with PacGAN's protocol.

    python -m bench.toy_quality                                     # the toy recipes, 5 seeds each
    python -m bench.toy_quality --recipes toy-ring-sharp toy-ring-collapse --seeds 5
    python -m bench.toy_quality --recipes toy-grid --seeds 2 --steps 200 --json out.json

Each seed trains the preset (with that seed) for its own number of steps on the CPU and scores
2,500 samples with ``gan_core.metrics.mode_metrics``: modes covered, % high-quality samples and
reverse KL.  The summary gives mean +- standard error over the seeds, then the published figures
for the same mixture: PacGAN (Lin et al. 2018; 2,500 samples, the same three metrics) and VEEGAN
(Srivastava et al. 2017, Table 1, with Unrolled GAN; modes and % high quality).

Runs use one torch thread by default: the toy nets are small, and on a shared 2-core machine two
threads that wait for each other run several times slower than one.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from gan_core.errors import DivergenceError
from gan_core.metrics import TOY_SAMPLES, mode_metrics
from gan_core.presets import PRESETS, preset
from gan_core.trainer import Trainer

RECIPES = ("toy-ring-sharp", "toy-grid-sharp", "toy-ring-collapse")
# (method, runs, modes, % high quality, reverse KL or None), 2,500 samples each.  PacGAN (Lin et
# al. 2018) reports all three figures; VEEGAN (Srivastava et al. 2017, Table 1, whose protocol
# PacGAN adopted) reports modes and % high quality only.
PUBLISHED: dict[str, list[tuple[str, int, float, float, float | None]]] = {
    "ring": [("GAN (PacGAN's runs)", 10, 6.3, 98.2, 0.45), ("PacGAN2", 10, 7.9, 95.6, 0.07),
             ("GAN (VEEGAN's runs)", 5, 1.0, 99.3, None), ("Unrolled GAN", 5, 7.6, 35.6, None),
             ("VEEGAN", 5, 8.0, 52.9, None)],
    "grid": [("GAN (PacGAN's runs)", 10, 17.3, 94.8, 0.70), ("PacGAN4", 10, 24.8, 93.6, 0.04),
             ("GAN (VEEGAN's runs)", 5, 3.3, 0.5, None), ("Unrolled GAN", 5, 23.6, 16.0, None),
             ("VEEGAN", 5, 24.6, 40.0, None)],
}
FIGURES = ("modes", "high_quality", "reverse_kl")


def train_seed(name: str, seed: int, steps: int | None) -> tuple[Trainer, float, str]:
    """Train ``name`` with ``seed`` headless on the CPU: (trainer, seconds, why it stopped early).
    A diverged run is kept where it rolled back, so it can still be scored."""
    config = preset(name, seed=seed, device="cpu", **({"steps": steps} if steps else {}))
    trainer = Trainer(config)
    started, note = time.perf_counter(), ""
    try:
        for _ in range(config.steps):
            trainer.step()
        trainer.flush()
    except DivergenceError as exc:
        note = str(exc)
    return trainer, time.perf_counter() - started, note


def run_seed(name: str, seed: int, steps: int | None) -> dict:
    """Train ``name`` with ``seed`` and score it."""
    trainer, seconds, note = train_seed(name, seed, steps)
    config = trainer.config
    scores = mode_metrics(trainer.sample(TOY_SAMPLES, seed=10_000 + seed), config.dataset)
    return {"recipe": name, "dataset": config.dataset, "seed": seed, "steps": trainer.step_count,
            "seconds": round(seconds, 1),
            **scores, "note": note}


def summarise(rows: list[dict]) -> dict:
    """Mean and standard error (sample std / sqrt(n)) of each figure over the seeds."""
    out = {"recipe": rows[0]["recipe"], "dataset": rows[0]["dataset"], "seeds": len(rows),
           "total_modes": rows[0]["total_modes"], "steps": rows[0]["steps"],
           "seconds_per_seed": round(statistics.fmean(r["seconds"] for r in rows), 1)}
    for key in FIGURES:
        values = [float(r[key]) for r in rows]
        se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
        out[key] = (statistics.fmean(values), se)
    return out


def table(summaries: list[dict]) -> str:
    """A markdown table: our recipes, then the published rows for the mixtures they train on."""
    lines = ["| mixture | method | seeds | steps | modes | high quality % | reverse KL | s/seed |",
             "|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        m, hq, kl = (s[k] for k in FIGURES)
        lines.append(f"| {s['dataset']} | {s['recipe']} (ours) | {s['seeds']} | {s['steps']:,} | "
                     f"{m[0]:.1f} ± {m[1]:.1f} / {s['total_modes']} | {hq[0]:.1f} ± {hq[1]:.1f} | "
                     f"{kl[0]:.3f} ± {kl[1]:.3f} | {s['seconds_per_seed']:.0f} |")
    for dataset in dict.fromkeys(s["dataset"] for s in summaries):
        for method, runs, modes, hq, kl in PUBLISHED.get(dataset, []):
            lines.append(f"| {dataset} | {method} (published) | {runs} | | {modes} | {hq} | "
                         f"{'—' if kl is None else kl} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.toy_quality", description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), help="presets to train (ring or grid)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once, in separate processes")
    parser.add_argument("--steps", type=int, help="override each recipe's own number of steps")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--json", type=Path, help="also write every seed's figures here")
    args = parser.parse_args(argv)
    bad = [r for r in args.recipes if r not in PRESETS or PRESETS[r][1].get("dataset") not in PUBLISHED]
    if bad or args.seeds < 1:
        print(f"error: {bad[0]!r} is not a ring or grid preset" if bad else "error: --seeds must be >= 1",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    jobs = [(name, seed, args.steps) for name in args.recipes for seed in range(args.seeds)]
    with ProcessPoolExecutor(args.jobs, initializer=torch.set_num_threads,
                             initargs=(args.threads,)) as pool:
        rows = list(pool.map(run_seed, *zip(*jobs)))
    for row in rows:
        print(f"{row['recipe']} seed {row['seed']}: {row['modes']}/{row['total_modes']} modes, "
              f"{row['high_quality']:.1f}% high quality, reverse KL {row['reverse_kl']:.3f} "
              f"({row['steps']} steps, {row['seconds']:.0f} s){' ' + row['note'] if row['note'] else ''}",
              file=sys.stderr)
    summaries = [summarise([r for r in rows if r["recipe"] == name]) for name in args.recipes]
    print(table(summaries))
    if args.json:
        args.json.write_text(json.dumps({"seeds": rows, "summaries": summaries}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
