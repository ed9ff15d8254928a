"""Seed 002's tiny nets for the '1010' pattern, layer for layer.

D: Linear -> Sigmoid -> LayerNorm per hidden layer, then Linear -> Sigmoid.
G: Linear -> LeakyReLU -> LayerNorm per hidden layer, then Linear -> LeakyReLU (``g_output``
'auto'; no Tanh: the pattern lives in [0, 1] and the seed lets G's last LeakyReLU shape it, which
leaves G free to overshoot the pattern upwards).
"""
from __future__ import annotations

from torch import nn

from ..config import TrainConfig
from .common import Discriminator, Generator, output_layers


def build_pattern(config: TrainConfig) -> tuple[Generator, Discriminator]:
    size = config.sample_shape[0]
    g_layers: list[nn.Module] = []
    width_in = config.latent_dim
    for width in config.g_hidden:
        g_layers += [nn.Linear(width_in, width), nn.LeakyReLU(config.leaky_slope), nn.LayerNorm(width)]
        width_in = width
    g_layers += [nn.Linear(width_in, size), *output_layers(config, "leaky_relu")]
    d_layers: list[nn.Module] = []
    width_in = size
    for width in config.d_hidden:
        d_layers += [nn.Linear(width_in, width), nn.Sigmoid(), nn.LayerNorm(width)]
        width_in = width
    d_layers += [nn.Linear(width_in, 1), nn.Sigmoid()]
    return (Generator(nn.Sequential(*g_layers), (config.latent_dim,), (size,)),
            Discriminator(nn.Sequential(*d_layers), (size,)))
