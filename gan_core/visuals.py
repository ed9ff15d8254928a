"""What the live views draw, computed from a Trainer (on its thread) as plain numpy arrays: G's
samples for a fixed z, a real batch, a thinned timeline of earlier samples and, by data kind, a
pattern's outputs over time or GAN Lab's layered view for 2D data: D's output over the plane, real
and generated points, the direction G's loss pushes each generated point, and G's manifold.  The
numbers come from the engine so a page only draws them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from . import losses
from .config import TrainConfig
from .noise import central_range

GRID_SIZE = 36            # images in the live grid (from the trainer's fixed z)
TIMELINE_LENGTH = 12      # grids kept for the timeline
PATTERN_HISTORY = 400     # pattern outputs kept for the heatmap over time
FIELD_RESOLUTION = 48
# Real and generated points drawn, each: every point is an element the browser redraws twice a
# second while a model trains, and 256 still put about 10 points on each mode of the 25-mode grid.
POINTS_SHOWN = 256
# G's manifold: G's image of a regular MANIFOLD_LINES x MANIFOLD_LINES grid over z, spanning the
# central MANIFOLD_MASS of each coordinate: where most samples come from, without the rare far
# tails that would stretch the mesh across the whole plot.
MANIFOLD_LINES = 20
MANIFOLD_MASS = 0.95


@dataclass(frozen=True)
class ToyView:
    extent: float            # the plane shown is [-extent, extent]^2
    heatmap: np.ndarray      # (R, R) D(x) over the plane; row 0 is the bottom (y = -extent)
    real: np.ndarray         # (n, 2) real points
    fake: np.ndarray         # (n, 2) G(z) for fixed z
    arrows: np.ndarray       # (n, 2) -grad of G's loss at each fake point, scaled for drawing
    manifold: np.ndarray     # (L, L, 2) G(z) over a regular grid of z: [i, j] is row i, column j


def toy_view(trainer, z: torch.Tensor) -> ToyView:
    """D's landscape, points, G's gradient arrows and G's manifold for a 2D run, in eval mode.

    The real points are held-out ones, topped up with training points when there are fewer than
    POINTS_SHOWN (a small points file holds out a tenth), so a small data set still shows its shape.
    """
    G, D, c = trainer.G, trainer.D, trainer.config
    real = torch.cat([trainer.data.held_out[:POINTS_SHOWN], trainer.data.train[:POINTS_SHOWN]])[:POINTS_SHOWN]
    extent = float(real.abs().max().item() * 1.3 + 0.1)
    axis = torch.linspace(-extent, extent, FIELD_RESOLUTION, device=trainer.device)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    plane = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)
    was = G.training, D.training
    G.eval(), D.eval()
    try:
        with torch.no_grad():
            heat = D(plane.repeat_interleave(c.pack, dim=0)).reshape(FIELD_RESOLUTION, FIELD_RESOLUTION)
            fake = G(z)
            mesh = G(manifold_z(c, trainer.device)).reshape(MANIFOLD_LINES, MANIFOLD_LINES, 2)
        fake = fake.detach().requires_grad_(True)
        loss = losses.g_loss(c.loss, c.g_loss, D(fake))
        (grad,) = torch.autograd.grad(loss, fake)
    finally:
        G.train(was[0]), D.train(was[1])
    push = -grad
    scale = 0.08 * extent / (push.norm(dim=1).max() + 1e-12)
    return ToyView(extent, heat.float().cpu().numpy(), real.float().cpu().numpy(),
                   fake.detach().float().cpu().numpy(), (push * scale).float().cpu().numpy(),
                   mesh.float().cpu().numpy())


def manifold_z(config: TrainConfig, device: torch.device | str) -> torch.Tensor:
    """The regular grid G's manifold is the image of, row by row: (L * L, latent_dim).

    It spans the first two z coordinates (one, for a 1D z: the manifold is then a curve); the
    others stay at the middle of their range, so for a larger z it is a 2D slice through z-space.
    """
    low, high = central_range(config.noise, MANIFOLD_MASS, config.noise_constant)
    axis = torch.linspace(low, high, MANIFOLD_LINES, device=device)
    rows, columns = torch.meshgrid(axis, axis, indexing="ij")
    grid = torch.stack([columns.reshape(-1), rows.reshape(-1)], dim=1)
    z = torch.full((len(grid), config.latent_dim), (low + high) / 2, device=device)
    z[:, :2] = grid[:, :config.latent_dim]
    return z


class LiveViews:
    """The views of one run, moment by moment: each update gives the Snapshot fields they fill."""

    def __init__(self) -> None:
        self._timeline: list[tuple[int, np.ndarray]] = []
        self._pattern_history: list[tuple[int, np.ndarray]] = []
        self._real: np.ndarray | None = None

    def update(self, trainer) -> dict[str, Any]:
        c, step = trainer.config, trainer.step_count
        samples = trainer.sample(z=trainer.fixed_z[:GRID_SIZE]).numpy()
        self._remember(step, samples, c.data_kind == "pattern")
        if self._real is None:
            self._real = trainer.data.held_out[:GRID_SIZE].float().cpu().numpy()
        toy = None
        if c.data_kind == "points":
            toy = toy_view(trainer, trainer.noise(POINTS_SHOWN // c.pack * c.pack,
                                                  torch.Generator(trainer.device).manual_seed(c.seed + 4)))
        return dict(samples=samples, real=self._real, timeline=tuple(self._timeline), toy=toy,
                    pattern_history=tuple(self._pattern_history))

    def _remember(self, step: int, samples: np.ndarray, pattern: bool) -> None:
        """Keep a thinned timeline: when full, drop every other entry (log-like spacing)."""
        if pattern and (not self._pattern_history or self._pattern_history[-1][0] != step):
            self._pattern_history.append((step, samples[0]))
            if len(self._pattern_history) > PATTERN_HISTORY:
                self._pattern_history = self._pattern_history[::2]
        if not self._timeline or step - self._timeline[-1][0] >= max(1, step // TIMELINE_LENGTH):
            self._timeline.append((step, samples))
            if len(self._timeline) > TIMELINE_LENGTH:
                self._timeline = self._timeline[::2]   # odd length: keeps first and last
