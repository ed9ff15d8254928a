"""The latent space of a trained generator: points, paths through it, and what G makes of them.

Everything here is plain tensors in, tensors (or pictures) out, so the latent page, its tests and
the latency benchmark share one implementation:
- ``LatentModel``: G plus its config, with z-from-seed and batched generation on the CPU;
- ``lerp`` / ``slerp`` and ``random_walk``: paths between and around latent points;
- ``principal_directions``: directions in z that move G's output along its main modes of variation;
- ``nearest_neighbours``: the real samples closest to a generated one (does G copy?);
- ``latent_grid``: lines of a z grid, to draw how G folds the noise plane (2D toys);
- ``frame_png``: z -> G -> the picture a slider shows (``render`` draws every picture).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from .checkpoint import load_generator
from .config import TrainConfig
from .data import DataError
from .noise import from_gaussian, noise_range, noise_spread, sample_noise
from .render import frame_picture, png_bytes

# Below this sine of their angle two latent vectors count as (anti)parallel: slerp falls back to lerp.
PARALLEL_SINE = 1e-3
# Batches up to this size are generated on one thread (see one_thread).
SMALL_BATCH = 16


# ---------------------------------------------------------------------------------- the model
@dataclass(frozen=True, eq=False)
class LatentModel:
    """A generator ready to explore: eval mode, CPU, no optimiser or discriminator in memory."""

    generator: nn.Module
    config: TrainConfig
    step: int

    @classmethod
    def load(cls, source: str | Path | bytes, *, overrides: dict[str, Any] | None = None,
             limit_bytes: int | None = None) -> "LatentModel":
        """From a checkpoint path or its bytes, checked first (see ``inspect_checkpoint`` for
        ``overrides`` and ``limit_bytes``); raises CheckpointError for a bad file."""
        generator, config, state = load_generator(source, overrides=overrides, limit_bytes=limit_bytes)
        generator.requires_grad_(False)
        return cls(generator, config, state["step"])

    @property
    def dim(self) -> int:
        return self.config.latent_dim

    @property
    def kind(self) -> str:
        return self.config.data_kind

    def z_from_seed(self, seed: int, n: int = 1) -> torch.Tensor:
        """(n, dim) z drawn from the training noise with its own RNG: same seed, same z."""
        c = self.config
        return sample_noise(c.noise, n, c.latent_dim, generator=torch.Generator().manual_seed(seed),
                            device="cpu", constant=c.noise_constant)

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) in data space for a (n, dim) or (dim,) z; always a batch (n, *sample_shape).
        A few samples (a slider's frame) run on one thread, see ``one_thread``."""
        z = z.reshape(-1, self.dim).float()
        if len(z) > SMALL_BATCH:
            return self.generator(z)
        with one_thread():
            return self.generator(z)

    def z_range(self) -> tuple[float, float]:
        """Where one z entry lives during training: the natural span of a slider over it."""
        return noise_range(self.config.noise, self.config.noise_constant)

    def z_spread(self) -> float:
        return noise_spread(self.config.noise)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread inside (as a ``with`` block or a decorator).

    For one sample, splitting each small op across cores gains nothing, and on a busy CPU every op
    then waits for a second core to wake: a DCGAN slider frame took ~120 ms instead of ~10 ms
    (bench/latency_latent.py).  torch's intra-op thread count belongs to the calling thread, so a
    training run on another thread keeps its own.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------- paths
def _weights(t: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """t as a (T, 1) column (T = 1 for a scalar) in ``like``'s dtype."""
    return torch.as_tensor(t, dtype=like.dtype).reshape(-1, 1)


def _shape_like(frames: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """(T, dim) frames, or one (dim,) vector when t was a scalar."""
    return frames[0] if torch.as_tensor(t).ndim == 0 else frames


def lerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Straight line a -> b: (dim,) for a scalar t, (T, dim) for a 1-D t."""
    w = _weights(t, a)
    return _shape_like(a + w * (b - a), t)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Great-circle path a -> b: the direction turns at constant speed and the norm moves linearly
    from |a| to |b|.

    Why: two independent N(0, I) vectors in 100 dimensions both have norm ~10, but their midpoint
    has norm ~7, a z that G almost never saw in training; slerp keeps every frame at a typical
    radius.  For (anti)parallel vectors the great circle is not defined, and lerp is returned.
    """
    norm_a, norm_b = a.norm(), b.norm()
    if min(norm_a, norm_b) == 0:
        return lerp(a, b, t)
    unit_a, unit_b = a / norm_a, b / norm_b
    omega = torch.arccos(torch.dot(unit_a, unit_b).clamp(-1, 1))
    if torch.sin(omega) < PARALLEL_SINE:
        return lerp(a, b, t)
    w = _weights(t, a)
    direction = (torch.sin((1 - w) * omega) * unit_a + torch.sin(w * omega) * unit_b) / torch.sin(omega)
    return _shape_like(direction * (norm_a + w * (norm_b - norm_a)), t)


INTERPOLATIONS = {"linear": lerp, "spherical": slerp}


def interpolate(a: torch.Tensor, b: torch.Tensor, frames: int, mode: str = "spherical") -> torch.Tensor:
    """``frames`` evenly spaced latent points from a to b inclusive, (frames, dim)."""
    return INTERPOLATIONS[mode](a, b, torch.linspace(0, 1, frames))


def random_walk(config: TrainConfig, frames: int, seed: int, step: float = 0.3) -> torch.Tensor:
    """A smooth, reproducible walk through z of ``frames`` points, (frames, dim).

    An Ornstein-Uhlenbeck walk g' = sqrt(1 - s^2) g + s e keeps every frame an exact N(0, I) draw
    (a plain random walk drifts outwards to z that G never saw); for uniform noise the walk is
    mapped through the normal CDF, so every frame is uniform too.  ``step`` in (0, 1] is how far
    one frame moves: 1 makes frames independent.
    """
    rng = torch.Generator().manual_seed(seed)
    steps = torch.randn(frames, config.latent_dim, generator=rng)
    keep = math.sqrt(1 - step ** 2)
    walk = [steps[0]]
    for e in steps[1:]:
        walk.append(keep * walk[-1] + step * e)
    return from_gaussian(torch.stack(walk), config.noise, config.noise_constant)


# ---------------------------------------------------------------------------------- directions
@dataclass(frozen=True)
class Directions:
    """Orthonormal latent directions (k, dim), strongest first, and the share of G's output
    variance (over the sampled z) that the output component behind each one explains."""

    vectors: torch.Tensor
    explained: torch.Tensor


@torch.no_grad()
def principal_directions(model: LatentModel, k: int = 4, samples: int = 2000, seed: int = 0) -> Directions:
    """Latent directions that move G's output along its main modes of variation.

    PCA of ``samples`` generated outputs gives the output components that vary most (for digits:
    which digit, stroke width, slant); a linear regression of each component's score on z maps it
    back to the z direction that predicts it best (for normal z that regression vector is the
    average gradient of the score, by Stein's lemma).  QR makes the directions orthonormal, keeping
    each one's sign.  Signs follow the output component: a positive step adds ink (raises the sum
    of the component's pixels).
    """
    k = min(k, model.dim)
    z = model.z_from_seed(seed, samples)
    flat = model.generate(z).reshape(samples, -1)
    flat = flat - flat.mean(0)
    with torch.random.fork_rng(devices=[]):   # the randomised SVD draws from the global RNG
        torch.manual_seed(seed)
        _, s, v = torch.svd_lowrank(flat, q=min(k + 8, *flat.shape), niter=4)
    v = v[:, :k] * torch.where(v[:, :k].sum(0) < 0, -1.0, 1.0)
    scores = (flat @ v).double()
    centred = z.double() - z.double().mean(0)
    coefficients = torch.linalg.lstsq(centred, scores).solution            # (dim, k)
    q, r = torch.linalg.qr(coefficients)
    q = q * torch.where(torch.diagonal(r) < 0, -1.0, 1.0).to(q.dtype)
    explained = s[:k] ** 2 / flat.square().sum().clamp_min(1e-12)
    return Directions(q.T.float().contiguous(), explained.float())


# ---------------------------------------------------------------------------------- memorisation
def nearest_neighbours(samples: torch.Tensor, data: torch.Tensor, k: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """For each of n samples, the k closest rows of ``data`` by L2 distance over all values
    (pixels for images): (indices (n, k), distances (n, k)), closest first.

    A fast matrix-product distance picks the candidates; their distances are then computed
    exactly, so a training image finds itself at distance 0 rather than at rounding noise.
    """
    flat_samples = samples.reshape(len(samples), -1).float()
    flat_data = data.reshape(len(data), -1).float()
    k = min(k, len(data))
    candidates = torch.cdist(flat_samples, flat_data).topk(k, dim=1, largest=False).indices
    exact = (flat_data[candidates] - flat_samples[:, None]).norm(dim=-1)
    distances, order = exact.sort(dim=1)
    return candidates.gather(1, order), distances


def typical_real_distance(train: torch.Tensor, held_out: torch.Tensor, limit: int = 1000) -> float:
    """Median distance from a held-out real sample to its nearest training sample: the yardstick
    for a generated sample's nearest distance (far below it hints at copying).  Raises DataError
    when it is 0 (a folder of one image, or of copies): nothing could be compared with it."""
    _, distances = nearest_neighbours(held_out[:limit], train, k=1)
    typical = float(distances.median()) if distances.numel() else 0.0
    if typical == 0:
        raise DataError(f"The {len(train) + len(held_out)} real images are too few or too alike to "
                        "tell a copy from a new image: most held-out images have an exact twin "
                        "among the training images.")
    return typical


# ---------------------------------------------------------------------------------- 2D toys
def latent_grid(low: float = -3.0, high: float = 3.0, lines: int = 13, points: int = 60) -> torch.Tensor:
    """Lines of a square z grid on [low, high]^2: (2 * lines, points, 2), the vertical lines
    first.  Mapped through a 2D G, they show how G stretches and folds the noise plane."""
    ticks = torch.linspace(low, high, lines)
    along = torch.linspace(low, high, points)
    vertical = torch.stack([ticks[:, None].expand(lines, points), along.expand(lines, points)], -1)
    return torch.cat([vertical, vertical.flip(-1)])


# ---------------------------------------------------------------------------------- pictures
@one_thread()
def frame_png(model: LatentModel, z: torch.Tensor, scale: int = 8) -> bytes:
    """z -> G -> PNG bytes: the whole server-side path from a slider value to a new picture."""
    return png_bytes(frame_picture(model.generate(z), model.kind, scale), compress_level=1)
