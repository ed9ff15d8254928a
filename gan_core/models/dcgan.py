"""DCGAN (seed 004) at 64x64, and the same design scaled to 32x32 and 28x28.

G projects z (as latent_dim x 1 x 1) to a small square with one transposed conv, then doubles the
side with 4x4 / stride 2 transposed convs, halving channels each time: ReLU + BatchNorm inside,
Tanh at the end (``g_output`` 'auto').  D mirrors it with LeakyReLU and ends in one conv over the small square and a
Sigmoid.  No biases (BatchNorm follows every conv but the last).  The seed also puts BatchNorm on
D's first layer, unlike the DCGAN paper: ``d_first_bn`` keeps that choice visible.
"""
from __future__ import annotations

import math

from torch import nn

from ..config import TrainConfig
from .common import Discriminator, Generator, output_layers


def build_dcgan(config: TrainConfig) -> tuple[Generator, Discriminator]:
    start = 7 if config.image_size == 28 else 4
    n_up = int(math.log2(config.image_size // start))
    nz, nc = config.latent_dim, config.channels
    g_widths = [config.ngf * 2 ** i for i in reversed(range(n_up))]   # e.g. 8, 4, 2, 1 x ngf
    g_layers: list[nn.Module] = [nn.ConvTranspose2d(nz, g_widths[0], start, 1, 0, bias=False),
                                 nn.BatchNorm2d(g_widths[0]), nn.ReLU(True)]
    for w_in, w_out in zip(g_widths, g_widths[1:]):
        g_layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU(True)]
    g_layers += [nn.ConvTranspose2d(g_widths[-1], nc, 4, 2, 1, bias=False),
                 *output_layers(config, "tanh")]

    d_widths = [config.ndf * 2 ** i for i in range(n_up)]             # e.g. 1, 2, 4, 8 x ndf
    d_layers: list[nn.Module] = []
    for i, (w_in, w_out) in enumerate(zip([nc] + d_widths, d_widths)):
        d_layers.append(nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False))
        if i > 0 or config.d_first_bn:
            d_layers.append(nn.BatchNorm2d(w_out))
        d_layers.append(nn.LeakyReLU(config.leaky_slope, inplace=True))
    d_layers += [nn.Conv2d(d_widths[-1], 1, start, 1, 0, bias=False), nn.Sigmoid()]
    shape = config.sample_shape
    return (Generator(nn.Sequential(*g_layers), (nz, 1, 1), shape),
            Discriminator(nn.Sequential(*d_layers), shape))
