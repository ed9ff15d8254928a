"""Server-side latency of the latent explorer's sliders: slider value -> z -> G -> PNG bytes.

    python bench/latency_latent.py [CHECKPOINT ...] [--repeats N]

Measures exactly what the page runs when a slider moves (``gan_core.latent.frame_png`` on a z that
changes every time), after one warm-up call, and prints one JSON object per checkpoint.  With no
checkpoint it measures the shipped MLP and DCGAN digits models.  Browser round-trip and
Streamlit's own rerun overhead are not included.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from gan_core.latent import LatentModel, frame_png  # noqa: E402
from gan_core.paths import CHECKPOINTS  # noqa: E402
from gan_core.ship import read_index  # noqa: E402

# The shipped digit models (MLP and DCGAN): the ones whose sliders must feel instant.
DEFAULT = [CHECKPOINTS / e["file"] for e in read_index() if e["config"]["dataset"] == "mnist-offline"]


def measure_slider_latency(checkpoint_path: str | Path, repeats: int = 100) -> dict:
    """Median, 95th percentile and max milliseconds from a new z to the PNG bytes of G(z)."""
    model = LatentModel.load(checkpoint_path)
    z = model.z_from_seed(0)[0]
    frame_png(model, z, scale=10)                     # warm-up: first-call allocations
    times = []
    for i in range(repeats):
        z[i % min(model.dim, 6)] += 0.01              # a slider step: one entry moves
        start = time.perf_counter()
        frame_png(model, z, scale=10)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"checkpoint": str(checkpoint_path), "arch": model.config.arch, "repeats": repeats,
            "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(percentile(times, 0.95), 2), "max_ms": round(times[-1], 2),
            "torch_threads": torch.get_num_threads()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args(argv)
    for path in args.checkpoints:
        print(json.dumps(measure_slider_latency(path, args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
