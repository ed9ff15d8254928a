"""Models: every preset's G and D against the seeds' layers, counted by hand.

The expected numbers below are written as the arithmetic of the seeds' layers (weights + biases,
2 x width for a BatchNorm / LayerNorm), never read back from the code under test:
- seed 000 (000_*.txt): G Linear(100,128) LeakyReLU Dropout(0.5) Linear(128,784) Tanh;
  D Linear(784,128) LeakyReLU Dropout(0.5) Linear(128,1) Sigmoid.  (The post's printed model says
  in_features=200 for G's first layer, but its code sets LATENT_DIM = 100; the code wins.)
- seed 001: G 100-256-256-784 (ReLU, Dropout 0.1, Tanh); D 784-256-256-1 (LeakyReLU(), Dropout 0.1).
- seed 002: D 6-3-3-1 with Sigmoid + LayerNorm(3); G 1-3-3-3-6 with LeakyReLU(0.02) + LayerNorm(3).
- seed 003: G 100-128-256-512-1024-784, BatchNorm1d(eps=0.8) after every Linear but the first.
- seed 004: DCGAN 64x64, ngf = ndf = 64, 4x4 kernels, no biases, BatchNorm on D's first conv too.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gan_core.models import build_models, count_params, model_info
from gan_core.models.common import Dropout
from gan_core.presets import PRESETS, preset

TOY_G = (2 * 128 + 128) + 2 * (128 * 128 + 128) + (128 * 2 + 2)
TOY_D = (2 * 128 + 128) + 2 * (128 * 128 + 128) + (128 * 1 + 1)

HAND_COUNTS: dict[str, tuple[int, int]] = {
    "seed-000-vanilla": ((100 * 128 + 128) + (128 * 784 + 784),
                         (784 * 128 + 128) + (128 * 1 + 1)),
    "seed-001-mlp": ((100 * 256 + 256) + (256 * 256 + 256) + (256 * 784 + 784),
                     (784 * 256 + 256) + (256 * 256 + 256) + (256 * 1 + 1)),
    "seed-002-pattern": ((1 * 3 + 3) + 2 * 3 + (3 * 3 + 3) + 2 * 3 + (3 * 3 + 3) + 2 * 3 + (3 * 6 + 6),
                         (6 * 3 + 3) + 2 * 3 + (3 * 3 + 3) + 2 * 3 + (3 * 1 + 1)),
    "pattern-1010": ((4 * 16 + 16) + (16 * 6 + 6), (6 * 16 + 16) + (16 * 1 + 1)),
    "seed-003-bn-mlp": ((100 * 128 + 128) + (128 * 256 + 256) + 2 * 256 + (256 * 512 + 512) + 2 * 512
                        + (512 * 1024 + 1024) + 2 * 1024 + (1024 * 784 + 784),
                        (784 * 512 + 512) + (512 * 256 + 256) + (256 * 1 + 1)),
    # ConvTranspose2d / Conv2d without bias: in * out * k * k; BatchNorm2d: 2 * channels.
    "seed-004-dcgan": (100 * 512 * 4 * 4 + 2 * 512 + 512 * 256 * 4 * 4 + 2 * 256 + 256 * 128 * 4 * 4
                       + 2 * 128 + 128 * 64 * 4 * 4 + 2 * 64 + 64 * 1 * 4 * 4,
                       1 * 64 * 4 * 4 + 2 * 64 + 64 * 128 * 4 * 4 + 2 * 128 + 128 * 256 * 4 * 4
                       + 2 * 256 + 256 * 512 * 4 * 4 + 2 * 512 + 512 * 1 * 4 * 4),
    # dcgan-small: z 100 -> 7x7 (kernel 7) -> 14 -> 28, ngf = ndf = 32, no BN on D's first conv.
    "dcgan-small": (100 * 64 * 7 * 7 + 2 * 64 + 64 * 32 * 4 * 4 + 2 * 32 + 32 * 1 * 4 * 4,
                    1 * 32 * 4 * 4 + 32 * 64 * 4 * 4 + 2 * 64 + 64 * 1 * 7 * 7),
    "toy-ring": (TOY_G, TOY_D), "toy-grid": (TOY_G, TOY_D),
    "toy-spiral": (TOY_G, TOY_D), "toy-moons": (TOY_G, TOY_D),
    "toy-ring-sharp": (TOY_G, TOY_D), "toy-grid-sharp": (TOY_G, TOY_D),
    "toy-ring-collapse": (TOY_G, TOY_D),
}


def test_every_preset_has_a_hand_count() -> None:
    assert set(HAND_COUNTS) == set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_parameter_counts_match_the_hand_arithmetic(name: str) -> None:
    generator, discriminator = build_models(preset(name))
    assert (count_params(generator), count_params(discriminator)) == HAND_COUNTS[name]


def test_seed_004_on_cifar_counts_three_channels() -> None:
    g_gray, d_gray = HAND_COUNTS["seed-004-dcgan"]
    generator, discriminator = build_models(preset("seed-004-dcgan", dataset="cifar10", channels=3))
    assert count_params(generator) == g_gray + 64 * (3 - 1) * 4 * 4
    assert count_params(discriminator) == d_gray + (3 - 1) * 64 * 4 * 4


# ------------------------------------------------------------------------ exact layers of the seeds
def layers(net: nn.Module) -> list[tuple]:
    """The leaf layers with the settings that define them, in order."""
    out: list[tuple] = []
    for m in net.modules():
        if next(m.children(), None) is not None:
            continue
        kind = type(m).__name__
        if isinstance(m, nn.Linear):
            out.append((kind, m.in_features, m.out_features, m.bias is not None))
        elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            out.append((kind, m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0],
                        m.padding[0], m.bias is not None))
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            out.append((kind, m.num_features, m.eps))
        elif isinstance(m, nn.LayerNorm):
            out.append((kind, m.normalized_shape[0]))
        elif isinstance(m, nn.LeakyReLU):
            out.append((kind, m.negative_slope))
        elif isinstance(m, nn.Dropout):
            out.append((kind, m.p))
        else:
            out.append((kind,))
    return out


def lin(i: int, o: int) -> tuple:
    return ("Linear", i, o, True)


def LR(slope: float) -> tuple:  # noqa: N802 - reads like a layer in the tables below
    return ("LeakyReLU", slope)


def DROP(p: float) -> tuple:  # noqa: N802
    return ("Dropout", p)


TANH, SIGMOID, RELU = ("Tanh",), ("Sigmoid",), ("ReLU",)

EXPECTED_LAYERS: dict[str, tuple[list[tuple], list[tuple]]] = {
    "seed-000-vanilla": (
        [lin(100, 128), LR(0.01), DROP(0.5), lin(128, 784), TANH],
        [lin(784, 128), LR(0.01), DROP(0.5), lin(128, 1), SIGMOID]),
    "seed-001-mlp": (
        [lin(100, 256), RELU, DROP(0.1), lin(256, 256), RELU, DROP(0.1), lin(256, 784), TANH],
        [lin(784, 256), LR(0.01), DROP(0.1), lin(256, 256), LR(0.01), DROP(0.1), lin(256, 1), SIGMOID]),
    "seed-002-pattern": (
        [lin(1, 3), LR(0.02), ("LayerNorm", 3), lin(3, 3), LR(0.02), ("LayerNorm", 3),
         lin(3, 3), LR(0.02), ("LayerNorm", 3), lin(3, 6), LR(0.02)],
        [lin(6, 3), SIGMOID, ("LayerNorm", 3), lin(3, 3), SIGMOID, ("LayerNorm", 3), lin(3, 1), SIGMOID]),
    "pattern-1010": ([lin(4, 16), LR(0.2), lin(16, 6), SIGMOID], [lin(6, 16), LR(0.2), lin(16, 1), SIGMOID]),
    "seed-003-bn-mlp": (
        [lin(100, 128), LR(0.2),
         lin(128, 256), ("BatchNorm1d", 256, 0.8), LR(0.2),
         lin(256, 512), ("BatchNorm1d", 512, 0.8), LR(0.2),
         lin(512, 1024), ("BatchNorm1d", 1024, 0.8), LR(0.2),
         lin(1024, 784), TANH],
        [lin(784, 512), LR(0.2), lin(512, 256), LR(0.2), lin(256, 1), SIGMOID]),
    "seed-004-dcgan": (
        [("ConvTranspose2d", 100, 512, 4, 1, 0, False), ("BatchNorm2d", 512, 1e-5), RELU,
         ("ConvTranspose2d", 512, 256, 4, 2, 1, False), ("BatchNorm2d", 256, 1e-5), RELU,
         ("ConvTranspose2d", 256, 128, 4, 2, 1, False), ("BatchNorm2d", 128, 1e-5), RELU,
         ("ConvTranspose2d", 128, 64, 4, 2, 1, False), ("BatchNorm2d", 64, 1e-5), RELU,
         ("ConvTranspose2d", 64, 1, 4, 2, 1, False), TANH],
        [("Conv2d", 1, 64, 4, 2, 1, False), ("BatchNorm2d", 64, 1e-5), LR(0.2),
         ("Conv2d", 64, 128, 4, 2, 1, False), ("BatchNorm2d", 128, 1e-5), LR(0.2),
         ("Conv2d", 128, 256, 4, 2, 1, False), ("BatchNorm2d", 256, 1e-5), LR(0.2),
         ("Conv2d", 256, 512, 4, 2, 1, False), ("BatchNorm2d", 512, 1e-5), LR(0.2),
         ("Conv2d", 512, 1, 4, 1, 0, False), SIGMOID]),
}


@pytest.mark.parametrize("name", EXPECTED_LAYERS)
def test_seed_presets_have_the_seeds_exact_layers(name: str) -> None:
    generator, discriminator = build_models(preset(name))
    expected_g, expected_d = EXPECTED_LAYERS[name]
    assert layers(generator) == expected_g
    assert layers(discriminator) == expected_d


@pytest.mark.parametrize(("name", "auto_last"), [
    ("seed-000-vanilla", "Tanh"), ("toy-ring", "Linear"), ("dcgan-small", "Tanh"),
    ("seed-002-pattern", "LeakyReLU")])
def test_g_output_auto_is_each_familys_own_and_the_others_replace_it(name: str, auto_last: str) -> None:
    last = {choice: type(list(build_models(preset(name, g_output=choice))[0].modules())[-1]).__name__
            for choice in ("auto", "leaky_relu", "sigmoid", "tanh", "none")}
    assert last == {"auto": auto_last, "leaky_relu": "LeakyReLU", "sigmoid": "Sigmoid",
                    "tanh": "Tanh", "none": "Linear" if name != "dcgan-small" else "ConvTranspose2d"}


def test_seed_001_init_is_xavier_with_biases_in_0_1_to_0_2() -> None:
    generator, discriminator = build_models(preset("seed-001-mlp"))
    for net in (generator, discriminator):
        for p in net.parameters():
            if p.dim() == 1:
                assert p.min() >= 0.1 and p.max() <= 0.2
    first = generator.body[0].weight            # Xavier-normal: std = sqrt(2 / (fan_in + fan_out))
    assert abs(first.std().item() - (2 / (100 + 256)) ** 0.5) < 0.01


def test_seed_004_init_is_dcgan_normal() -> None:
    generator, discriminator = build_models(preset("seed-004-dcgan"))
    convs = [m for net in (generator, discriminator) for m in net.modules()
             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    big = [m.weight for m in convs if m.weight.numel() > 100_000]
    assert big and all(abs(w.mean().item()) < 0.002 and abs(w.std().item() - 0.02) < 0.001 for w in big)
    norms = [m for net in (generator, discriminator) for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 8
    weights = torch.cat([m.weight.detach() for m in norms])
    assert abs(weights.mean().item() - 1.0) < 0.005 and 0.01 < weights.std().item() < 0.03
    assert all(torch.count_nonzero(m.bias) == 0 for m in norms)


@pytest.mark.parametrize("name", ["seed-004-dcgan", "dcgan-small"])
def test_dcgan_shapes_double_up_to_the_image_size(name: str) -> None:
    config = preset(name)
    generator, discriminator = build_models(config)
    z = torch.rand(2, config.latent_dim)
    images = generator.eval()(z)
    assert images.shape == (2, *config.sample_shape)
    assert images.min() >= -1 and images.max() <= 1
    p = discriminator.eval()(images)
    assert p.shape == (2,) and ((p > 0) & (p < 1)).all()


# ------------------------------------------------------------------------------------ model_info
@pytest.mark.parametrize("name", PRESETS)
def test_model_info_counts_and_shapes(name: str) -> None:
    config = preset(name)
    info = model_info(config)
    assert (info["generator_params"], info["discriminator_params"]) == HAND_COUNTS[name]
    for which in ("generator", "discriminator"):
        assert sum(row["params"] for row in info[f"{which}_layers"]) == info[f"{which}_params"]
    last_g = info["generator_layers"][-1]["output_shape"]     # flat for an MLP, C x H x W for a conv G
    assert last_g in ([math.prod(config.sample_shape)], list(config.sample_shape))
    assert info["discriminator_layers"][-1]["type"] == "Sigmoid"
    assert info["sample_shape"] == list(config.sample_shape)


def test_model_info_shapes_of_seed_004() -> None:
    shapes = [row["output_shape"] for row in model_info(preset("seed-004-dcgan"))["generator_layers"]
              if row["type"] == "ConvTranspose2d"]
    assert shapes == [[512, 4, 4], [256, 8, 8], [128, 16, 16], [64, 32, 32], [1, 64, 64]]


def test_packing_widens_only_d_input() -> None:
    plain, packed = (build_models(preset("toy-ring", pack=k)) for k in (1, 4))
    assert count_params(packed[0]) == count_params(plain[0])
    assert count_params(packed[1]) - count_params(plain[1]) == (4 - 1) * 2 * 128


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_our_dropout_keeps_torchs_law(p: float) -> None:
    """Each unit kept with probability 1 - p and scaled by 1 / (1 - p); the gradient is the same
    mask; nothing happens in eval mode or with p = 0, and p = 1 drops everything."""
    torch.manual_seed(0)
    x = torch.ones(200_000, requires_grad=True)
    y = Dropout(p).train()(x)
    kept = y.detach() > 0
    assert abs(kept.float().mean().item() - (1 - p)) < 0.005
    assert torch.allclose(y.detach()[kept], torch.tensor(1 / (1 - p)))
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())
    assert torch.equal(Dropout(p).eval()(x), x) and torch.equal(Dropout(0.0).train()(x), x)
    assert not Dropout(1.0).train()(x).any()
