"""Has G learned seed 002's '1010' pattern?  The one place that says what 'learned' means.

A loss curve cannot say it (both losses sit at ln 2 whether G is right or not), so the pattern is
checked slot by slot: the mean of each slot over many samples must lie near the real data's side.
Which slots are high is read from the real data (``gan_core.data``), not written here again.
"""
from __future__ import annotations

import torch

HIGH_AT_LEAST = 0.75    # a high slot's mean over the samples must reach this
LOW_AT_MOST = 0.25      # a low slot's mean must stay at or below this
SAMPLES = 200           # samples averaged per check


def high_slots(real: torch.Tensor) -> torch.Tensor:
    """Boolean mask of the slots that are high in the real pattern rows ``real`` (N, 6)."""
    return real.mean(dim=0) > 0.5


def pattern_score(samples: torch.Tensor, real: torch.Tensor) -> dict:
    """Slot means of generated ``samples`` (N, 6) and whether every high slot is >= HIGH_AT_LEAST
    and every low slot <= LOW_AT_MOST, the high slots being those of ``real``."""
    means = samples.detach().float().cpu().reshape(len(samples), -1).mean(dim=0)
    high = high_slots(real.cpu())
    learned = bool((means[high] >= HIGH_AT_LEAST).all() and (means[~high] <= LOW_AT_MOST).all())
    return {"slot_means": [round(float(m), 4) for m in means], "learned": learned}


def trainer_pattern_score(trainer, n: int = SAMPLES) -> dict:
    """``pattern_score`` of ``n`` samples of a pattern run's G against its held-out real rows."""
    return pattern_score(trainer.sample(n), trainer.data.held_out)


def pattern_metrics(trainer, n: int = SAMPLES) -> dict[str, dict]:
    """``trainer_pattern_score`` as metric rows {"value", "help"}, the shape ``gan_core.metrics``
    gives its panels, for ``python -m gan_core eval`` and the shipped index."""
    score = trainer_pattern_score(trainer, n)
    return {
        "pattern learned": {"value": "yes" if score["learned"] else "no", "help": (
            f"Every high slot's mean >= {HIGH_AT_LEAST} and every low slot's <= {LOW_AT_MOST}, "
            f"over {n} samples.")},
        "slot means": {"value": " ".join(f"{m:.3f}" for m in score["slot_means"]), "help": (
            "Mean of each of G's 6 outputs; the real pattern is high, low, high, low, high, low.")},
    }
