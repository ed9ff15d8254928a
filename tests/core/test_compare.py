"""Comparisons: variants that start alike and step in lockstep, alone or in a run's process."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_core import Trainer
from gan_core.checkpoint import load_trainer, trainer_bytes
from gan_core.compare import Lockstep, labels, variant_configs
from gan_core.config import ConfigError
from gan_core.presets import preset
from gan_core.run_process import RunProcess
from gan_core.runner import RunSlots, Runner

WAIT = 60.0


def mlp(device: str = "cpu", **changes):
    """seed-001's MLP on the ring: dropout in D draws from torch's global random state."""
    return preset("toy-ring", device=device, dropout=0.3, g_hidden=[32], d_hidden=[32], metrics_every=10, steps=1000, **changes)


def losses_of(trainer: Trainer) -> np.ndarray:
    trainer.flush()
    return np.array([trainer.history.loss_d, trainer.history.loss_g])


def test_a_knob_that_has_not_acted_yet_gives_identical_numbers():
    # lr_decay=0.5 lowers the learning rates only after step 500 of 1,000.
    steps = Lockstep.build(variant_configs(mlp(), [{}, {"lr_decay": 0.5}]))
    for _ in range(60):
        steps.step()
    a, b = (losses_of(t) for t in steps.trainers)
    assert a.shape == (2, 60)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a GPU"))])   # on a GPU, dropout draws from the GPU's generator
def test_each_variant_trains_as_it_would_alone(device: str):
    configs = variant_configs(mlp(device), [{}, {"loss": "mse", "lr_d": 0.01}])
    steps = Lockstep.build(configs)
    for _ in range(40):
        steps.step()
    for config, trainer in zip(configs, steps.trainers):
        alone = Trainer(config)
        for _ in range(40):
            alone.step()
        np.testing.assert_array_equal(losses_of(trainer), losses_of(alone))
    assert not np.array_equal(losses_of(steps.trainers[0]), losses_of(steps.trainers[1]))


def test_variants_in_slow_motion_train_phase_by_phase_as_they_would_alone():
    configs = variant_configs(mlp(), [{}, {"order": "g_first", "d_steps": 2}])
    steps = Lockstep.build(configs)
    shown = [sides for _ in range(20) for sides in steps.phases()]
    assert shown[:2] == [["d", "g"], ["g", "d"]]      # each variant's phases in its own order
    for config, trainer in zip(configs, steps.trainers):
        alone = Trainer(config)
        for _ in range(20):
            alone.step()
        np.testing.assert_array_equal(losses_of(trainer), losses_of(alone))


def test_variants_start_from_the_same_weights():
    steps = Lockstep.build(variant_configs(mlp(), [{"g_loss": "saturating"}, {"g_loss": "non_saturating"}]))
    first, second = (t.G.state_dict() for t in steps.trainers)
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_a_fork_continues_a_run_with_other_live_knobs():
    run = Trainer(mlp())
    for _ in range(30):
        run.step()
    saved = trainer_bytes(run)
    steps = Lockstep.load(saved, variant_configs(run.config, [{}, {"optimizer": "sgd"}]))
    assert [t.step_count for t in steps.trainers] == [30, 30]
    assert steps.trainers[1].config.optimizer == "sgd"
    steps.step()
    alone = load_trainer(saved)
    alone.step()
    np.testing.assert_array_equal(losses_of(steps.trainers[0]), losses_of(alone))


def test_a_fork_cannot_change_the_architecture():
    run = Trainer(mlp())
    with pytest.raises(ConfigError):
        Lockstep.load(trainer_bytes(run), variant_configs(run.config, [{}, {"g_hidden": [64]}]))


def test_variant_configs_refuse_a_seed_change_and_too_many_variants():
    with pytest.raises(ConfigError, match="seed"):
        variant_configs(mlp(), [{}, {"seed": 3}])
    with pytest.raises(ConfigError, match="2 to 4"):
        variant_configs(mlp(), [{}] * 5)
    assert labels(variant_configs(mlp(), [{"loss": "bce"}, {"loss": "log"}])) == ["A: loss=bce", "B: loss=log"]


def test_a_diverged_variant_stops_while_the_other_goes_on():
    # The bce-vs-log lesson: the hand-written log reaches log(0) at step 2, the library BCE does not.
    base = preset("seed-001-mlp", device="cpu", lr_g=0.01, lr_d=0.01)
    steps = Lockstep.build(variant_configs(base, [{"loss": "log"}, {"loss": "bce"}]))
    for _ in range(20):
        steps.step()
    steps.flush()
    assert steps.stopped[0].startswith("A stopped: Training diverged") and not steps.stopped[1]
    assert steps.trainers[0].step_count < 20 == steps.trainers[1].step_count


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_a_comparison_run_publishes_each_variant(kind):
    configs = variant_configs(mlp(), [{"loss": "bce"}, {"loss": "mse"}])
    run = (RunProcess(configs, slots=RunSlots(2)) if kind == "process"
           else Runner(configs, slots=RunSlots(2), live_metrics=None))
    try:
        run.wait_for(lambda s: s.status == "paused", WAIT)
        for _ in range(3):
            run.step()
        snap = run.wait_for(lambda s: s.step == 3 and len(s.variants) == 2, WAIT)
        assert [v.config.loss for v in snap.variants] == ["bce", "mse"]
        assert [len(v.history["step"]) for v in snap.variants] == [3, 3]
        assert snap.variants[0].history["loss_d"][0] != snap.variants[1].history["loss_d"][0]
        assert run.history_csv(WAIT).startswith("variant,step")
        parked = run.checkpoint_bytes(WAIT)
    finally:
        run.stop()
    resumed = Lockstep.load(parked, configs)
    assert [t.step_count for t in resumed.trainers] == [3, 3]
    assert [t.config.loss for t in resumed.trainers] == ["bce", "mse"]
