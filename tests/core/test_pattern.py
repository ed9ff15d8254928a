"""The '1010' pattern: the pattern-1010 preset learns it headless at its default length, and the
check that says so reads the high slots from the real data."""
from __future__ import annotations

import torch

from gan_core.metrics import pattern_score, trainer_pattern_score
from gan_core.presets import preset
from gan_core.trainer import Trainer


def test_pattern_1010_learns_the_pattern_at_its_default_steps() -> None:
    trainer = Trainer(preset("pattern-1010", device="cpu"))
    for _ in range(trainer.config.steps):
        trainer.step()
    trainer.flush()
    score = trainer_pattern_score(trainer)
    assert score["learned"], score["slot_means"]


def test_the_check_follows_the_real_datas_slots() -> None:
    real = torch.tensor([[0.9, 0.1, 0.9, 0.1, 0.9, 0.1]]).repeat(10, 1)
    assert pattern_score(real, real)["learned"]
    assert not pattern_score(1 - real, real)["learned"]
    assert not pattern_score(real * 0 + 0.5, real)["learned"]
    overshoot = real.clone()
    overshoot[:, 1] = 0.3                      # one low slot too high is enough to fail
    assert not pattern_score(overshoot, real)["learned"]
