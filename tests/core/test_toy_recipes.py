"""The toy recipes (presets that beat PacGAN's tables, and one that collapses on purpose) and the
``lr_decay`` knob they rely on.  The full 5-seed figures come from ``python -m bench.toy_quality``;
here the knob is checked, and the collapse recipe is trained until it has collapsed."""
from __future__ import annotations

import pytest

from gan_core.config import ConfigError
from gan_core.metrics import mode_metrics
from gan_core.presets import PRESETS, describe, preset
from gan_core.trainer import Trainer

RECIPES = ("toy-ring-sharp", "toy-grid-sharp", "toy-ring-collapse")


def lrs(trainer: Trainer) -> tuple[float, float]:
    return trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]


def small(name: str = "toy-ring", **fields) -> Trainer:
    return Trainer(preset(name, device="cpu", batch_size=16, metrics_every=5, **fields))


def test_learning_rates_stay_put_until_the_decay_starts_then_fall_linearly_to_one_percent() -> None:
    trainer = small(steps=20, lr_decay=0.5, lr_g=1e-3, lr_d=2e-3)
    for _ in range(10):
        trainer.step()
    assert lrs(trainer) == pytest.approx((1e-3, 2e-3))
    for _ in range(5):
        trainer.step()
    assert lrs(trainer) == pytest.approx((0.5e-3, 1e-3))       # 5 of 10 decay steps left
    for _ in range(10):                                       # past the planned length: 1%
        trainer.step()
    assert lrs(trainer) == pytest.approx((1e-5, 2e-5))


def test_a_live_change_during_the_decay_keeps_the_decay() -> None:
    trainer = small(steps=20, lr_decay=0.5, lr_g=1e-3, lr_d=1e-3)
    for _ in range(15):
        trainer.step()
    trainer.apply_changes(lr_g=4e-3)
    assert lrs(trainer) == pytest.approx((2e-3, 0.5e-3))
    trainer.apply_changes(lr_decay=0.0)
    assert lrs(trainer) == pytest.approx((4e-3, 1e-3))


def test_no_decay_by_default_and_out_of_range_decay_is_refused() -> None:
    trainer = small(steps=5)
    for _ in range(8):
        trainer.step()
    assert lrs(trainer) == pytest.approx((1e-3, 1e-3))
    with pytest.raises(ConfigError, match="lr_decay"):
        preset("toy-ring", lr_decay=1.5)


@pytest.mark.parametrize("name", RECIPES)
def test_recipes_are_documented_presets(name: str) -> None:
    config = preset(name)
    assert config.dataset in ("ring", "grid")
    assert len(describe(name)) > 60 and name in PRESETS


def test_collapse_recipe_collapses_within_800_steps() -> None:
    trainer = Trainer(preset("toy-ring-collapse", device="cpu", steps=800))
    for _ in range(800):
        trainer.step()
    scores = mode_metrics(trainer.sample(2500), "ring")
    # total collapse onto one mode is log 8 = 2.08 nats; a uniform spread is 0
    assert scores["modes"] <= 2 and scores["reverse_kl"] > 1.0
