"""Trainer: update order, determinism, exact resume, divergence handling, live changes.

Runs are a handful of steps with batch 8 on the CPU: what is tested is which numbers move and
whether two runs agree bit for bit, not whether a GAN learns.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from gan_core import DivergenceError, Trainer
from gan_core.config import ConfigError
from gan_core.presets import PRESETS, preset

COLUMNS = ("step", "kind", "loss_d", "loss_g", "d_real", "d_fake")


def small(name: str, **changes: Any):
    """The preset on the CPU with a small batch (seed 002 keeps its batch of 1)."""
    if name != "seed-002-pattern":
        changes.setdefault("batch_size", 8)
    return preset(name, device="cpu", **changes)


def trained(config, steps: int) -> Trainer:
    trainer = Trainer(config)
    for _ in range(steps):
        trainer.step()
    trainer.flush()
    return trainer


def columns(trainer: Trainer) -> dict[str, list]:
    return {c: list(getattr(trainer.history, c)) for c in COLUMNS}


def assert_same(a: Any, b: Any, where: str = "state") -> None:
    """Recursive exact equality of state dicts (tensors bit for bit, NaN equal to NaN)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype, where
        assert torch.equal(a, b) or (a.is_floating_point()
                                     and torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), where


def full_state(trainer: Trainer) -> dict[str, Any]:
    return {"G": trainer.G.state_dict(), "D": trainer.D.state_dict(),
            "opt_g": trainer.opt_g.state_dict(), "opt_d": trainer.opt_d.state_dict()}


def clone_state(trainer: Trainer) -> dict[str, Any]:
    return copy.deepcopy(full_state(trainer))


def params(net: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in net.named_parameters()}


def changed(before: dict[str, torch.Tensor], net: nn.Module) -> bool:
    return any(not torch.equal(before[name], p) for name, p in net.named_parameters())


def adam_steps(optimizer: torch.optim.Optimizer) -> set[float]:
    """The step counter of every parameter Adam has updated (empty when it never stepped)."""
    return {float(state["step"]) for state in optimizer.state.values()}


def event_log(trainer: Trainer) -> list[str]:
    """Record, in order, every forward of G and D and every optimiser step."""
    events: list[str] = []
    trainer.G.register_forward_hook(lambda *_: events.append("G"))
    trainer.D.register_forward_hook(lambda *_: events.append("D"))
    trainer.opt_g.register_step_post_hook(lambda *_: events.append("opt_g"))
    trainer.opt_d.register_step_post_hook(lambda *_: events.append("opt_d"))
    return events


# ------------------------------------------------------------------------------- update order
@pytest.mark.parametrize("name", ["toy-ring", "seed-003-bn-mlp"])
def test_step_d_changes_only_d_and_step_g_only_g(name: str) -> None:
    trainer = Trainer(small(name))
    g_before, d_before = params(trainer.G), params(trainer.D)
    trainer.step_d()
    assert changed(d_before, trainer.D) and not changed(g_before, trainer.G)
    assert adam_steps(trainer.opt_d) == {1.0} and adam_steps(trainer.opt_g) == set()

    g_before, d_before = params(trainer.G), params(trainer.D)
    d_grads = [p.grad.clone() for p in trainer.D.parameters()]   # left by D's own step
    trainer.step_g()
    assert changed(g_before, trainer.G) and not changed(d_before, trainer.D)
    assert adam_steps(trainer.opt_d) == {1.0} and adam_steps(trainer.opt_g) == {1.0}
    assert all(p.requires_grad for p in trainer.D.parameters())   # D unfrozen after G's step
    assert all(torch.equal(p.grad, g) for p, g in zip(trainer.D.parameters(), d_grads))  # none added


@pytest.mark.parametrize(("name", "changes", "expected"), [
    ("toy-ring", {}, ["G", "D", "D", "opt_d", "G", "D", "opt_g"]),
    ("toy-ring", {"d_steps": 2}, ["G", "D", "D", "opt_d"] * 2 + ["G", "D", "opt_g"]),
    # G first (seeds 000, 003, 004): D's step reuses G's batch, so G runs once
    ("seed-000-vanilla", {}, ["G", "D", "opt_g", "D", "D", "opt_d"]),
    ("seed-000-vanilla", {"d_steps": 2}, ["G", "D", "opt_g", "D", "D", "opt_d", "G", "D", "D", "opt_d"]),
    # seed 002: D on a real sample, step, D on a fake, step, then G
    ("seed-002-pattern", {}, ["G", "D", "opt_d", "D", "opt_d", "G", "D", "opt_g"]),
])
def test_step_runs_the_configured_order(name: str, changes: dict, expected: list[str]) -> None:
    trainer = Trainer(small(name, **changes))
    events = event_log(trainer)
    trainer.step()
    assert events == expected


def test_one_sided_steps_run_one_network_update() -> None:
    trainer = Trainer(small("toy-ring"))
    events = event_log(trainer)
    trainer.step_d()
    assert events == ["G", "D", "D", "opt_d"]
    events.clear()
    trainer.step_g()
    assert events == ["G", "D", "opt_g"]


@pytest.mark.parametrize(("d_steps", "d_update", "d_optimizer_steps"),
                         [(1, "mean", 1), (3, "mean", 3), (3, "sum", 3), (1, "split", 2), (2, "split", 4)])
def test_k_d_steps_and_split_count_optimizer_steps(d_steps: int, d_update: str, d_optimizer_steps: int) -> None:
    trainer = Trainer(small("toy-grid", d_steps=d_steps, d_update=d_update))
    trainer.step()
    assert adam_steps(trainer.opt_d) == {float(d_optimizer_steps)}
    assert adam_steps(trainer.opt_g) == {1.0}
    trainer.step()
    assert adam_steps(trainer.opt_d) == {float(2 * d_optimizer_steps)}


def test_g_first_trains_d_on_the_batch_g_just_made() -> None:
    trainer = Trainer(small("seed-000-vanilla"))        # order g_first, Dropout 0.5 in G
    made, seen = [], []
    trainer.G.register_forward_hook(lambda _m, _i, out: made.append(out.detach().clone()))
    trainer.D.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().clone()))
    trainer.step()
    assert len(made) == 1 and len(seen) == 3          # D(G(z)) for G, then D(real), D(fake)
    assert torch.equal(seen[0], made[0]) and torch.equal(seen[2], made[0])
    assert not torch.equal(seen[1], made[0])


def test_d_first_draws_fresh_z_for_the_g_step() -> None:
    trainer = Trainer(small("toy-ring"))
    made, seen = [], []
    trainer.G.register_forward_hook(lambda _m, _i, out: made.append(out.detach().clone()))
    trainer.D.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().clone()))
    trainer.step()
    assert len(made) == 2 and len(seen) == 3
    assert torch.equal(seen[1], made[0]) and torch.equal(seen[2], made[1])
    assert not torch.equal(made[0], made[1])


def test_history_marks_step_kinds_and_one_sided_placeholders() -> None:
    trainer = Trainer(small("toy-ring"))
    trainer.step_d()
    trainer.step_g()
    trainer.step()
    trainer.flush()        # NaN placeholders of one-sided steps are not a divergence
    h = trainer.history
    assert h.step == [1, 2, 3] and h.kind == ["d", "g", "step"]
    assert math.isnan(h.loss_g[0]) and math.isnan(h.loss_d[1])
    assert math.isfinite(h.loss_d[0]) and math.isfinite(h.loss_g[1])
    assert 0 < h.d_real[0] < 1 and 0 < h.d_fake[1] < 1
    assert all(math.isfinite(getattr(h, c)[2]) for c in ("loss_d", "loss_g", "d_real", "d_fake"))
    assert h.time == sorted(h.time) and h.time[0] >= 0
    assert h.to_csv().splitlines()[0] == "step,kind,loss_d,loss_g,d_real,d_fake,time"


def test_metrics_reach_history_only_at_a_flush() -> None:
    trainer = Trainer(small("toy-ring", metrics_every=4))
    for _ in range(3):
        trainer.step()
    assert len(trainer.history) == 0 and trainer.step_count == 3
    trainer.step()
    assert trainer.history.step == [1, 2, 3, 4]


# ------------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("name", ["seed-000-vanilla", "seed-001-mlp", "seed-002-pattern",
                                  "seed-003-bn-mlp", "toy-ring"])
def test_same_config_and_seed_give_identical_runs(name: str) -> None:
    config = small(name, metrics_every=4)
    first, second = trained(config, 6), trained(config, 6)
    assert columns(first) == columns(second)
    assert_same(full_state(first), full_state(second))
    other = trained(config.replace(seed=config.seed + 1), 6)
    assert columns(other)["loss_d"] != columns(first)["loss_d"]


def test_evaluating_and_sampling_do_not_change_the_training_numbers() -> None:
    config = small("seed-000-vanilla")
    plain = trained(config, 4)
    watched = Trainer(config)
    for i in range(4):
        watched.step()
        watched.evaluate(50)
        watched.sample(5)
    watched.flush()
    assert columns(watched) == columns(plain)
    assert len(watched.history.evals) == 4


# ------------------------------------------------------------------------------- resume
@pytest.mark.parametrize(("name", "changes"), [
    ("seed-000-vanilla", {}),                 # Dropout in G and D: global RNG state must resume
    ("seed-003-bn-mlp", {}),                  # BatchNorm running statistics
    ("seed-001-mlp", {"eval_every": 3}),      # held-out evaluations in the history
    ("seed-002-pattern", {}),                 # split D updates, batch 1
])
def test_resume_continues_exactly(name: str, changes: dict, tmp_path: Path) -> None:
    config = small(name, metrics_every=2, **changes)
    straight = trained(config, 7)

    first = trained(config, 4)
    first.save(tmp_path / "run.pt")
    del first
    resumed = Trainer.load(tmp_path / "run.pt")
    assert resumed.step_count == 4 and len(resumed.history) == 4
    for _ in range(3):
        resumed.step()
    resumed.flush()

    assert resumed.step_count == straight.step_count == 7
    assert columns(resumed) == columns(straight)
    assert resumed.history.evals == straight.history.evals
    assert_same(full_state(resumed), full_state(straight))
    assert resumed.config == straight.config
    assert resumed.history.time == sorted(resumed.history.time)   # the clock went on from the save


# ------------------------------------------------------------------------------- divergence
def saturate_d(trainer: Trainer) -> None:
    """Make D answer exactly 1 for everything: its last Linear gets a huge bias."""
    last = trainer.D.body[-2]
    assert isinstance(last, nn.Linear)
    with torch.no_grad():
        last.bias.fill_(1e4)


def test_log_loss_divergence_rolls_back_to_the_last_flush() -> None:
    trainer = Trainer(small("toy-ring", loss="log", metrics_every=5))
    for _ in range(5):
        trainer.step()                       # the 5th step flushes: the last good state
    good = clone_state(trainer)
    saturate_d(trainer)                      # D(G(z)) = 1 -> -log(1 - 1) = inf at step 6
    with pytest.raises(DivergenceError) as caught:
        for _ in range(5):
            trainer.step()
    error = caught.value
    assert (error.step, error.rolled_back_to) == (6, 5)
    message = str(error)
    assert "step 6" in message and "loss_d" in message and "\n" not in message
    assert "log(0)" in message               # the hint for the paper's literal log loss

    assert trainer.step_count == 5 and trainer.history.step == [1, 2, 3, 4, 5]
    assert all(math.isfinite(v) for c in ("loss_d", "loss_g") for v in getattr(trainer.history, c))
    assert_same(full_state(trainer), good)   # weights and optimiser moments of step 5
    assert all(torch.isfinite(p).all() for p in [*trainer.G.parameters(), *trainer.D.parameters()])

    # the run goes on: the same saturated D under the library BCE gives a clamped, finite loss
    saturate_d(trainer)
    trainer.apply_changes(loss="bce")
    for _ in range(5):
        trainer.step()
    trainer.flush()
    assert trainer.history.step == list(range(1, 11))
    assert trainer.history.loss_d[5] == 50.0   # (BCE(1, 1) + BCE(1, 0) clamped at 100) / 2
    assert all(math.isfinite(v) for v in trainer.history.loss_d + trainer.history.loss_g)


def test_divergence_found_by_an_explicit_flush() -> None:
    trainer = Trainer(small("toy-ring", loss="log", metrics_every=50))
    trainer.step()
    trainer.flush()
    saturate_d(trainer)
    trainer.step()
    trainer.step()
    with pytest.raises(DivergenceError, match="step 2"):
        trainer.flush()
    assert trainer.step_count == 1 and len(trainer.history) == 1
    trainer.step()                           # weights are back at step 1: D is no longer saturated
    trainer.flush()
    assert trainer.history.step == [1, 2] and math.isfinite(trainer.history.loss_d[1])


def test_huge_learning_rate_diverges_with_a_typed_error() -> None:
    trainer = Trainer(small("toy-ring", loss="log", optimizer="sgd", lr_d=10.0, lr_g=10.0,
                            metrics_every=200))
    with pytest.raises(DivergenceError) as caught:
        for _ in range(200):
            trainer.step()
    assert caught.value.rolled_back_to == 0 and trainer.step_count == 0
    assert f"step {caught.value.step}" in str(caught.value)


@pytest.mark.parametrize("name", ["toy-ring", "seed-000-vanilla"])
def test_a_dead_game_stops_like_a_divergence(name: str) -> None:
    """BCE at learning rate 10: D saturates (toy-ring: 1 on real and fake; seed 000: every fake
    at 0, G's loss pinned at the clamp).  No NaN ever appears, yet the run must stop with a word."""
    trainer = Trainer(preset(name, device="cpu", loss="bce", lr_d=10.0, lr_g=10.0))
    with pytest.raises(DivergenceError) as caught:
        for _ in range(400):
            trainer.step()
    error = caught.value
    assert error.step == error.rolled_back_to == trainer.step_count <= 300
    assert len(trainer.history) == trainer.step_count     # the dead steps stay on the chart
    assert "saturated" in str(error) and "\n" not in str(error) and "lr_d 10" in str(error)


@pytest.mark.parametrize("name", ["seed-001-mlp", "seed-002-pattern", "pattern-1010", "toy-ring-collapse"])
def test_normal_runs_are_never_called_dead_early_on(name: str) -> None:
    """D winning outright (seed 001: D(x) 0.999, D(G(z)) 0.002) or G collapsed is not dead."""
    trainer = trained(preset(name, device="cpu"), 200)      # twice the dead streak it would need
    assert trainer.step_count == 200


# ------------------------------------------------------------------------------- live changes
def test_apply_changes_updates_optimizers_live() -> None:
    trainer = Trainer(small("toy-ring"))
    trainer.step()
    trainer.apply_changes(lr_g=1e-4, lr_d=3e-4, beta1=0.1, d_steps=2)
    assert [g["lr"] for g in trainer.opt_g.param_groups] == [1e-4]
    assert [g["lr"] for g in trainer.opt_d.param_groups] == [3e-4]
    assert trainer.opt_d.param_groups[0]["betas"] == (0.1, 0.999)
    assert (trainer.config.lr_g, trainer.config.d_steps) == (1e-4, 2)
    trainer.step()
    assert adam_steps(trainer.opt_d) == {3.0}
    trainer.apply_changes(optimizer="sgd", momentum=0.5)
    assert isinstance(trainer.opt_g, torch.optim.SGD) and trainer.opt_d.param_groups[0]["momentum"] == 0.5
    trainer.step()
    trainer.flush()
    assert trainer.step_count == 3


@pytest.mark.parametrize(("changes", "field"), [
    ({"latent_dim": 3}, "latent_dim"), ({"g_hidden": [4]}, "g_hidden"), ({"seed": 2}, "seed"),
    ({"lr_g": -1.0}, "lr_g"), ({"loss": "hinge"}, "loss"), ({"batch_size": 0}, "batch_size")])
def test_apply_changes_refuses_structural_or_bad_changes(changes: dict, field: str) -> None:
    trainer = Trainer(small("toy-ring"))
    before = trainer.config
    with pytest.raises(ConfigError) as caught:
        trainer.apply_changes(**changes)
    assert caught.value.field == field
    assert trainer.config == before


# ------------------------------------------------------------------------------- evaluate, sample
def test_evaluate_scores_held_out_data_in_eval_mode() -> None:
    trainer = trained(small("seed-000-vanilla"), 2)
    result = trainer.evaluate(100)
    assert set(result) == {"step", "d_real", "d_fake", "loss_d", "loss_g"} and result["step"] == 2
    trainer.D.eval()
    with torch.no_grad():
        expected = trainer.D(trainer.data.held_out[:100]).mean().item()
    trainer.D.train()
    assert result["d_real"] == pytest.approx(expected, abs=1e-6)
    assert 0 < result["d_fake"] < 1
    assert trainer.history.evals == [result]
    assert trainer.G.training and trainer.D.training   # modes restored


def test_sample_is_reproducible_and_leaves_training_mode() -> None:
    trainer = Trainer(small("seed-000-vanilla"))
    a, b = trainer.sample(6), trainer.sample(6)
    assert a.shape == (6, 1, 28, 28) and a.device.type == "cpu" and torch.equal(a, b)
    assert not torch.equal(a, trainer.sample(6, seed=7))
    z = trainer.fixed_z[:3]
    trainer.G.eval()
    with torch.no_grad():
        expected = trainer.G(z)
    trainer.G.train()
    assert torch.equal(trainer.sample(z=z), expected)
    assert trainer.G.training and a.min() >= -1 and a.max() <= 1


def test_a_frozen_copy_samples_as_the_trainer_did_while_it_trains_on() -> None:
    trainer = Trainer(small("dcgan-small"))
    trainer.step()
    frozen, before = trainer.frozen(), trainer.sample(6)
    trainer.step()
    assert frozen.step_count == 1 and trainer.step_count == 2
    assert torch.equal(frozen.sample(6), before) and not torch.equal(trainer.sample(6), before)


# ------------------------------------------------------------------------------- every preset
@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_trains_on_cpu(name: str) -> None:
    config = small(name)
    trainer = trained(config, 2)
    trainer.step_d()
    trainer.step_g()
    trainer.flush()
    h = trainer.history
    assert h.kind == ["step", "step", "d", "g"]
    assert np.isfinite(h.loss_d[:3] + h.loss_g[:2] + h.d_real[:3] + h.d_fake).all()
    samples = trainer.sample(3)
    assert samples.shape == (3, *config.sample_shape) and torch.isfinite(samples).all()
