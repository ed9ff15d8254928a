"""The 2D view's layers as the training thread computes them: G's manifold in particular."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_core.presets import preset
from gan_core.trainer import Trainer
from gan_core.visuals import MANIFOLD_LINES, LiveViews, manifold_z


def toy_view(trainer: Trainer):
    return LiveViews().update(trainer)["toy"]


def test_the_manifold_is_g_over_a_regular_grid_and_moves_with_g() -> None:
    trainer = Trainer(preset("toy-ring", device="cpu", batch_size=64))
    before = toy_view(trainer).manifold
    assert before.shape == (MANIFOLD_LINES, MANIFOLD_LINES, 2) and np.isfinite(before).all()
    with torch.no_grad():
        expected = trainer.G.eval()(manifold_z(trainer.config, "cpu"))
    trainer.G.train()
    assert np.allclose(before.reshape(-1, 2), expected.numpy(), atol=1e-6), "row by row, in eval mode"
    for _ in range(5):
        trainer.step_g()
    after = toy_view(trainer).manifold
    assert not np.allclose(before, after), "a G step moves the mesh"
    assert trainer.G.training, "the view leaves G in training mode"


@pytest.mark.parametrize("noise, low, high, middle", [("normal", -1.96, 1.96, 0.0),
                                                      ("uniform_pm1", -1.0, 1.0, 0.0),
                                                      ("uniform01", 0.0, 1.0, 0.5)])
def test_the_grid_spans_the_central_mass_of_z_and_slices_a_larger_z(noise, low, high, middle) -> None:
    z = manifold_z(preset("toy-ring", latent_dim=5, noise=noise), "cpu")
    assert z.shape == (MANIFOLD_LINES ** 2, 5)
    grid = z[:, :2].reshape(MANIFOLD_LINES, MANIFOLD_LINES, 2)
    assert grid[0, :, 0].tolist() == pytest.approx(np.linspace(low, high, MANIFOLD_LINES), abs=1e-3), \
        "a row runs along z1 from the low to the high end"
    assert torch.all(grid[:, 0, 1] == grid[:, 0, 1].sort().values) and torch.all(grid[0, :, 1] == grid[0, 0, 1]), \
        "rows step along z2"
    assert torch.all(z[:, 2:] == middle), "the other coordinates stay at the middle of their range"


def test_a_one_dimensional_z_gives_a_curve() -> None:
    z = manifold_z(preset("toy-ring", latent_dim=1), "cpu")
    assert z.shape == (MANIFOLD_LINES ** 2, 1) and len(z.unique()) == MANIFOLD_LINES
