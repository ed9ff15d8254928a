"""Loss forms of the GAN game, written once each.

Every form is a per-sample penalty ``term(p, target)`` on D's probability output p.  D's loss is
``term(p_real, 1)`` plus ``term(p_fake, 0)``; G's loss is either the non-saturating
``term(p_fake, 1)`` or the saturating (minimax) ``-term(p_fake, 0)``.  Writing the G losses in
terms of the D terms makes the relation the paper describes visible in code.  The values at the
game's equilibrium (D = 1/2 everywhere) and the objectives as LaTeX are read off the same
definitions, so a chart's reference line can never disagree with the loss it is drawn under.
"""
from __future__ import annotations

from functools import cache
from typing import Protocol

import torch
import torch.nn.functional as F


class LossChoice(Protocol):
    """The config fields that fix the losses (a TrainConfig has them)."""

    loss: str
    g_loss: str
    d_update: str
    r1_gamma: float


# torch's binary_cross_entropy clamps log at -100, so one BCE term never exceeds this.
BCE_CLAMP = 100.0


def loss_term(form: str, p: torch.Tensor, target: float) -> torch.Tensor:
    """Mean penalty for D output ``p`` (probabilities) against the label ``target`` (0 or 1)."""
    if form == "bce":
        # The library form clamps log at -100, so a saturated D never produces inf.
        return F.binary_cross_entropy(p, torch.full_like(p, target))
    if form == "log":
        # The paper, literally: log(0) = -inf is allowed to happen so a learner can see it.
        return -(torch.log(p) if target == 1 else torch.log(1 - p)).mean()
    if form == "mse":
        return ((p - target) ** 2).mean()
    raise ValueError(f"unknown loss form {form!r}")


def d_loss_terms(form: str, p_real: torch.Tensor, p_fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """D's penalties on the real batch (label 1) and the fake batch (label 0)."""
    return loss_term(form, p_real, 1.0), loss_term(form, p_fake, 0.0)


def d_loss(d_update: str, loss_real: torch.Tensor, loss_fake: torch.Tensor) -> torch.Tensor:
    """The D loss a run reports from its two halves: their sum for 'sum', their mean for 'mean'
    (what D descends on) and for 'split' (the mean of its two updates' losses, each as the seed
    plots them).  Training and held-out evaluation both report this, so they can be compared."""
    total = loss_real + loss_fake
    return total if d_update == "sum" else total / 2


def g_loss(form: str, g_form: str, p_fake: torch.Tensor) -> torch.Tensor:
    """G's loss on D's verdict for generated samples."""
    if g_form == "non_saturating":
        return loss_term(form, p_fake, 1.0)
    if g_form == "saturating":
        return -loss_term(form, p_fake, 0.0)
    raise ValueError(f"unknown G loss {g_form!r}")


def r1_penalty(logits: torch.Tensor, inputs: torch.Tensor, gamma: float) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): gamma/2 * E |grad_x logit D(x)|^2 on real data.

    ``logits`` are D's scores before its Sigmoid, computed from ``inputs`` (which require grad).
    The gradient is built with ``create_graph`` so that D's update can descend on it too."""
    grad, = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
    return gamma / 2 * grad.square().sum() / len(logits)


def equilibrium(choice: LossChoice) -> dict[str, float]:
    """Where the curves sit when D = 1/2 on real and fake (the game's equilibrium, and also a D
    that is fooled): loss_d, loss_g, d_real and d_fake, computed by the loss functions above."""
    return dict(_equilibrium(choice.loss, choice.g_loss, choice.d_update))


@cache   # a live page asks at every refresh, and a few torch ops cost more than the rest of its caption
def _equilibrium(form: str, g_form: str, d_update: str) -> dict[str, float]:
    half = torch.tensor([0.5], dtype=torch.float64)
    loss_real, loss_fake = d_loss_terms(form, half, half)
    return {"loss_d": float(d_loss(d_update, loss_real, loss_fake)),
            "loss_g": float(g_loss(form, g_form, half)), "d_real": 0.5, "d_fake": 0.5}


def objective_latex(choice: LossChoice) -> tuple[str, str]:
    """D's and G's objectives for ``choice`` as LaTeX (no surrounding $), built from the same
    terms as ``loss_term``: e.g. ``\\min_D \\tfrac{1}{2}\\big(-\\mathbb{E}_x[\\log D(x)] - ...\\big)``.
    D's includes the R1 penalty when there is one: the trainer adds it to D's (real) update."""
    real = _expectation("x", *_term_latex(choice.loss, "D(x)", 1))
    fake = _expectation("z", *_term_latex(choice.loss, "D(G(z))", 0))
    grad = r"\|\nabla_x \mathrm{logit}\, D(x)\|^2"
    r1 = rf" + \tfrac{{\gamma}}{{2}}\,{_expectation('x', '', grad)}" if choice.r1_gamma else ""
    d_text = {"sum": rf"\min_D\; {real} {_plus(fake)}{r1}",
              "mean": rf"\min_D\; \tfrac{{1}}{{2}}\big({real} {_plus(fake)}\big){r1}",
              "split": rf"\min_D\; {real}{r1}\;\text{{, then }}\;\min_D\; {fake}"}[choice.d_update]
    if choice.g_loss == "non_saturating":
        g_text = rf"\min_G\; {_expectation('z', *_term_latex(choice.loss, 'D(G(z))', 1))}"
    else:
        sign, body = _term_latex(choice.loss, "D(G(z))", 0)
        g_text = rf"\min_G\; {_expectation('z', '' if sign else '-', body)}"
    clamp = [r"\log\text{ clamped at }-100"] if choice.loss == "bce" else []
    gamma = [rf"\gamma = {choice.r1_gamma:g}"] if choice.r1_gamma else []
    return d_text + _note(gamma + clamp), g_text + _note(clamp)


def _term_latex(form: str, p: str, target: int) -> tuple[str, str]:
    """``loss_term(form, p, target)`` as (sign, body): the sign is kept apart so that G's
    saturating loss, the term negated, reads without a double minus."""
    if form in ("bce", "log"):
        return "-", (rf"\log {p}" if target == 1 else rf"\log\big(1 - {p}\big)")
    if form == "mse":
        return "", (rf"\big({p} - 1\big)^2" if target == 1 else rf"{p}^2")
    raise ValueError(f"unknown loss form {form!r}")


def _expectation(var: str, sign: str, body: str) -> str:
    return rf"{sign}\mathbb{{E}}_{{{var}}}\big[{body}\big]"


def _note(parts: list[str]) -> str:
    """Side remarks after an objective, in one bracket: ``(\\gamma = 1;\\ \\log ...)``."""
    return r"\quad(" + r";\ ".join(parts) + ")" if parts else ""


def _plus(term: str) -> str:
    """``term`` written after another: '- E[...]' stays, 'E[...]' gets a '+'."""
    return term if term.startswith("-") else f"+ {term}"
