"""The shipped checkpoints: rebuild them all with ``python -m gan_core.ship`` (or name some).

Each model is made by one ordinary CLI command (``python -m gan_core train ...``), run here in a
subprocess so the command written into ``checkpoints/index.json`` is exactly what ran.  The index
also records the config, steps, wall-clock training time, device, torch version and held-out
D(x) / D(G(z)) from ``python -m gan_core eval --json``.  Training runs single-threaded
(OMP_NUM_THREADS=1): on a small, shared CPU, torch's thread pool spends more time waiting for
busy cores than computing.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from .checkpoint import read_checkpoint
from .errors import GanCoreError
from .paths import CHECKPOINTS

INDEX = CHECKPOINTS / "index.json"
REBUILD = "python -m gan_core.ship"
THREADS = "1"
# Samples in each README grid: 64 digits; points need more to show a distribution, patterns fewer.
GRID_SAMPLES = {"toy-ring": 512, "pattern-1010": 16}

# Fields every index entry must have, as non-empty text: what the pages read.
ENTRY_FIELDS = ("name", "title", "file")

# Name (= preset = file stem) -> (title shown in the app, extra CLI arguments).
SHIPPED: dict[str, tuple[str, list[str]]] = {
    "dcgan-small": ("DCGAN on MNIST digits (dcgan-small)", []),
    "seed-000-vanilla": ("MLP GAN on MNIST digits (seed 000)", ["--steps", "15000"]),
    "toy-ring": ("2D toy: ring of 8 Gaussians (toy-ring)", []),
    "pattern-1010": ("Pattern GAN '1010' (seed 002's game, learnable: pattern-1010)", []),
}


def train_command(name: str) -> list[str]:
    """The CLI command that makes ``checkpoints/NAME.pt``."""
    return ["python", "-m", "gan_core", "train", "--preset", name, *SHIPPED[name][1],
            "--out", f"checkpoints/{name}.pt"]


def build(name: str) -> dict:
    """Train one shipped model with its command, draw its grid, and return its index entry."""
    command = train_command(name)
    started = time.perf_counter()
    _cli(command[3:])
    seconds = time.perf_counter() - started
    path = CHECKPOINTS / f"{name}.pt"
    state = read_checkpoint(path)
    grid = f"docs/images/{name}.png"   # the README's picture of what the model makes
    _cli(["sample", str(path), "--n", str(GRID_SAMPLES.get(name, 64)), "--out", grid])
    return {"name": name, "title": SHIPPED[name][0], "file": path.name, "preset": name,
            "command": f"OMP_NUM_THREADS={THREADS} " + " ".join(command),
            "config": state["config"].to_dict(), "steps": int(state["step"]),
            "train_seconds": round(seconds, 1), "device": "cpu", "cpu": cpu_name(),
            "threads": int(THREADS), "torch": torch.__version__,
            "size_bytes": path.stat().st_size, "grid": grid, "metrics": _metrics(path)}


def _metrics(path: Path) -> dict:
    """Held-out D(x) / D(G(z)) and the quality metrics, as ``python -m gan_core eval`` gives them."""
    report = json.loads(_cli(["eval", str(path), "--json"], capture=True))
    held_out = {k: v for k, v in report.items() if k.startswith("heldout_")}
    return {**held_out, **{k: m["value"] for k, m in report.get("metrics", {}).items()}}


def _cli(args: list[str], capture: bool = False) -> str:
    """Run ``python -m gan_core ARGS`` single-threaded in the repository root."""
    done = subprocess.run([sys.executable, "-m", "gan_core", *args], cwd=CHECKPOINTS.parent,
                          env={**os.environ, "OMP_NUM_THREADS": THREADS}, check=True,
                          capture_output=capture, text=True)
    return done.stdout if capture else ""


class ShippedIndexError(GanCoreError):
    """``checkpoints/index.json`` is damaged: a page says so and goes on without shipped models."""


def read_index(index: Path = INDEX) -> list[dict]:
    """The shipped models listed in ``index`` (empty when there is none).  Raises
    ShippedIndexError when the file is not valid JSON or an entry lacks a field the pages read."""
    if not index.is_file():
        return []
    try:
        entries = json.loads(index.read_text())["checkpoints"]
    except (OSError, ValueError, KeyError, TypeError):   # ValueError: bad JSON or UTF-8
        raise ShippedIndexError(f"The list of shipped models ({index.name}) is damaged: "
                                f"rebuild it with `{REBUILD}`.") from None
    if not isinstance(entries, list):
        raise ShippedIndexError(f"The list of shipped models ({index.name}) holds no list of models.")
    for position, entry in enumerate(entries, 1):
        _check_entry(entry, position, index.name)
    return entries


def _check_entry(entry: object, position: int, index_name: str) -> None:
    """An entry must give the fields the pages read, and a bare file name: a path there would let
    the index point a page at any file on the server."""
    if not isinstance(entry, dict):
        raise ShippedIndexError(f"Entry {position} of {index_name} is not a dictionary.")
    bad = next((f for f in ENTRY_FIELDS if not isinstance(entry.get(f), str) or not entry[f]), None)
    if bad is not None:
        raise ShippedIndexError(f"Entry {position} of {index_name} lacks a valid '{bad}'.")
    if Path(entry["file"]).name != entry["file"] or entry["file"] in (".", ".."):
        raise ShippedIndexError(f"Entry {position} of {index_name} names a file outside its folder.")


def write_index(entries: list[dict]) -> None:
    # Keep the other top-level keys (e.g. "classifier", written by `train-classifier`).
    others = json.loads(INDEX.read_text()) if INDEX.is_file() else {}
    INDEX.write_text(json.dumps({**others, "rebuild": REBUILD, "checkpoints": entries}, indent=2) + "\n")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(SHIPPED)
    unknown = [n for n in names if n not in SHIPPED]
    if unknown:
        print(f"error: unknown shipped model {unknown[0]!r}; choose from {', '.join(SHIPPED)}",
              file=sys.stderr)
        return 2
    for name in names:
        entry = build(name)
        # Re-read before writing: keeps finished work, and lets two builds run side by side.
        entries = {e["name"]: e for e in read_index()} | {name: entry}
        write_index([entries[n] for n in SHIPPED if n in entries])
    return 0


if __name__ == "__main__":
    sys.exit(main())
