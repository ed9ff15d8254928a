"""Loss forms against hand computations on a few fixed probabilities."""
from __future__ import annotations

import math

import pytest
import torch

from gan_core import Trainer, losses
from gan_core.config import TrainConfig
from gan_core.losses import equilibrium, objective_latex
from gan_core.presets import preset

P = [0.9, 0.2, 0.5]
P_REAL = [0.8, 0.6]
P_FAKE = [0.3, 0.1]


def t(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


@pytest.mark.parametrize("form", ["bce", "log"])
def test_log_forms_agree_with_minus_mean_log(form: str) -> None:
    assert losses.loss_term(form, t(P), 1.0).item() == pytest.approx(-mean(math.log(p) for p in P))
    assert losses.loss_term(form, t(P), 0.0).item() == pytest.approx(-mean(math.log(1 - p) for p in P))


def test_mse_is_mean_squared_distance_to_the_label() -> None:
    assert losses.loss_term("mse", t(P), 1.0).item() == pytest.approx(mean((p - 1) ** 2 for p in P))
    assert losses.loss_term("mse", t(P), 0.0).item() == pytest.approx(mean(p ** 2 for p in P))
    # by hand: ((0.1)^2 + (0.8)^2 + (0.5)^2) / 3 = 0.9 / 3
    assert losses.loss_term("mse", t(P), 1.0).item() == pytest.approx(0.3)


@pytest.mark.parametrize("form", ["bce", "log", "mse"])
def test_d_terms_are_real_towards_one_and_fake_towards_zero(form: str) -> None:
    real, fake = losses.d_loss_terms(form, t(P_REAL), t(P_FAKE))
    if form == "mse":
        assert real.item() == pytest.approx(mean((p - 1) ** 2 for p in P_REAL))  # (0.04 + 0.16) / 2
        assert real.item() == pytest.approx(0.1)
        assert fake.item() == pytest.approx(mean(p ** 2 for p in P_FAKE))        # (0.09 + 0.01) / 2
        assert fake.item() == pytest.approx(0.05)
    else:
        assert real.item() == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
        assert fake.item() == pytest.approx(-(math.log(0.7) + math.log(0.9)) / 2)


@pytest.mark.parametrize("form", ["bce", "log"])
def test_g_losses_non_saturating_and_saturating(form: str) -> None:
    non_sat = losses.g_loss(form, "non_saturating", t(P_FAKE)).item()
    sat = losses.g_loss(form, "saturating", t(P_FAKE)).item()
    assert non_sat == pytest.approx(-(math.log(0.3) + math.log(0.1)) / 2)   # -log D(G(z))
    assert sat == pytest.approx((math.log(0.7) + math.log(0.9)) / 2)        # log(1 - D(G(z)))


def test_mse_g_losses() -> None:
    assert losses.g_loss("mse", "non_saturating", t(P_FAKE)).item() == pytest.approx((0.49 + 0.81) / 2)
    assert losses.g_loss("mse", "saturating", t(P_FAKE)).item() == pytest.approx(-(0.09 + 0.01) / 2)


def test_saturating_gradient_vanishes_where_non_saturating_is_strong() -> None:
    """The paper's point: when D rejects fakes (p ~ 0), log(1 - p) has a flat slope."""
    grads = {}
    for g_form in ("saturating", "non_saturating"):
        p = t([0.01]).requires_grad_()
        losses.g_loss("log", g_form, p).backward()
        grads[g_form] = p.grad.item()
    assert grads["saturating"] == pytest.approx(-1 / 0.99)        # d/dp log(1 - p)
    assert grads["non_saturating"] == pytest.approx(-1 / 0.01)    # d/dp -log p
    assert abs(grads["non_saturating"]) > 90 * abs(grads["saturating"])


def test_log_form_reaches_infinity_where_bce_clamps() -> None:
    sure_real, sure_fake = torch.tensor([1.0]), torch.tensor([0.0])
    assert math.isinf(losses.loss_term("log", sure_real, 0.0).item())       # -log(1 - 1)
    assert math.isinf(losses.loss_term("log", sure_fake, 1.0).item())       # -log(0)
    assert math.isinf(losses.g_loss("log", "saturating", sure_real).item())
    assert losses.loss_term("bce", sure_real, 0.0).item() == 100.0         # log clamped at -100
    assert losses.loss_term("bce", sure_fake, 1.0).item() == 100.0
    assert losses.loss_term("mse", sure_real, 0.0).item() == 1.0


def test_unknown_forms_are_refused() -> None:
    with pytest.raises(ValueError, match="hinge"):
        losses.loss_term("hinge", t(P), 1.0)
    with pytest.raises(ValueError, match="wasserstein"):
        losses.g_loss("bce", "wasserstein", t(P))


# ---------------------------------------------------------------------- equilibrium, objectives
COMBINATIONS = [(form, g_form, update) for form in ("bce", "log", "mse")
                for g_form in ("non_saturating", "saturating") for update in ("mean", "sum", "split")]


def fooled_trainer(**changes) -> Trainer:
    """A toy run whose D outputs exactly 1/2 (last layer zeroed), with steps too small to move it:
    G goes first, so both recorded losses are taken at D = 1/2."""
    trainer = Trainer(preset("toy-ring", device="cpu", batch_size=8, order="g_first", optimizer="sgd",
                             lr_g=1e-8, lr_d=1e-8, metrics_every=1, **changes))
    last = [m for m in trainer.D.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
    return trainer


@pytest.mark.parametrize(("form", "g_form", "update"), COMBINATIONS)
def test_equilibrium_is_where_the_trainers_losses_sit_at_d_one_half(form: str, g_form: str, update: str) -> None:
    trainer = fooled_trainer(loss=form, g_loss=g_form, d_update=update)
    trainer.step()
    expected = equilibrium(trainer.config)
    h = trainer.history
    assert h.d_real[0] == pytest.approx(0.5, abs=1e-6) and h.d_fake[0] == pytest.approx(0.5, abs=1e-6)
    assert h.loss_d[0] == pytest.approx(expected["loss_d"], rel=1e-5)
    assert h.loss_g[0] == pytest.approx(expected["loss_g"], rel=1e-5)
    assert trainer.evaluate(200)["loss_d"] == pytest.approx(expected["loss_d"], rel=1e-5)


def test_equilibrium_values_of_the_textbook() -> None:
    ln2 = math.log(2)
    table = {("bce", "non_saturating", "sum"): (2 * ln2, ln2), ("log", "saturating", "mean"): (ln2, -ln2),
             ("bce", "non_saturating", "split"): (ln2, ln2), ("mse", "non_saturating", "sum"): (0.5, 0.25),
             ("mse", "saturating", "mean"): (0.25, -0.25), ("mse", "saturating", "split"): (0.25, -0.25)}
    for (form, g_form, update), (loss_d, loss_g) in table.items():
        values = equilibrium(TrainConfig(loss=form, g_loss=g_form, d_update=update))
        assert (values["loss_d"], values["loss_g"]) == (pytest.approx(loss_d), pytest.approx(loss_g))


@pytest.mark.parametrize(("form", "g_form", "update"), COMBINATIONS)
def test_objectives_as_latex_follow_the_choice(form: str, g_form: str, update: str) -> None:
    d_text, g_text = objective_latex(TrainConfig(loss=form, g_loss=g_form, d_update=update))
    assert d_text.startswith(r"\min_D") and g_text.startswith(r"\min_G") and "--" not in d_text + g_text
    assert d_text.count("{") == d_text.count("}") and g_text.count("{") == g_text.count("}")
    assert (r"\log" in d_text) == (form != "mse") and ("clamped" in d_text) == (form == "bce")
    assert (r"\tfrac{1}{2}" in d_text) == (update == "mean") and ("then" in d_text) == (update == "split")
    fake_term = r"1 - D(G(z))" if form != "mse" else "D(G(z))^2"
    assert (fake_term in g_text) == (g_form == "saturating")
    # -log D, +log(1 - D), +(D - 1)^2, -D^2: the saturating form negates D's fake term
    negative = (form != "mse") != (g_form == "saturating")
    assert g_text.startswith(r"\min_G\; -") == negative


def test_held_out_loss_d_uses_the_training_reduction() -> None:
    """d_update mean reports (real + fake) / 2 in training; the held-out figure must too."""
    trainer = Trainer(preset("toy-ring", device="cpu", batch_size=8, d_update="mean"))
    result = trainer.evaluate(500)
    trainer.D.eval()
    with torch.no_grad():
        p_real = trainer.D(trainer.data.held_out[:500])
        p_fake = trainer.D(trainer.sample(500, seed=trainer.config.seed + 2))   # evaluate's z
    both = losses.loss_term("bce", p_real, 1.0) + losses.loss_term("bce", p_fake, 0.0)
    assert result["loss_d"] == pytest.approx(both.item() / 2, rel=1e-5)


@pytest.mark.parametrize("update", ["mean", "sum", "split"])
def test_ds_objective_shows_the_r1_penalty_it_descends_on(update: str) -> None:
    d_text, g_text = objective_latex(TrainConfig(d_update=update, r1_gamma=0.1))
    assert r"\nabla_x" in d_text and r"\gamma = 0.1" in d_text and r"\gamma" not in g_text
    if update == "split":
        assert d_text.index(r"\nabla_x") < d_text.index("then"), "R1 goes with the real-batch update"
    assert r"\gamma" not in "".join(objective_latex(TrainConfig(d_update=update)))
