"""Memory budget: estimates from the config alone, checked against the real networks and data."""
from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import torch

from gan_core.budget import (FLOAT_BYTES, BudgetError, Estimate, check, estimate, folder_files,
                             format_bytes, output_shape, weight_shapes)
from gan_core.config import ConfigError, TrainConfig
from gan_core.data import IMAGE_SOURCES, load_dataset, offline_digits
from gan_core.models import build_models, count_params
from gan_core.presets import PRESETS, preset

LIMIT = 1_500_000_000
HUGE = [dict(g_hidden=[16384] * 6, d_hidden=[16384] * 6),
       dict(g_hidden=[16384, 16384], d_hidden=[16384, 16384], batch_size=8192),
       dict(arch="dcgan", ngf=1024, ndf=1024, image_size=64),
       dict(dataset="mnist", image_size=256, batch_size=8192)]


# Every network the presets build (the toy presets share one).
NETWORKS = [name for name in PRESETS if not name.startswith("toy-")] + ["toy-ring"]


@pytest.fixture(scope="module", params=NETWORKS)
def built(request: pytest.FixtureRequest) -> tuple[TrainConfig, torch.nn.Module, torch.nn.Module]:
    config = preset(request.param)
    return (config, *build_models(config))


# ------------------------------------------------------------------------ against the real thing
def test_parameter_counts_are_exact(built) -> None:
    config, generator, discriminator = built
    est = estimate(config)
    assert (est.params_g, est.params_d) == (count_params(generator), count_params(discriminator))


def test_weight_shapes_are_the_real_state_dicts(built) -> None:
    config, generator, discriminator = built
    expected_g, expected_d = weight_shapes(config)
    assert expected_g == {k: v.shape for k, v in generator.state_dict().items()}
    assert expected_d == {k: v.shape for k, v in discriminator.state_dict().items()}


def test_shape_arithmetic_matches_a_real_forward_pass(built) -> None:
    """Every layer of every preset, at a batch of 4: the shapes the budget computes are the ones
    torch produces (so a new layer type without a rule fails here, not on a server)."""
    config, generator, discriminator = built
    seen = []

    def compare(layer, inputs, output) -> None:
        seen.append(layer)
        assert output_shape(layer, tuple(inputs[0].shape)) == tuple(output.shape), layer

    hooks = [layer.register_forward_hook(compare) for net in (generator, discriminator) for layer in net.body]
    try:
        with torch.no_grad():
            discriminator(generator(torch.zeros(4, config.latent_dim)))
    finally:
        for hook in hooks:
            hook.remove()
    assert len(seen) == len(generator.body) + len(discriminator.body)


def test_weights_count_weight_gradient_adam_moments_and_rollback_copies() -> None:
    config = preset("toy-ring")
    est = estimate(config)
    params = est.params_g + est.params_d
    # weight + gradient + 2 moments, 2 rollback copies of (weight + 2 moments), the metrics' G.
    assert est.weights_bytes == FLOAT_BYTES * (params * (2 + 2 + 2 * 3) + est.params_g)
    sgd = estimate(config.replace(optimizer="sgd"))
    assert sgd.weights_bytes == FLOAT_BYTES * (params * 4 + est.params_g)
    assert estimate(config.replace(optimizer="sgd", momentum=0.9)).weights_bytes > sgd.weights_bytes


def test_activations_grow_with_the_batch_and_pack_changes_nothing_else() -> None:
    small, big = estimate(preset("toy-ring", batch_size=64)), estimate(preset("toy-ring", batch_size=128))
    assert big.activation_bytes == 2 * small.activation_bytes
    assert big.sampling_bytes == small.sampling_bytes and big.data_bytes == small.data_bytes
    packed = estimate(preset("toy-ring", batch_size=64, pack=4))
    assert packed.params_d > small.params_d and packed.activation_bytes < small.activation_bytes


@pytest.mark.parametrize("name", ["toy-ring", "seed-002-pattern", "seed-000-vanilla"])
def test_data_bytes_are_the_loaded_tensors(name: str) -> None:
    config = preset(name)
    data = load_dataset(config)
    tensors = [data.train, data.held_out, data.train_labels, data.held_out_labels]
    assert estimate(config).data_bytes == sum(t.numel() * t.element_size() for t in tensors if t is not None)
    assert IMAGE_SOURCES["mnist-offline"][0] == sum(len(t) for t in offline_digits()[::2])


def test_resized_images_count_both_sizes() -> None:
    at_28, at_64 = (estimate(TrainConfig(dataset="mnist", image_size=s)).data_bytes for s in (28, 64))
    assert at_28 == 70_000 * (28 * 28 * FLOAT_BYTES + 8)
    assert at_64 == 70_000 * ((28 * 28 + 64 * 64) * FLOAT_BYTES + 8)


def test_a_folder_is_counted_without_reading_it(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for i, size in enumerate((100, 200, 300)):
        (tmp_path / ("sub" if i else ".") / f"f{i}.png").write_bytes(b"x" * size)
    (tmp_path / "loop").symlink_to(tmp_path)          # not followed, as the folder source does
    assert folder_files(str(tmp_path)) == (3, 600)
    config = TrainConfig(dataset="folder", image_folder=str(tmp_path), image_size=32, channels=3)
    assert estimate(config).data_bytes == 3 * 3 * 32 * 32 * FLOAT_BYTES + 600
    assert folder_files(str(tmp_path / "missing")) == (0, 0)


# ------------------------------------------------------------------------ huge configs, cheaply
def test_huge_configs_are_sized_fast_and_refused_under_their_knob() -> None:
    started = time.perf_counter()
    estimates = [estimate(TrainConfig(**kw)) for kw in HUGE]
    assert time.perf_counter() - started < 0.5
    assert all(e.total_bytes > 10 * LIMIT for e in estimates)
    fields = []
    for kw in HUGE:
        with pytest.raises(BudgetError) as caught:
            check(TrainConfig(**kw), LIMIT)
        message = str(caught.value)
        assert isinstance(caught.value, ConfigError) and "\n" not in message
        assert message.startswith(f"{caught.value.field}: this run needs about ")
        assert message.endswith("this server allows 1.5 GB per run.")
        assert caught.value.limit_bytes == LIMIT and caught.value.estimate.total_bytes > LIMIT
        fields.append(caught.value.field)
    assert fields == ["g_hidden", "batch_size", "ngf", "image_size"]


@pytest.mark.parametrize(("changes", "field"), [
    (dict(d_hidden=[8192, 8192]), "d_hidden"), (dict(arch="dcgan", ndf=512), "ndf"),
    (dict(dataset="ring", g_hidden=[64], d_hidden=[64], batch_size=8192), "batch_size"),
    (dict(dataset="ring", latent_dim=2, g_hidden=[2], d_hidden=[2], batch_size=1), "dataset")])
def test_the_largest_part_names_its_knob(changes: dict, field: str) -> None:
    config = TrainConfig(**changes)
    assert estimate(config).largest_field(config) == field


def test_every_preset_fits_well_under_a_few_gigabytes() -> None:
    for name in PRESETS:
        est = check(preset(name), 2 * 10**9)
        assert isinstance(est, Estimate) and 1_000_000 < est.total_bytes < 2 * 10**9


@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (950, "950 B"), (1000, "1.0 KB"),
                                         (350_000_000, "350 MB"), (1_500_000_000, "1.5 GB"),
                                         (6_149_000_000, "6.1 GB"), (12_300_000_000, "12 GB"),
                                         (9_990_000_000, "10 GB"), (3 * 10**15, "3000 TB")])
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


def test_sampling_is_sized_for_the_metrics_batch() -> None:
    toy, moons = estimate(preset("toy-ring")), estimate(preset("toy-moons"))
    assert toy.sampling_bytes * 1000 == moons.sampling_bytes * 2500   # 2,500 samples vs 1,000
    digits = preset("seed-000-vanilla")
    per_sample = (128 * 3 + 784 * 2) * FLOAT_BYTES   # Linear, LeakyReLU, Dropout; Linear, Tanh
    assert estimate(digits).sampling_bytes == per_sample * 1000
    assert math.isclose(estimate(digits.replace(batch_size=512)).sampling_bytes,
                        estimate(digits).sampling_bytes)
    large = preset("seed-004-dcgan", eval_every=0)       # 64x64: the live measure scores 200 samples,
    evaluated = large.replace(eval_every=100)            # a held-out evaluation 1,000
    assert estimate(evaluated).sampling_bytes == 5 * estimate(large).sampling_bytes
