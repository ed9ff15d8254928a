"""Every lesson's claim, measured.  Each ``measure_*`` trains (a prefix of) a lesson's set-up at its
seed on the CPU and returns the figures its explanation quotes; the test beside it asserts the
effect with some slack for other torch versions.  The whole file stays within a few CPU seconds per
lesson: runs are cut to the steps where the effect has already shown."""
from __future__ import annotations

import math
from dataclasses import fields

import pytest
import torch
from torch import nn

from gan_core.config import TrainConfig
from gan_core.errors import DivergenceError
from gan_core.lessons import LESSONS, Lesson, configs, lesson, overrides
from gan_core.metrics import mode_metrics
from gan_core.models import model_info
from gan_core.presets import PRESETS, preset
from gan_core.trainer import History, Trainer

LN2 = math.log(2)


# ------------------------------------------------------------------------------------ helpers
def runs(slug: str) -> dict[str, TrainConfig]:
    """The lesson's configs on the CPU."""
    return {name: config.replace(device="cpu") for name, config in configs(lesson(slug)).items()}


def train(config: TrainConfig, steps: int) -> Trainer:
    trainer = Trainer(config)
    for _ in range(steps):
        trainer.step()
    trainer.flush()
    return trainer


def mean(history: History, column: str, first: int, last: int) -> float:
    """Mean of ``column`` over steps first..last (1-based, inclusive)."""
    values = getattr(history, column)[first - 1:last]
    return sum(values) / len(values)


def g_grad_norm(trainer: Trainer) -> float:
    """Norm of G's gradient from its last update (the optimiser keeps .grad after its step)."""
    return torch.cat([p.grad.flatten() for p in trainer.G.parameters()]).norm().item()


def sample_spread(trainer: Trainer, n: int = 1000) -> float:
    """How much G's samples differ from each other: per-value std across samples, averaged."""
    return trainer.sample(n).flatten(1).std(dim=0).mean().item()


# ------------------------------------------------------------------------------------ the data
def test_every_lesson_has_every_field_and_builds_valid_configs() -> None:
    assert len(LESSONS) >= 9 and len({x.slug for x in LESSONS}) == len(LESSONS)
    for item in LESSONS:
        for f in fields(Lesson):
            value = getattr(item, f.name)
            assert value or f.name in ("changes", "variants"), f"{item.slug}: empty {f.name}"
        assert item.preset in PRESETS and lesson(item.slug) is item
        assert not item.variants or 2 <= len(item.variants) <= 4
        built = configs(item)
        assert list(built) == list(item.variants or [item.preset])
        for name, config in built.items():
            assert config.steps == item.steps
            assert config.seed == preset(item.preset).seed, "variants start from the same seed"
            assert config == preset(item.preset, **overrides(item)[name])


def test_unknown_lesson_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="the-game"):
        lesson("no-such-lesson")


# ------------------------------------------------------------------------------------ the claims
def measure_the_game() -> dict[str, float]:
    history = train(runs("the-game")["toy-grid"], 600).history
    return {name: mean(history, column, *window) for name, column, window in (
        ("d_real_early", "d_real", (26, 50)), ("d_fake_early", "d_fake", (26, 50)),
        ("d_real_end", "d_real", (551, 600)), ("d_fake_end", "d_fake", (551, 600)))}


def test_the_game_d_pulls_ahead_then_both_verdicts_meet_at_one_half() -> None:
    m = measure_the_game()
    assert m["d_real_early"] - m["d_fake_early"] > 0.4
    assert abs(m["d_real_end"] - 0.5) < 0.03 and abs(m["d_fake_end"] - 0.5) < 0.03


def measure_bce_vs_log() -> dict[str, object]:
    hand_config, library_config = runs("bce-vs-log").values()
    hand = train(hand_config, 1)
    hand.step()
    with pytest.raises(DivergenceError) as caught:
        hand.flush()
    library = train(library_config, 20)    # built after the hand-written run ends: same dropout draws
    h = library.history
    return {"same_step_one": (hand.history.loss_d[0], hand.history.loss_g[0]) == (h.loss_d[0], h.loss_g[0]),
            "diverged_at": caught.value.step, "rolled_back_to": hand.step_count,
            "bce_loss_d_step2": h.loss_d[1], "finite": all(map(math.isfinite, h.loss_d + h.loss_g)),
            "d_real": h.d_real[-1], "d_fake": h.d_fake[-1], "loss_g": h.loss_g[-1]}


def test_bce_vs_log_same_numbers_until_log_of_zero_then_only_bce_goes_on() -> None:
    m = measure_bce_vs_log()
    assert m["same_step_one"]
    assert m["diverged_at"] == 2 and m["rolled_back_to"] == 1
    assert m["finite"] and 1 < m["bce_loss_d_step2"] < 100
    assert m["d_real"] > 0.99 and m["d_fake"] < 1e-3 and m["loss_g"] > 30


def measure_saturating_g_loss() -> dict[str, float]:
    figures = {}
    for name, config in runs("saturating-g-loss").items():
        trainer, norms = Trainer(config), []
        for _ in range(40):
            trainer.step()
            norms.append(g_grad_norm(trainer))
        trainer.flush()
        key = "saturating" if "minimax" in name else "non_saturating"
        figures[f"{key}_grad"] = sum(norms[30:]) / 10
        figures[f"{key}_d_fake"] = mean(trainer.history, "d_fake", 31, 40)
    figures["ratio"] = figures["non_saturating_grad"] / figures["saturating_grad"]
    return figures


def test_saturating_g_loss_starves_g_of_gradient_once_d_rejects_its_samples() -> None:
    m = measure_saturating_g_loss()
    assert m["ratio"] > 20
    assert m["saturating_d_fake"] < m["non_saturating_d_fake"] < 0.3


def measure_noise() -> dict[str, float]:
    spread = {config.noise: sample_spread(Trainer(config)) for config in runs("noise").values()}
    return {**spread, "ratio": spread["normal"] / spread["uniform01"]}


def test_noise_spread_of_z_sets_the_spread_of_g_first_samples() -> None:
    m = measure_noise()
    assert m["normal"] > m["uniform_pm1"] > m["uniform01"]
    assert 2.5 < m["ratio"] < 3.5          # z's own standard deviations differ by sqrt(12) = 3.46


def measure_strong_discriminator() -> dict[str, float]:
    balanced, strong = (train(config, 25).history for config in runs("strong-discriminator").values())
    return {"d_real": mean(strong, "d_real", 16, 25), "d_fake": mean(strong, "d_fake", 16, 25),
            "g_loss_strong": mean(strong, "loss_g", 16, 25),
            "g_loss_strong_early": mean(strong, "loss_g", 1, 10),
            "g_loss_balanced": mean(balanced, "loss_g", 16, 25),
            "d_real_balanced": mean(balanced, "d_real", 16, 25)}


def test_strong_discriminator_wins_outright_and_g_loss_grows() -> None:
    m = measure_strong_discriminator()
    assert m["d_real"] > 0.99 and m["d_fake"] < 0.03
    assert m["g_loss_strong"] > 5 * m["g_loss_balanced"]
    assert m["g_loss_strong"] > m["g_loss_strong_early"]


def measure_mode_collapse() -> dict[str, float]:
    """The first 250 steps of the collapse and R1 runs.  The lesson's step-2000 figures (and the
    packed run, which only settles once the learning rates decay) take a minute: not measured here."""
    collapse, r1 = (mode_metrics(train(config, 250).sample(2500), "ring")
                    for name, config in runs("mode-collapse").items() if "PacGAN" not in name)
    return {"collapse_kl": collapse["reverse_kl"], "collapse_modes": collapse["modes"],
            "r1_kl": r1["reverse_kl"]}


def test_mode_collapse_recipe_piles_on_one_mode_while_r1_spreads_g() -> None:
    m = measure_mode_collapse()
    assert m["collapse_modes"] <= 2 and m["collapse_kl"] > 1.9      # log 8 = 2.08: a single mode
    assert m["r1_kl"] < 0.4


def measure_ln2() -> dict[str, object]:
    trainer = train(runs("ln2-is-not-a-pattern")["seed-002-pattern"], 500)
    h = trainer.history
    row = trainer.sample(1)[0].tolist()
    pattern_high = [True, False] * 3
    return {"loss_d": mean(h, "loss_d", 401, 500), "loss_g": mean(h, "loss_g", 401, 500),
            "d_real": mean(h, "d_real", 401, 500), "d_fake": mean(h, "d_fake", 401, 500),
            "row": row, "wrong": sum((v > 0.5) != high for v, high in zip(row, pattern_high))}


def test_ln2_losses_sit_at_ln2_while_g_row_is_not_the_pattern() -> None:
    m = measure_ln2()
    assert abs(m["loss_d"] - LN2) < 0.01 and abs(m["loss_g"] - LN2) < 0.02
    assert abs(m["d_real"] - 0.5) < 0.02 and abs(m["d_fake"] - 0.5) < 0.02
    assert m["wrong"] >= 2


def measure_batchnorm_eps() -> dict[str, object]:
    figures = {}
    for config in runs("batchnorm-eps").values():
        trainer, stats = Trainer(config), []
        layers = [m for m in trainer.G.modules() if isinstance(m, nn.BatchNorm1d)]
        hooks = [m.register_forward_hook(lambda _m, inp, out: stats.append(
            (inp[0].var(dim=0).mean().item(), out.std(dim=0).mean().item()))) for m in layers]
        batch = trainer.G(trainer.noise(config.batch_size))   # train mode: batch statistics
        for hook in hooks:
            hook.remove()
        spread = batch.flatten(1).std(dim=0).mean().item()
        for _ in range(10):
            trainer.step()
        figures[config.bn_eps] = {"var_in": [v for v, _ in stats], "std_out": [s for _, s in stats],
                                  "batch_spread": spread, "spread_step_10": sample_spread(trainer)}
    return figures


def test_batchnorm_eps_08_damps_instead_of_normalising() -> None:
    m = measure_batchnorm_eps()
    seed, default = m[0.8], m[1e-5]
    assert seed["var_in"][0] < 0.8 / 10
    assert all(s < 0.3 for s in seed["std_out"]) and seed["std_out"] == sorted(seed["std_out"], reverse=True)
    assert all(abs(s - 1) < 0.02 for s in default["std_out"])
    assert default["batch_spread"] > 10 * seed["batch_spread"]
    assert default["spread_step_10"] > 2 * seed["spread_step_10"]


def measure_dcgan() -> dict[str, float]:
    big, small = (model_info(config) for config in runs("dcgan-on-a-cpu").values())
    flops = [sum(info["flops_per_sample"].values()) for info in (big, small)]
    return {"flops_ratio": flops[0] / flops[1],
            "g_params_ratio": big["generator_params"] / small["generator_params"],
            "d_params_ratio": big["discriminator_params"] / small["discriminator_params"]}


def test_dcgan_small_is_the_small_recipe_and_costs_a_fiftieth_per_sample() -> None:
    small = list(runs("dcgan-on-a-cpu").values())[1]
    assert small == preset("dcgan-small", device="cpu", seed=small.seed, steps=small.steps,
                           metrics_every=small.metrics_every)
    m = measure_dcgan()
    assert m["flops_ratio"] > 40 and m["g_params_ratio"] > 8 and m["d_params_ratio"] > 50
