"""Command line: ``python -m gan_core presets | info | train | sample | eval | train-classifier``."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .checkpoint import load_trainer
from .config import TrainConfig
from .errors import DivergenceError, GanCoreError
from .models import model_info
from .presets import PRESETS, describe, preset
from .render import png_bytes, samples_picture

REAL_POINTS = 2000      # real points drawn faintly behind a toy's samples


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _use_threads(getattr(args, "threads", None))
    try:
        return args.run(args)
    except (GanCoreError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_core", description="GAN Playground engine")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("presets", help="list the presets, one a line")
    p.set_defaults(run=cmd_presets)

    p = sub.add_parser("info", help="parameter counts and a layer-by-layer table")
    _config_args(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(run=cmd_info)

    p = sub.add_parser("train", help="train a preset and save a checkpoint")
    _config_args(p)
    p.add_argument("--steps", type=at_least(1), help="iterations to run (default: the preset's own length)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--resume", type=Path, help="continue from this checkpoint instead of a preset")
    p.add_argument("--out", type=Path, required=True, help="checkpoint file to write")
    _threads_arg(p)
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("sample", help="generate samples from a checkpoint")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--n", type=at_least(1), default=64, help="how many samples")
    p.add_argument("--seed", type=at_least(0), default=0, help="seed of the latent vectors")
    p.add_argument("--out", type=Path, required=True, help=".png picture or .npz array 'samples'")
    _threads_arg(p)
    p.set_defaults(run=cmd_sample)

    p = sub.add_parser("eval", help="evaluate a checkpoint on held-out data")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--n", type=at_least(2), default=2500, help="samples to score")
    p.add_argument("--json", action="store_true")
    _threads_arg(p)
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("train-classifier", help="train the digit classifier behind the digit metrics")
    p.add_argument("--dataset", default="mnist", choices=("mnist", "mnist-offline"),
                   help="mnist downloads the full set when it can, else uses the offline digits")
    p.add_argument("--epochs", type=at_least(1), default=8, help="passes over the training digits")
    p.add_argument("--out", type=Path, default=Path("checkpoints/digit_classifier.pt"),
                   help="file to write; its figures go into index.json beside it")
    p.set_defaults(run=cmd_train_classifier)
    return parser


def _use_threads(requested: int | None) -> None:
    """torch's thread count for this command (``cli_threads``): its default of one thread per core
    leaves no core for anything else, and on a 2-core machine with one core busy a toy run then
    crawls at a fraction of a step per second."""
    import torch

    from .threads import cli_threads
    torch.set_num_threads(cli_threads(requested))


def _threads_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=at_least(1),
                   help="CPU threads for torch (default: OMP_NUM_THREADS if set, else all cores but one)")


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``low``, else argparse's one-line usage error
    (a 0 or negative count would crash deep inside, or be mistaken for 'not given')."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is less than {low}")
        return value
    return parse


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="dcgan-small", help=f"one of: {', '.join(PRESETS)}")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set lr_g=1e-4 (repeatable)")


def _config(args: argparse.Namespace) -> TrainConfig:
    return preset(args.preset).with_overrides(args.set)


def cmd_presets(_args: argparse.Namespace) -> int:
    width = max(map(len, PRESETS))
    for name in PRESETS:
        print(f"{name:<{width}}  {describe(name)}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    info = model_info(_config(args))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for which in ("generator", "discriminator"):
        print(f"{which.capitalize()}: {info[f'{which}_params']:,} parameters")
        print(f"  {'layer':<8}{'type':<18}{'output shape':<20}{'params':>10}")
        for row in info[f"{which}_layers"]:
            shape = "x".join(map(str, row["output_shape"]))
            print(f"  {row['layer']:<8}{row['type']:<18}{shape:<20}{row['params']:>10,}")
        print()
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .trainer import Trainer
    if args.resume:
        trainer = load_trainer(args.resume, device=args.device)
        trainer.apply_changes(**_overrides_as_changes(trainer.config, args.set))
    else:
        config = _config(args)
        trainer = Trainer(config.replace(device=args.device) if args.device else config)
    # A resumed run goes on to its planned length (config.steps), not a second full length.
    planned = trainer.config.steps - (trainer.step_count if args.resume else 0)
    steps = planned if args.steps is None else args.steps
    if steps < 1:
        print(f"error: the run is already at step {trainer.step_count} of its planned "
              f"{trainer.config.steps}; pass --steps N to train further.", file=sys.stderr)
        return 2
    if trainer.data.note:
        print(trainer.data.note, file=sys.stderr)
    print(f"training {args.preset if not args.resume else args.resume} on {trainer.device} "
          f"for {steps} steps", file=sys.stderr)
    started = time.perf_counter()
    status, shown = 0, 0
    with tqdm(total=steps, unit="step", dynamic_ncols=True) as bar:
        try:
            for _ in range(steps):
                trainer.step()
                bar.update(1)
                if len(trainer.history) != shown:   # a flush happened: fresh losses to show
                    shown = len(trainer.history)
                    bar.set_postfix(loss_d=f"{trainer.history.loss_d[-1]:.3f}",
                                    loss_g=f"{trainer.history.loss_g[-1]:.3f}")
            trainer.flush()
        except DivergenceError as exc:
            print(f"\nerror: {exc}", file=sys.stderr)
            status = 1
    elapsed = time.perf_counter() - started
    trainer.save(args.out)
    print(f"saved {args.out} at step {trainer.step_count} "
          f"({bar.n / elapsed:.1f} steps/s over {elapsed:.1f} s)", file=sys.stderr)
    return status


def _overrides_as_changes(config: TrainConfig, assignments: list[str]) -> dict:
    changed = config.with_overrides(assignments).to_dict()
    return {k: v for k, v in changed.items() if v != getattr(config, k)}


def cmd_sample(args: argparse.Namespace) -> int:
    from .latent import LatentModel
    model = LatentModel.load(args.checkpoint)
    samples = model.generate(model.z_from_seed(args.seed, args.n))   # the Latent explorer's z
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix == ".npz":
        np.savez_compressed(args.out, samples=samples.numpy())
    elif args.out.suffix == ".png":
        args.out.write_bytes(png_bytes(_picture(samples, model.config)))
    else:
        print("error: --out must end in .png or .npz", file=sys.stderr)
        return 2
    print(f"wrote {args.n} samples to {args.out}", file=sys.stderr)
    return 0


def _picture(samples, config: TrainConfig) -> np.ndarray:
    """Digits as a grid, patterns as a strip, 2D points as a scatter plot with axes over the
    real data (drawn faintly: where G should be)."""
    from .data import load_dataset
    real = load_dataset(config).held_out[:REAL_POINTS] if config.data_kind == "points" else None
    return samples_picture(samples, config.data_kind, real)


def cmd_eval(args: argparse.Namespace) -> int:
    from .metrics import format_value, quality_metrics
    trainer = load_trainer(args.checkpoint, device="cpu")
    result = {"checkpoint": str(args.checkpoint), "step": trainer.step_count,
              **{f"heldout_{k}": v for k, v in trainer.evaluate(args.n).items() if k != "step"}}
    metrics = quality_metrics(trainer, args.n)
    if args.json:
        print(json.dumps({**result, "metrics": metrics}, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:<24}{value:.4f}" if isinstance(value, float) else f"{key:<24}{value}")
        for name, metric in metrics.items():
            print(f"{name:<36}{format_value(metric['value'])}\n    {metric['help']}")
    return 0


def cmd_train_classifier(args: argparse.Namespace) -> int:
    from .classifier import save_classifier, train_classifier
    model, meta = train_classifier(args.dataset, args.epochs, log=lambda msg: print(msg, file=sys.stderr))
    path = save_classifier(model, meta, args.out)
    print(f"saved {path}: held-out accuracy {meta['held_out_accuracy']:.2%} on "
          f"{meta['held_out_size']:,} {meta['trained_on']} digits", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
