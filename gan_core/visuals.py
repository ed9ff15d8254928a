"""What the live views draw, computed from a Trainer (on its thread) as plain numpy arrays.

GAN Lab's layered view for 2D data: D's output over the plane, real and generated points, and the
direction G's loss pushes each generated point.  The numbers come from the engine so a page only
draws them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import losses

FIELD_RESOLUTION = 48
# Real and generated points drawn, each: every point is an element the browser redraws twice a
# second while a model trains, and 256 still put about 10 points on each mode of the 25-mode grid.
POINTS_SHOWN = 256


@dataclass(frozen=True)
class ToyView:
    extent: float            # the plane shown is [-extent, extent]^2
    heatmap: np.ndarray      # (R, R) D(x) over the plane; row 0 is the bottom (y = -extent)
    real: np.ndarray         # (n, 2) real points
    fake: np.ndarray         # (n, 2) G(z) for fixed z
    arrows: np.ndarray       # (n, 2) -grad of G's loss at each fake point, scaled for drawing


def toy_view(trainer, z: torch.Tensor) -> ToyView:
    """D's landscape, points and G's gradient arrows for a 2D run, in eval mode."""
    G, D, c = trainer.G, trainer.D, trainer.config
    real = trainer.data.held_out[:POINTS_SHOWN]
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
        fake = fake.detach().requires_grad_(True)
        loss = losses.g_loss(c.loss, c.g_loss, D(fake))
        (grad,) = torch.autograd.grad(loss, fake)
    finally:
        G.train(was[0]), D.train(was[1])
    push = -grad
    scale = 0.08 * extent / (push.norm(dim=1).max() + 1e-12)
    return ToyView(extent, heat.float().cpu().numpy(), real.float().cpu().numpy(),
                   fake.detach().float().cpu().numpy(), (push * scale).float().cpu().numpy())
