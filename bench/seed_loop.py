"""The seed-style reference loop: how the seed posts (and most tutorials) train a GAN.

It runs the *same* networks (``build_models`` from the same config and seed, so the layers and
initial weights are identical), the same optimiser and hyper-parameters, the same update order and
loss form as ``gan_core.trainer.Trainer``, but the way the seeds do it:

- a ``torch.utils.data.DataLoader(shuffle=True)`` over a ``TensorDataset`` of the data kept on
  the CPU (with labels where the data has them, as MNIST loaders yield them), each batch moved
  with ``.to(device)``;
- noise drawn per step on the device, as the seeds' ``sample_z`` does;
- D keeps ``requires_grad`` during G's step (the seeds never switch it off), so G's backward
  also computes D's weight gradients that ``zero_grad`` then throws away;
- the default (non-fused) Adam and plain ``zero_grad()``;
- torch's ``nn.Dropout``, where our models draw the same dropout masks a cheaper way;
- ``loss.item()`` of both losses on every step, appended to lists for the loss plot.

``drop_last=True`` keeps every batch full, so both loops do the same work per step.  The benchmark
only times it; nothing here is used by the app.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gan_core import losses
from gan_core.config import TrainConfig
from gan_core.data import load_dataset
from gan_core.models import build_models
from gan_core.models.common import Dropout
from gan_core.noise import sample_noise
from gan_core.trainer import resolve_device


def _with_torch_dropout(net: nn.Module) -> nn.Module:
    """``net`` with each of our Dropout layers swapped for torch's ``nn.Dropout`` of the same p."""
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, Dropout):
                setattr(module, name, nn.Dropout(child.p))
    return net


class SeedStyleLoop:
    """One seed-style training loop for ``config``; ``step()`` is one iteration."""

    def __init__(self, config: TrainConfig):
        c = self.config = config.validate()
        self.device = resolve_device(c.device)
        torch.manual_seed(c.seed)
        generator, discriminator = map(_with_torch_dropout, build_models(c))
        self.G, self.D = generator.to(self.device), discriminator.to(self.device)
        self.opt_g, self.opt_d = self._optimizer(self.G, c.lr_g), self._optimizer(self.D, c.lr_d)
        data = load_dataset(c, "cpu")
        tensors = (data.train,) if data.train_labels is None else (data.train, data.train_labels)
        self.loader = DataLoader(TensorDataset(*tensors), batch_size=c.batch_size, shuffle=True,
                                 drop_last=True, generator=torch.Generator().manual_seed(c.seed))
        self.batches = iter(self.loader)
        self.z_rng = torch.Generator(self.device).manual_seed(c.seed)
        self.d_losses: list[float] = []
        self.g_losses: list[float] = []

    def _optimizer(self, net: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        c = self.config
        if c.optimizer == "sgd":
            return torch.optim.SGD(net.parameters(), lr=lr, momentum=c.momentum)
        return torch.optim.Adam(net.parameters(), lr=lr, betas=(c.beta1, c.beta2))

    def _real_batch(self) -> torch.Tensor:
        """The next loader batch on the device; a new shuffled epoch when one runs out."""
        try:
            batch = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            batch = next(self.batches)
        return batch[0].to(self.device)

    def _z(self) -> torch.Tensor:
        c = self.config
        return sample_noise(c.noise, c.batch_size, c.latent_dim, generator=self.z_rng,
                            device=self.device, constant=c.noise_constant)

    def step(self) -> None:
        """One iteration: k D steps and a G step in the configured order, then ``.item()``s."""
        c = self.config
        if c.order == "d_first":
            for _ in range(c.d_steps):
                loss_d = self._d_step(self.G(self._z()).detach())
            loss_g = self._g_step()[0]
        else:
            loss_g, fake = self._g_step()
            for i in range(c.d_steps):
                loss_d = self._d_step(fake.detach() if i == 0 else self.G(self._z()).detach())
        self.d_losses.append(loss_d.item())
        self.g_losses.append(loss_g.item())

    def finish(self) -> None:
        """Nothing to flush: every step already fetched its losses with ``.item()``."""

    def _g_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        fake = self.G(self._z())
        loss_g = losses.g_loss(c.loss, c.g_loss, self.D(fake))
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        return loss_g, fake

    def _d_step(self, fake: torch.Tensor) -> torch.Tensor:
        c = self.config
        real = self._real_batch()
        if c.d_update == "split":   # seed 002: a real-batch update, then a fake-batch update
            loss_real = self._descend_d(losses.loss_term(c.loss, self.D(real), 1.0), real)
            loss_fake = self._descend_d(losses.loss_term(c.loss, self.D(fake), 0.0))
            return (loss_real + loss_fake) / 2
        loss_real, loss_fake = losses.d_loss_terms(c.loss, self.D(real), self.D(fake))
        loss_d = loss_real + loss_fake
        return self._descend_d(loss_d / 2 if c.d_update == "mean" else loss_d, real)

    def _descend_d(self, loss: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """One D update; with ``r1_gamma`` the R1 penalty on ``real`` joins the loss, as in the
        Trainer, so both loops do the same work (the recorded loss stays the plain GAN loss)."""
        penalty = 0.0
        if self.config.r1_gamma and real is not None:   # the tutorial way: its own pass over real
            real = real.detach().requires_grad_(True)
            penalty = losses.r1_penalty(self.D.logits(real), real, self.config.r1_gamma)
        self.opt_d.zero_grad()
        (loss + penalty).backward()
        self.opt_d.step()
        return loss
