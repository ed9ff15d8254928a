"""Noise distributions for G's input z: one sampler, four shapes of randomness, and what each
shape means for a latent slider or a walk through z."""
from __future__ import annotations

import math
from statistics import NormalDist

import torch


def sample_noise(kind: str, n: int, dim: int, *, generator: torch.Generator,
                 device: torch.device | str, constant: float = 0.5) -> torch.Tensor:
    """Draw an (n, dim) batch of z on ``device`` from ``generator``.

    Always 2D: a convolutional G reshapes z to (n, dim, 1, 1) itself, so one sampler serves every
    architecture and a latent vector means the same thing on every page.
    """
    if kind == "constant":
        return torch.full((n, dim), float(constant), device=device)
    if kind == "normal":
        return torch.randn(n, dim, generator=generator, device=device)
    z = torch.rand(n, dim, generator=generator, device=device)
    if kind == "uniform01":
        return z
    if kind == "uniform_pm1":
        return z.mul_(2).sub_(1)
    raise ValueError(f"unknown noise distribution {kind!r}")


def noise_range(kind: str, constant: float = 0.5) -> tuple[float, float]:
    """The interval holding (almost) every z entry of ``kind`` noise: +-3 sigma for the normal,
    the support for the uniforms, and constant +- 1 for a G that only ever saw one value."""
    return {"normal": (-3.0, 3.0), "uniform_pm1": (-1.0, 1.0), "uniform01": (0.0, 1.0)}.get(
        kind, (constant - 1.0, constant + 1.0))


def central_range(kind: str, mass: float, constant: float = 0.5) -> tuple[float, float]:
    """The interval holding the central ``mass`` of one z entry: the normal's quantiles, the whole
    ``noise_range`` for the others (a uniform has no centre to prefer, constant noise no spread)."""
    if kind == "normal":
        high = NormalDist().inv_cdf((1 + mass) / 2)
        return -high, high
    return noise_range(kind, constant)


def noise_spread(kind: str) -> float:
    """Standard deviation of one z entry (constant noise: 1, so sliders still move)."""
    return {"normal": 1.0, "uniform_pm1": 1 / math.sqrt(3), "uniform01": 1 / math.sqrt(12)}.get(kind, 1.0)


def from_gaussian(gaussian: torch.Tensor, kind: str, constant: float = 0.5) -> torch.Tensor:
    """Map N(0, 1) entries onto ``kind`` noise, entry by entry (a uniform through the normal CDF)."""
    if kind == "normal":
        return gaussian
    if kind == "constant":
        return torch.full_like(gaussian, constant)
    uniform = 0.5 * (1 + torch.erf(gaussian / math.sqrt(2)))
    return uniform if kind == "uniform01" else uniform * 2 - 1
