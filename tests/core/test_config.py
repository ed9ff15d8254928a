"""TrainConfig: validation names the bad field, JSON round-trips, CLI-style overrides parse."""
from __future__ import annotations

import dataclasses
import json

import pytest

from gan_core.config import CHOICES, ConfigError, TrainConfig
from gan_core.presets import PRESETS, describe, preset

BAD_CONFIGS = [
    # wrong types
    (dict(latent_dim="5"), "latent_dim"),
    (dict(latent_dim=2.5), "latent_dim"),
    (dict(batch_size=True), "batch_size"),
    (dict(lr_g="fast"), "lr_g"),
    (dict(lr_d=float("nan")), "lr_d"),
    (dict(beta1=None), "beta1"),
    (dict(g_batchnorm=1), "g_batchnorm"),
    (dict(g_hidden=64), "g_hidden"),
    (dict(d_hidden=[64, "wide"]), "d_hidden"),
    (dict(dataset=3), "dataset"),
    # out of range
    (dict(latent_dim=0), "latent_dim"),
    (dict(batch_size=0), "batch_size"),
    (dict(d_steps=0), "d_steps"),
    (dict(steps=0), "steps"),
    (dict(lr_g=0.0), "lr_g"),
    (dict(lr_d=100.0), "lr_d"),
    (dict(beta1=1.0), "beta1"),
    (dict(beta2=-0.1), "beta2"),
    (dict(dropout=0.99), "dropout"),
    (dict(leaky_slope=-0.2), "leaky_slope"),
    (dict(bn_eps=0.0), "bn_eps"),
    (dict(seed=-1), "seed"),
    (dict(metrics_every=0), "metrics_every"),
    (dict(image_size=4), "image_size"),
    (dict(channels=2), "channels"),
    (dict(g_hidden=[]), "g_hidden"),
    (dict(d_hidden=[128, 0]), "d_hidden"),
    # unknown choices
    (dict(dataset="imagenet"), "dataset"),
    (dict(arch="resnet"), "arch"),
    (dict(loss="hinge"), "loss"),
    (dict(g_loss="wasserstein"), "g_loss"),
    (dict(d_update="max"), "d_update"),
    (dict(noise="cauchy"), "noise"),
    (dict(optimizer="rmsprop"), "optimizer"),
    (dict(order="random"), "order"),
    (dict(init="kaiming"), "init"),
    (dict(g_activation="gelu"), "g_activation"),
    (dict(g_output="softmax"), "g_output"),
    (dict(device="tpu"), "device"),
    (dict(device=""), "device"),
    (dict(device="cuda:first"), "device"),
    # combinations that cannot work
    (dict(arch="dcgan", dataset="ring"), "arch"),
    (dict(arch="dcgan", image_size=48), "image_size"),
    (dict(arch="pattern", dataset="moons"), "arch"),
    (dict(pack=3, batch_size=64), "pack"),
    (dict(pack=2, arch="dcgan"), "pack"),
    (dict(channels=3), "channels"),                        # mnist-offline is grey
    (dict(dataset="cifar10", channels=1), "channels"),
    (dict(dataset="folder"), "image_folder"),
    (dict(dataset="points-file"), "points_file"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_CONFIGS, ids=[f for _, f in BAD_CONFIGS])
def test_bad_values_raise_config_error_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**changes)
    assert caught.value.field == field
    message = str(caught.value)
    assert message.startswith(f"{field}: ") and "\n" not in message


def test_replace_and_from_dict_validate_too() -> None:
    config = TrainConfig()
    with pytest.raises(ConfigError) as caught:
        config.replace(batch_size=-4)
    assert caught.value.field == "batch_size"
    assert config.batch_size == 64      # the original is untouched


@pytest.mark.parametrize("build", [
    lambda: TrainConfig.from_dict({"lr": 0.1}),
    lambda: TrainConfig().replace(lr=0.1),
    lambda: preset("toy-ring", lr=0.1),
    lambda: TrainConfig.from_json('{"lr": 0.1, "seed": 1}'),
])
def test_unknown_fields_are_refused(build) -> None:
    with pytest.raises(ConfigError) as caught:
        build()
    assert caught.value.field == "lr"
    assert "not a config field" in str(caught.value)


def test_range_message_says_what_is_allowed() -> None:
    with pytest.raises(ConfigError, match=r"d_steps: 0 is outside the allowed range \[1, 100\]"):
        TrainConfig(d_steps=0)
    with pytest.raises(ConfigError, match="hinge.*not one of bce, log, mse"):
        TrainConfig(loss="hinge")


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_every_choice_has_one_line_help() -> None:
    for name, options in CHOICES.items():
        assert options, name
        for option, text in options.items():
            assert text and "\n" not in text, (name, option)


# ------------------------------------------------------------------------------------ JSON
@pytest.mark.parametrize("name", PRESETS)
def test_presets_round_trip_through_json(name: str) -> None:
    config = preset(name)
    again = TrainConfig.from_json(config.to_json())
    assert again == config
    assert json.loads(config.to_json()) == dataclasses.asdict(config)


def test_json_round_trip_preserves_every_field() -> None:
    unusual = TrainConfig(
        dataset="cifar10", image_size=32, channels=3, image_folder="x", points_file="p.csv",
        data_dir="elsewhere",
        arch="dcgan", latent_dim=7, g_hidden=[3, 5], d_hidden=[9], g_activation="leaky_relu",
        d_activation="relu", g_output="sigmoid", leaky_slope=0.3, dropout=0.25, g_batchnorm=True, bn_eps=0.8, ngf=12,
        ndf=10, d_first_bn=True, init="dcgan", pack=1, loss="mse", g_loss="saturating",
        d_update="split", noise="uniform01", noise_constant=0.75, optimizer="sgd", lr_g=0.003,
        lr_d=0.004, beta1=0.1, beta2=0.2, momentum=0.9, batch_size=24, d_steps=3, order="g_first",
        steps=77, seed=99, device="cpu", metrics_every=3, eval_every=11, lr_decay=0.5,
        r1_gamma=0.25)
    defaults = TrainConfig()
    changed = [f.name for f in dataclasses.fields(TrainConfig)
               if getattr(unusual, f.name) == getattr(defaults, f.name)]
    assert changed == ["pack"]          # every other field differs from its default
    again = TrainConfig.from_json(unusual.to_json())
    assert again == unusual
    assert type(again.lr_g) is float and type(again.g_hidden) is list and again.g_batchnorm is True


# ------------------------------------------------------------------------------- overrides
def test_with_overrides_parses_each_type() -> None:
    config = TrainConfig().with_overrides([
        "lr_g=1e-4", "batch_size=32", "g_batchnorm=true", "d_first_bn=off", "g_hidden=64,32",
        "d_hidden=[16, 8]", "loss=mse", "noise_constant=1", "dropout=0", " seed = 5 "])
    assert config.lr_g == 1e-4 and type(config.lr_g) is float
    assert config.batch_size == 32 and type(config.batch_size) is int
    assert config.g_batchnorm is True and config.d_first_bn is False
    assert config.g_hidden == [64, 32] and config.d_hidden == [16, 8]
    assert config.loss == "mse"
    assert config.noise_constant == 1.0 and type(config.noise_constant) is float
    assert config.dropout == 0.0 and config.seed == 5


@pytest.mark.parametrize(("assignment", "field"), [
    ("learning_rate=1e-3", "learning_rate"),
    ("lr_g", "lr_g"),                     # no '='
    ("lr_g=fast", "lr_g"),
    ("batch_size=1.5", "batch_size"),
    ("batch_size=big", "batch_size"),
    ("g_batchnorm=maybe", "g_batchnorm"),
    ("g_hidden=64,x", "g_hidden"),
    ("loss=hinge", "loss"),
    ("lr_d=20", "lr_d"),
])
def test_with_overrides_refuses_bad_assignments(assignment: str, field: str) -> None:
    config = TrainConfig()
    with pytest.raises(ConfigError) as caught:
        config.with_overrides([assignment])
    assert caught.value.field == field
    assert config == TrainConfig()


# ------------------------------------------------------------------------------- derived facts
@pytest.mark.parametrize(("name", "kind", "shape"), [
    ("seed-000-vanilla", "image", (1, 28, 28)), ("seed-004-dcgan", "image", (1, 64, 64)),
    ("toy-grid", "points", (2,)), ("seed-002-pattern", "pattern", (6,))])
def test_data_kind_and_sample_shape(name: str, kind: str, shape: tuple) -> None:
    config = preset(name)
    assert (config.data_kind, config.sample_shape) == (kind, shape)


def test_presets_are_the_fixed_names_with_descriptions() -> None:
    assert list(PRESETS)[:6] == ["seed-000-vanilla", "seed-001-mlp", "seed-002-pattern",
                                 "seed-003-bn-mlp", "seed-004-dcgan", "dcgan-small"]
    assert {"toy-ring", "toy-grid"} <= set(PRESETS) and len([p for p in PRESETS if p.startswith("toy-")]) >= 4
    assert all(describe(name) and "\n" not in describe(name) for name in PRESETS)
    with pytest.raises(KeyError, match="unknown preset"):
        preset("seed-999")


@pytest.mark.parametrize(("name", "expected"), [
    ("seed-000-vanilla", dict(noise="uniform_pm1", loss="bce", order="g_first", d_update="mean",
                              lr_g=1e-3, lr_d=1e-3, batch_size=128, seed=123, dropout=0.5)),
    ("seed-001-mlp", dict(noise="normal", loss="log", g_loss="non_saturating", order="d_first",
                          d_update="sum", init="xavier", lr_g=2e-4, lr_d=2e-4, batch_size=200)),
    ("seed-002-pattern", dict(noise="constant", noise_constant=0.5, latent_dim=1, loss="bce",
                              d_update="split", order="d_first", lr_d=1e-3, lr_g=1e-2, batch_size=1)),
    ("seed-003-bn-mlp", dict(noise="normal", loss="bce", order="g_first", lr_g=2e-4, beta1=0.5,
                             beta2=0.999, batch_size=128, bn_eps=0.8, g_batchnorm=True)),
    ("seed-004-dcgan", dict(noise="uniform01", image_size=64, ngf=64, ndf=64, init="dcgan",
                            order="g_first", lr_g=2e-4, beta1=0.5, batch_size=64, seed=2020)),
    ("toy-ring", dict(dataset="ring", latent_dim=2)),
    ("toy-grid", dict(dataset="grid", latent_dim=2)),
])
def test_seed_recipes(name: str, expected: dict) -> None:
    config = preset(name)
    assert {k: getattr(config, k) for k in expected} == expected
