"""Presets: named TrainConfigs.  Data, not code paths — the trainer never sees a preset's name.

The five seed presets reproduce the reference posts (layers, init, optimiser, update order, batch
size); their default length is sized for a CPU, and each description says how long the seed
trained.  The seeds trained on full MNIST; the presets default to the 5,000 offline digits so the
app works with no network (pick dataset "mnist" to download the full set).
"""
from __future__ import annotations

from typing import Any

from .config import TrainConfig

_MNIST_MLP = dict(dataset="mnist-offline", image_size=28, channels=1, arch="mlp", latent_dim=100)

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "seed-000-vanilla": (
        "Seed 000: vanilla MLP GAN, 1 hidden layer of 128, Dropout 0.5, U(-1,1) noise, BCE, "
        "G step first (seed: 100 epochs of MNIST)",
        dict(_MNIST_MLP, g_hidden=[128], d_hidden=[128], g_activation="leaky_relu",
             d_activation="leaky_relu", leaky_slope=0.01, dropout=0.5, noise="uniform_pm1",
             loss="bce", g_loss="non_saturating", d_update="mean", order="g_first",
             optimizer="adam", lr_g=1e-3, lr_d=1e-3, beta1=0.9, beta2=0.999, batch_size=128,
             seed=123, steps=3000)),
    "seed-001-mlp": (
        "Seed 001: MLP GAN 256-256 with the paper's hand-written log loss, Xavier init, D step "
        "first, D(x)/D(G(z)) evaluated every epoch (seed: 200 epochs of MNIST); on a 2-core CPU: "
        "~5 min on a free core (15 on a busy one, about 4,000 steps) until digit shapes appear; "
        "meanwhile the samples are noise: watch D(x) fall from 1 and D(G(z)) rise from 0",
        dict(_MNIST_MLP, g_hidden=[256, 256], d_hidden=[256, 256], g_activation="relu",
             d_activation="leaky_relu", leaky_slope=0.01, dropout=0.1, init="xavier", noise="normal",
             loss="log", g_loss="non_saturating", d_update="sum", order="d_first",
             optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.9, beta2=0.999, batch_size=200,
             eval_every=20, steps=4000)),
    "seed-002-pattern": (
        "Seed 002: the tiny '1010' pattern GAN, LayerNorm nets, constant input 0.5, batch 1, "
        "D real / D fake / G updates (seed: 100,000 iterations); both losses settle at ln 2 while "
        "G's unbounded LeakyReLU output misses the pattern: see pattern-1010 for the fix",
        dict(dataset="pattern", arch="pattern", latent_dim=1, g_hidden=[3, 3, 3], d_hidden=[3, 3],
             leaky_slope=0.02, noise="constant", noise_constant=0.5, loss="bce",
             g_loss="non_saturating", d_update="split", order="d_first", optimizer="adam",
             lr_g=1e-2, lr_d=1e-3, beta1=0.9, beta2=0.999, batch_size=1, steps=10000,
             metrics_every=100)),
    "seed-003-bn-mlp": (
        "Seed 003: deep MLP G 128-256-512-1024 with BatchNorm (eps 0.8, as in the seed), "
        "LeakyReLU 0.2, G step first, Adam betas (0.5, 0.999) (seed: ~100 epochs of MNIST)",
        dict(_MNIST_MLP, g_hidden=[128, 256, 512, 1024], d_hidden=[512, 256],
             g_activation="leaky_relu", d_activation="leaky_relu", leaky_slope=0.2,
             g_batchnorm=True, bn_eps=0.8, noise="normal", loss="bce", g_loss="non_saturating",
             d_update="mean", order="g_first", optimizer="adam", lr_g=2e-4, lr_d=2e-4,
             beta1=0.5, beta2=0.999, batch_size=128, steps=3000)),
    "seed-004-dcgan": (
        "Seed 004: DCGAN at 64x64 (ngf = ndf = 64, BatchNorm also on D's first layer), "
        "U[0,1) noise, G step first (seed: MNIST or CIFAR-10, stopped early as unstable)",
        dict(dataset="mnist-offline", image_size=64, channels=1, arch="dcgan", latent_dim=100,
             ngf=64, ndf=64, d_first_bn=True, init="dcgan", leaky_slope=0.2, noise="uniform01",
             loss="bce", g_loss="non_saturating", d_update="mean", order="g_first",
             optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, batch_size=64,
             seed=2020, steps=1000, metrics_every=10)),
    "dcgan-small": (
        "A DCGAN sized for a 2-core CPU: 28x28, ngf = ndf = 32, with an R1 penalty (r1_gamma 1) "
        "that keeps D from memorising the 4,000 offline digits; all ten digits in minutes",
        dict(dataset="mnist-offline", image_size=28, channels=1, arch="dcgan", latent_dim=100,
             ngf=32, ndf=32, init="dcgan", leaky_slope=0.2, noise="normal", loss="bce",
             g_loss="non_saturating", d_update="mean", order="d_first", optimizer="adam",
             lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, r1_gamma=1.0, batch_size=64,
             steps=3500)),
    "pattern-1010": (
        "The '1010' pattern learned: seed 002's game with G's output squashed into [0, 1] by a "
        "Sigmoid (g_output), 16-unit LeakyReLU nets whose D can see the pattern, an R1 penalty "
        "(r1_gamma 0.1) that lets the game settle, z ~ N(0, I) in 4D and batches of 64; learns "
        "the pattern in 200 steps (python -m bench.pattern_seeds counts the seeds that do)",
        dict(dataset="pattern", arch="mlp", latent_dim=4, g_hidden=[16], d_hidden=[16],
             g_activation="leaky_relu", d_activation="leaky_relu", leaky_slope=0.2,
             g_output="sigmoid", noise="normal", loss="bce", g_loss="non_saturating",
             d_update="mean", r1_gamma=0.1, order="d_first", optimizer="adam", lr_g=5e-3,
             lr_d=5e-3, beta1=0.5, beta2=0.999, batch_size=64, steps=200, metrics_every=25)),
}

_TOY = dict(arch="mlp", latent_dim=2, g_hidden=[128, 128, 128], d_hidden=[128, 128, 128],
            g_activation="relu", d_activation="leaky_relu", leaky_slope=0.2, noise="normal",
            loss="bce", g_loss="non_saturating", d_update="mean", order="d_first",
            optimizer="adam", lr_g=1e-3, lr_d=1e-3, beta1=0.5, beta2=0.999, batch_size=256,
            steps=3000, metrics_every=50)
for _shape, _text in (("ring", "a ring of 8 Gaussians (radius 1, sigma 0.01)"),
                      ("grid", "a 5x5 grid of 25 Gaussians (spacing 2, sigma 0.05)"),
                      ("spiral", "a two-turn spiral"), ("moons", "two interleaving moons")):
    PRESETS[f"toy-{_shape}"] = (f"2D toy (GAN Lab style): MLP GAN on {_text}", dict(_TOY, dataset=_shape))

# Recipes scored with PacGAN's protocol (python -m bench.toy_quality, 5 seeds): the toy nets with
# an R1 penalty (r1_gamma) that keeps every mode, balanced, trained longer with both learning
# rates decayed at the end so G settles on the modes instead of circling them; and the toy nets
# pushed into mode collapse by heavy momentum.
PRESETS["toy-ring-sharp"] = (
    "Ring recipe to beat PacGAN's table: toy-ring with R1 (r1_gamma 0.1), batch 512, 8,000 steps, "
    "learning rates decayed linearly over the second half (lr_decay 0.5)",
    dict(_TOY, dataset="ring", r1_gamma=0.1, batch_size=512, steps=8000, lr_decay=0.5))
PRESETS["toy-grid-sharp"] = (
    "Grid recipe to beat PacGAN's table: toy-grid with R1 (r1_gamma 0.1), 14,000 steps, learning "
    "rates decayed linearly over the last 60% (lr_decay 0.6)",
    dict(_TOY, dataset="grid", r1_gamma=0.1, steps=14000, lr_decay=0.6))
PRESETS["toy-ring-collapse"] = (
    "Mode collapse on purpose: toy-ring with Adam beta1 0.9, learning rates 2e-3 and batch 64; "
    "G piles its samples on about one mode and hops between modes",
    dict(_TOY, dataset="ring", beta1=0.9, lr_g=2e-3, lr_d=2e-3, batch_size=64, steps=2000))


def preset(name: str, **overrides: Any) -> TrainConfig:
    """The named preset as a validated TrainConfig, with any fields overridden."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return TrainConfig.from_dict({**PRESETS[name][1], **overrides})


def describe(name: str) -> str:
    return PRESETS[name][0]
