"""Noise distributions for G's input z: one sampler, four shapes of randomness."""
from __future__ import annotations

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
