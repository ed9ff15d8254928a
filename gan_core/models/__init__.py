"""Model registry: architecture name -> (G, D) builder, plus init schemes and a layer table.

Models are device-agnostic plain ``nn.Module``s; the Trainer moves them.  Each builder reads only
the config, so a checkpoint's config is enough to rebuild its networks.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ..config import TrainConfig
from .dcgan import build_dcgan
from .mlp import build_mlp
from .pattern import build_pattern

Builder = Callable[[TrainConfig], tuple[nn.Module, nn.Module]]
BUILDERS: dict[str, Builder] = {"mlp": build_mlp, "dcgan": build_dcgan, "pattern": build_pattern}


def build_models(config: TrainConfig) -> tuple[nn.Module, nn.Module]:
    """Build G and D for ``config`` and apply its init scheme (on the CPU, default dtype)."""
    generator, discriminator = BUILDERS[config.arch](config)
    for net in (generator, discriminator):
        init_weights(net, config.init)
    return generator, discriminator


def init_weights(net: nn.Module, scheme: str) -> None:
    """Apply a named init scheme in place; 'default' keeps PyTorch's own initialisation."""
    if scheme == "xavier":
        # Seed 001 initialises *every* parameter: matrices Xavier-normal, vectors U(0.1, 0.2).
        with torch.no_grad():
            for p in net.parameters():
                nn.init.xavier_normal_(p) if p.dim() > 1 else nn.init.uniform_(p, 0.1, 0.2)
    elif scheme == "dcgan":
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)


def count_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def layer_table(net: nn.Module, example: torch.Tensor) -> list[dict]:
    """One row per leaf layer: name, type, output shape (batch left out) and parameter count."""
    rows: list[dict] = []
    hooks = []
    for name, module in net.named_modules():
        if next(module.children(), None) is None:
            def record(mod, _inp, out, name=name):
                rows.append({"layer": name, "type": type(mod).__name__,
                             "output_shape": list(out.shape[1:]),
                             "params": sum(p.numel() for p in mod.parameters())})
            hooks.append(module.register_forward_hook(record))
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(example)
    finally:
        net.train(was_training)
        for h in hooks:
            h.remove()
    return rows


def model_info(config: TrainConfig) -> dict:
    """Parameter counts and per-layer tables of both networks, as plain data for `info`."""
    generator, discriminator = build_models(config)
    z = torch.zeros(config.pack, config.latent_dim)
    fake = generator.eval()(z)
    return {
        "generator_params": count_params(generator),
        "discriminator_params": count_params(discriminator),
        "generator_layers": layer_table(generator, z),
        "discriminator_layers": layer_table(discriminator, fake),
        "sample_shape": list(config.sample_shape),
        "flops_per_sample": {"generator": _matmul_flops(generator, z) // config.pack,
                             "discriminator": _matmul_flops(discriminator, fake) // config.pack},
    }


def _matmul_flops(net: nn.Module, example: torch.Tensor) -> int:
    """Forward multiply-adds x2 of the Linear and conv layers for ``example``: the FLOP count the
    benchmark divides by time to report achieved GFLOP/s."""
    total = 0
    hooks = []

    def linear(mod, _inp, out):
        nonlocal total
        total += 2 * mod.in_features * out.numel()

    def conv(mod, inp, out):
        nonlocal total
        k = math.prod(mod.kernel_size)
        if isinstance(mod, nn.ConvTranspose2d):
            total += 2 * k * mod.out_channels * inp[0].numel() // mod.groups
        else:
            total += 2 * k * mod.in_channels * out.numel() // mod.groups

    for m in net.modules():
        if isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear))
        elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            hooks.append(m.register_forward_hook(conv))
    try:
        with torch.no_grad():
            net(example)
    finally:
        for h in hooks:
            h.remove()
    return total
