"""Loss forms of the GAN game, written once each.

Every form is a per-sample penalty ``term(p, target)`` on D's probability output p.  D's loss is
``term(p_real, 1)`` plus ``term(p_fake, 0)``; G's loss is either the non-saturating
``term(p_fake, 1)`` or the saturating (minimax) ``-term(p_fake, 0)``.  Writing the G losses in
terms of the D terms makes the relation the paper describes visible in code.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


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
