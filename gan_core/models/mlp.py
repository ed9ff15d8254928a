"""Fully connected G and D: seeds 000, 001, 003 and the 2D toys are all this one stack.

Per hidden layer: Linear -> [BatchNorm1d, not on G's first layer, as in seed 003] -> activation
-> [Dropout].  G ends (``g_output`` 'auto') in Tanh for images (data in [-1, 1]) and is linear
for points and patterns.
"""
from __future__ import annotations

from torch import nn

from ..config import TrainConfig
from .common import Discriminator, Dropout, Generator, activation, flat_size, output_layers


def build_mlp(config: TrainConfig) -> tuple[Generator, Discriminator]:
    data_size = flat_size(config.sample_shape)
    g_layers = _hidden_stack(config.latent_dim, config.g_hidden, config.g_activation, config,
                             batchnorm=config.g_batchnorm)
    g_layers.append(nn.Linear(config.g_hidden[-1], data_size))
    g_layers += output_layers(config, "tanh" if config.data_kind == "image" else "none")
    d_in = config.pack * data_size
    d_layers = _hidden_stack(d_in, config.d_hidden, config.d_activation, config, batchnorm=False)
    d_layers += [nn.Linear(config.d_hidden[-1], 1), nn.Sigmoid()]
    return (Generator(nn.Sequential(*g_layers), (config.latent_dim,), config.sample_shape),
            Discriminator(nn.Sequential(*d_layers), (d_in,)))


def _hidden_stack(width_in: int, widths: list[int], act: str, config: TrainConfig,
                  batchnorm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i, width in enumerate(widths):
        layers.append(nn.Linear(width_in, width))
        if batchnorm and i > 0:
            layers.append(nn.BatchNorm1d(width, eps=config.bn_eps))
        layers.append(activation(act, config.leaky_slope))
        if config.dropout > 0:
            layers.append(Dropout(config.dropout))
        width_in = width
    return layers
