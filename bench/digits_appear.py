"""How long until a digit preset draws digits?  Trains headless and checks every few hundred steps.

    python -m bench.digits_appear                                  # seed-001-mlp, until 5 classes
    python -m bench.digits_appear --preset seed-000-vanilla --classes 8 --every 250

Every ``--every`` steps it scores 1,000 samples with the digit classifier (``gan_core.metrics``)
and prints the step, the training time so far (scoring time left out), classes covered and the
last recorded D(x) / D(G(z)).  Stops at the first check with at least ``--classes`` classes
covered, or at ``--max-steps``.  One torch thread, as the app's runs on a small CPU.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from gan_core.metrics import DIGIT_SAMPLES, digit_metrics
from gan_core.presets import preset
from gan_core.trainer import Trainer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.digits_appear", description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="seed-001-mlp")
    parser.add_argument("--seed", type=int, help="training seed (default: the preset's)")
    parser.add_argument("--classes", type=int, default=5, help="classes covered that count as digits")
    parser.add_argument("--every", type=int, default=500, help="steps between two checks")
    parser.add_argument("--max-steps", type=int, default=30_000)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    config = preset(args.preset, device="cpu", **({"seed": args.seed} if args.seed is not None else {}))
    trainer = Trainer(config)
    held_out = trainer.data.held_out[:1000]
    print(f"{args.preset}, torch {torch.__version__}, CPU, 1 thread", flush=True)
    print("| step | train s | classes covered | D(x) | D(G(z)) |\n|---:|---:|---:|---:|---:|", flush=True)
    trained = 0.0
    while trainer.step_count < args.max_steps:
        started = time.perf_counter()
        for _ in range(args.every):
            trainer.step()
        trainer.flush()
        trained += time.perf_counter() - started
        covered = digit_metrics(trainer.sample(DIGIT_SAMPLES), held_out)["classes_covered"]
        h = trainer.history
        print(f"| {trainer.step_count:,} | {trained:.0f} | {covered} | {h.d_real[-1]:.3f} | "
              f"{h.d_fake[-1]:.3f} |", flush=True)
        if covered >= args.classes:
            print(f"\n{args.classes}+ classes at step {trainer.step_count:,} after {trained / 60:.1f} min "
                  "of training", flush=True)
            return 0
    print(f"\nfewer than {args.classes} classes after {args.max_steps:,} steps", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
