"""The toy recipes (presets that beat PacGAN's tables, and one that collapses on purpose) and the
``lr_decay`` and ``r1_gamma`` knobs they rely on.  The 5-seed figures come from
``python -m bench.toy_quality``; here the knobs are checked, and the collapse recipe is trained
until it has collapsed."""
from __future__ import annotations

import json
import math

import pytest
import torch

from bench import toy_quality
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


def test_r1_penalty_changes_d_updates_but_not_the_recorded_loss() -> None:
    plain, penalised = small(), small(r1_gamma=1.0)
    for trainer in (plain, penalised):
        trainer.step()
        trainer.flush()
    assert plain.history.loss_d == pytest.approx(penalised.history.loss_d)   # same start, plain loss
    d_plain, d_r1 = (torch.cat([p.flatten() for p in t.D.parameters()]) for t in (plain, penalised))
    assert not torch.allclose(d_plain, d_r1)


def test_r1_penalty_is_gamma_half_the_mean_squared_input_gradient_of_the_logit() -> None:
    trainer = small(r1_gamma=4.0)
    real = trainer.data.sample(16, trainer.rng)
    x = real.clone().requires_grad_(True)
    grad, = torch.autograd.grad(trainer.D.logits(x).sum(), x)
    expected = 4.0 / 2 * grad.square().sum(dim=1).mean()
    verdict, penalty = trainer._judge_real(real)
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-5)
    assert torch.allclose(verdict, trainer.D(real))            # one pass gives D(x) too
    trainer.apply_changes(r1_gamma=0.0)                        # a live knob; 0 turns it off
    assert trainer._judge_real(real)[1] == 0


def test_r1_works_with_split_updates_and_packing() -> None:
    for trainer in (Trainer(preset("seed-002-pattern", device="cpu", r1_gamma=0.5, steps=3)),
                    small(pack=2, r1_gamma=0.5)):
        for _ in range(3):
            trainer.step()
        trainer.flush()
        assert all(math.isfinite(v) for v in trainer.history.loss_d)


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


def test_toy_quality_bench_prints_a_table_beside_the_published_figures(tmp_path, capsys) -> None:
    out = tmp_path / "toy.json"
    assert toy_quality.main(["--recipes", "toy-ring", "--seeds", "2", "--steps", "10",
                             "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| ring | toy-ring (ours) | 2 | 10 |" in text and "PacGAN2 (published)" in text
    rows = json.loads(out.read_text())["seeds"]
    assert [r["seed"] for r in rows] == [0, 1] and all(r["samples"] == 2500 for r in rows)
    assert toy_quality.main(["--recipes", "toy-moons"]) == 2
