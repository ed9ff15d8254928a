"""The step-wise GAN trainer: one iteration, one D step or one G step at a time.

Read ``step`` top to bottom for the algorithm.  Everything else serves two promises:
- no host sync in the hot path: per-step metrics go into a device buffer that is copied to the
  host ``History`` every ``metrics_every`` steps (one sync per chunk, not per step);
- a NaN/inf loss never leaves broken weights behind: at each flush the trainer keeps a copy of the
  last verified state and rolls back to it when the chunk holds a non-finite loss.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from . import losses
from .config import ConfigError, TrainConfig
from .data import Dataset, load_dataset
from .errors import DivergenceError
from .models import build_models
from .noise import sample_noise

METRICS = ("loss_d", "loss_g", "d_real", "d_fake")
STEP_KINDS = ("step", "d", "g")
EVAL_SAMPLES = 1000   # a held-out evaluation's real and generated samples (fewer if fewer are held out)
PHASE_ORDER = {"d_first": ("d", "g"), "g_first": ("g", "d")}   # an iteration's phases, by order
# Fields that can change on a live model; any other change needs a rebuild (new Trainer).
LIVE_FIELDS = frozenset({"lr_g", "lr_d", "lr_decay", "beta1", "beta2", "momentum", "optimizer",
                         "loss", "g_loss", "d_update", "d_steps", "order", "batch_size", "noise",
                         "noise_constant", "r1_gamma", "metrics_every", "eval_every", "steps",
                         "device"})
FIXED_Z_SIZE = 64
# A dead game: D's verdict saturated on the same side for real and fake (within SATURATED of 0 or
# 1), or G's loss at the BCE clamp (nearly every fake judged exactly 0).  Its sigmoid then passes
# no gradient and nothing can move again; DEAD_STEPS recorded steps in a row stop the run.
SATURATED = 1e-3
CLAMPED = 0.9 * losses.BCE_CLAMP
DEAD_STEPS = 100


def resolve_device(name: str) -> torch.device:
    """'auto' picks cuda, then mps, then cpu; an explicit device that is absent is refused."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "CUDA was asked for but no CUDA GPU is available")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device", "MPS was asked for but is not available on this machine")
    return device


@dataclass
class History:
    """Per-step metrics on the host, one list per column (NaN where a step has no such value),
    plus the held-out evaluations."""

    step: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    loss_d: list[float] = field(default_factory=list)
    loss_g: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    # Bumped whenever rows are taken back (a rollback), so a reader that copies only the rows
    # added since its last look knows to copy everything again.
    revision: int = field(default=0, compare=False)

    COLUMNS = ("step", "kind", *METRICS, "time")

    def __len__(self) -> int:
        return len(self.step)

    def to_dict(self) -> dict[str, Any]:
        return {**{c: list(getattr(self, c)) for c in self.COLUMNS}, "evals": list(self.evals)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "History":
        return cls(**{c: list(data[c]) for c in cls.COLUMNS}, evals=[dict(e) for e in data["evals"]])

    def truncate(self, length: int) -> None:
        self.revision += 1
        for column in self.COLUMNS:
            del getattr(self, column)[length:]
        self.evals = [e for e in self.evals if e["step"] <= (self.step[-1] if self.step else 0)]

    def to_csv(self) -> str:
        lines = [",".join(self.COLUMNS)]
        for row in zip(*(getattr(self, c) for c in self.COLUMNS)):
            lines.append(",".join(str(v) for v in row))
        return "\n".join(lines) + "\n"


def live_replace(config: TrainConfig, changes: dict[str, Any]) -> TrainConfig:
    """``config`` with ``changes`` to a running model.  Raises ConfigError for an invalid value,
    or for a field outside LIVE_FIELDS: that needs a new model."""
    structural = sorted(set(changes) - LIVE_FIELDS)
    if structural:
        raise ConfigError(structural[0], "changing this rebuilds the model: start a new run")
    return config.replace(**changes)


class Trainer:
    """Owns G, D, their optimisers, the data and the noise of one run."""

    def __init__(self, config: TrainConfig, *, dataset: Dataset | None = None):
        self.config = config.validate()
        self.device = resolve_device(config.device)
        torch.manual_seed(config.seed)              # model init and dropout draw from here
        self.rng = torch.Generator(self.device).manual_seed(config.seed)   # data indices, z
        generator, discriminator = build_models(config)
        self.G: nn.Module = generator.to(self.device)
        self.D: nn.Module = discriminator.to(self.device)
        self.data = dataset if dataset is not None else load_dataset(config, self.device)
        self.opt_g = self._make_optimizer(self.G, config.lr_g)
        self.opt_d = self._make_optimizer(self.D, config.lr_d)
        self.fixed_z = self.noise(FIXED_Z_SIZE, torch.Generator(self.device).manual_seed(config.seed + 1))
        self.history = History()
        self.step_count = 0
        self.clock_start = time.perf_counter()   # History.time counts from here (moved on resume)
        self.training_seconds = 0.0   # time spent training, kept by whoever drives it, saved with it
        self._buffer = torch.empty(config.metrics_every, len(METRICS), device=self.device)
        self._pending: list[tuple[int, str, float]] = []
        self._nan = torch.tensor(float("nan"), device=self.device)
        self._dead_steps = 0        # recorded steps in a row in which the game was dead
        self._good_state = self._state_copy()

    # ------------------------------------------------------------------ building blocks
    def _make_optimizer(self, net: nn.Module, lr: float) -> torch.optim.Optimizer:
        c = self.config
        # Fused: one kernel per step instead of a dozen small ops per parameter (GPU and CPU;
        # 2-45% faster steps on a 2-core CPU, most for small nets, see bench/throughput.py).
        fused = self.device.type in ("cuda", "cpu")
        if c.optimizer == "sgd":
            return torch.optim.SGD(net.parameters(), lr=lr, momentum=c.momentum, fused=fused)
        return torch.optim.Adam(net.parameters(), lr=lr, betas=(c.beta1, c.beta2), fused=fused)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """A batch of z from the configured distribution (the trainer's own RNG by default)."""
        c = self.config
        return sample_noise(c.noise, n, c.latent_dim, generator=generator or self.rng,
                            device=self.device, constant=c.noise_constant)

    # ------------------------------------------------------------------ the algorithm
    def step(self) -> None:
        """One iteration in the configured order: k D steps and one G step."""
        for _ in self.phases():
            pass

    def phases(self) -> Iterator[str]:
        """One iteration, a phase at a time: D's k updates and G's update, in the configured
        order, yielding "d" or "g" after each (slow motion shows each phase as a frame of its
        own).  The iteration's one history row is recorded before the last yield, so a caller
        that stops there has a whole step; ``step`` is this, run through."""
        c = self.config
        first, last = PHASE_ORDER[c.order]
        fake = None
        for side in (first, last):
            if side == "d":
                # The G-first seeds train D on the very batch G just produced, detached.
                for i in range(c.d_steps):
                    loss_d, d_real, d_fake = self._update_d(fake.detach() if i == 0 and fake is not None else None)
            else:
                fake, loss_g, _ = self._update_g()
            if side == last:
                self._record("step", loss_d, loss_g, d_real, d_fake)
            yield side

    def step_d(self) -> None:
        """One D update alone (G frozen): lets a learner watch D pull ahead."""
        loss_d, d_real, d_fake = self._update_d()
        self._record("d", loss_d, self._nan, d_real, d_fake)

    def step_g(self) -> None:
        """One G update alone (D frozen)."""
        _, loss_g, d_fake = self._update_g()
        self._record("g", self._nan, loss_g, self._nan, d_fake)

    def _update_d(self, fake: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        c = self.config
        real = self.data.sample(c.batch_size, self.rng)
        if fake is None:
            with torch.no_grad():
                fake = self.G(self.noise(c.batch_size))
        p_real, penalty = self._judge_real(real)
        if c.d_update == "split":   # seed 002: a real-batch update, then a fake-batch update
            loss_real = losses.loss_term(c.loss, p_real, 1.0)
            self._descend(self.opt_d, loss_real + penalty)
            p_fake = self.D(fake)
            loss_fake = losses.loss_term(c.loss, p_fake, 0.0)
            self._descend(self.opt_d, loss_fake)
            loss_d = losses.d_loss(c.d_update, loss_real, loss_fake).detach()
        else:
            p_fake = self.D(fake)
            loss_d = losses.d_loss(c.d_update, *losses.d_loss_terms(c.loss, p_real, p_fake))
            self._descend(self.opt_d, loss_d + penalty)
        return loss_d.detach(), p_real.detach().mean(), p_fake.detach().mean()

    def _judge_real(self, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | float]:
        """D(real), and with ``r1_gamma`` > 0 the R1 penalty gamma/2 * E|grad_x logit D(x)|^2
        (Mescheder et al. 2018) from the same forward pass: a second pass would double the work
        and update a BatchNorm D's running statistics twice.  R1 keeps D flat on the data, so D
        stops chasing G from mode to mode and the game settles with every mode kept.  History
        keeps the plain GAN loss, comparable with or without the penalty."""
        gamma = self.config.r1_gamma
        if not gamma:
            return self.D(real), 0.0
        real = real.detach().requires_grad_(True)
        logits = self.D.logits(real)
        return torch.sigmoid(logits), losses.r1_penalty(logits, real, gamma)

    def _update_g(self) -> tuple[torch.Tensor, ...]:
        c = self.config
        fake = self.G(self.noise(c.batch_size))
        p_fake = self.D(fake)     # gradients flow through D, but only G's are computed (_descend)
        loss_g = losses.g_loss(c.loss, c.g_loss, p_fake)
        self._descend(self.opt_g, loss_g)
        return fake, loss_g.detach(), p_fake.detach().mean()

    @staticmethod
    def _descend(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One optimiser step on ``loss``.  ``inputs=`` limits backward to this optimiser's own
        parameters: G's step computes no weight gradients for D, without freezing D."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=optimizer.param_groups[0]["params"])
        optimizer.step()

    def lr_factor(self) -> float:
        """Multiplier of both learning rates for the next step: 1, then, with ``lr_decay``, a
        linear fall to 1% over the last ``lr_decay * steps`` steps (and 1% beyond ``steps``).
        At a constant step size GAN training circles its equilibrium instead of settling: on the
        2D grid the share of high-quality samples swings by 10-20 points from one 1,000 steps to
        the next."""
        c = self.config
        start = c.steps * (1 - c.lr_decay)
        if not c.lr_decay or self.step_count < start:
            return 1.0
        return max(0.01, (c.steps - self.step_count) / (c.steps - start))

    def _set_learning_rates(self) -> None:
        factor = self.lr_factor()
        for opt, lr in ((self.opt_g, self.config.lr_g), (self.opt_d, self.config.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    # ------------------------------------------------------------------ metrics without syncs
    def _record(self, kind: str, *values: torch.Tensor) -> None:
        self.step_count += 1
        if self.config.lr_decay:
            self._set_learning_rates()
        now = time.perf_counter()
        self._buffer[len(self._pending)] = torch.stack(values)
        self._pending.append((self.step_count, kind, now))
        if len(self._pending) == len(self._buffer):
            self.flush()
        c = self.config
        if c.eval_every and self.step_count % c.eval_every == 0:
            self.evaluate()

    def flush(self) -> None:
        """Copy buffered metrics to ``history`` (one device->host copy).  Raises DivergenceError,
        after rolling back to the last good state, when a buffered loss is not finite, and
        (keeping the rows, as rolling back a dead game does not revive it) when the game has
        been dead for DEAD_STEPS recorded steps."""
        if not self._pending:
            return
        rows = self._buffer[: len(self._pending)].cpu().tolist()
        pending, self._pending = self._pending, []
        for (step, kind, stamp), row in zip(pending, rows):
            bad = [name for name, v in zip(METRICS[:2], row[:2]) if math.isinf(v) or _is_nan_loss(kind, name, v)]
            if bad:
                self._roll_back()
                raise DivergenceError(self._divergence_message(step, bad[0], row), step, self.step_count)
            self.history.step.append(step)
            self.history.kind.append(kind)
            for name, v in zip(METRICS, row):
                getattr(self.history, name).append(v)
            self.history.time.append(stamp - self.clock_start)
            self._count_dead(row)
        self._good_state = self._state_copy()
        if self._dead_steps >= DEAD_STEPS:
            self._dead_steps = 0
            raise DivergenceError(self._dead_message(), self.step_count, self.step_count)

    def _count_dead(self, row: list[float]) -> None:
        """Extend or end the streak of dead steps; a one-sided step (NaN placeholders) leaves it."""
        loss_g, d_real, d_fake = row[1], row[2], row[3]
        if math.isnan(d_real) or math.isnan(d_fake) or math.isnan(loss_g):
            return
        same_side = max(d_real, d_fake) < SATURATED or min(d_real, d_fake) > 1 - SATURATED
        dead = same_side or abs(loss_g) >= CLAMPED
        self._dead_steps = self._dead_steps + 1 if dead else 0

    def _dead_message(self) -> str:
        h, c = self.history, self.config
        return (f"Training stalled at step {self.step_count}: D's verdict has been saturated for "
                f"{DEAD_STEPS} steps (D(x) {h.d_real[-1]:.3g}, D(G(z)) {h.d_fake[-1]:.3g}, G's loss "
                f"{h.loss_g[-1]:.3g}), so its sigmoid passes no gradient and neither network can "
                f"learn again; start again with lower learning rates than lr_d {c.lr_d:g}, "
                f"lr_g {c.lr_g:g}.")

    def _divergence_message(self, step: int, name: str, row: list[float]) -> str:
        value = row[METRICS.index(name)]
        hint = ""
        if self.config.loss == "log":
            hint = (" With the paper's hand-written log loss, D outputting exactly 0 or 1 makes "
                    "log(0) = -inf; the library BCE clamps the log at -100 and would not overflow.")
        return (f"Training diverged at step {step}: {name} became {value}.{hint} "
                f"The model was rolled back to its last good state (step {self.step_count}).")

    # ------------------------------------------------------------------ state
    def _state_copy(self) -> dict[str, Any]:
        return copy.deepcopy({"G": self.G.state_dict(), "D": self.D.state_dict(),
                              "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                              "step": self.step_count, "history_len": len(self.history)})

    def _roll_back(self) -> None:
        good = self._good_state
        self.G.load_state_dict(good["G"])
        self.D.load_state_dict(good["D"])
        self.opt_g.load_state_dict(good["opt_g"])
        self.opt_d.load_state_dict(good["opt_d"])
        self.step_count = good["step"]
        self.history.truncate(good["history_len"])
        self._good_state = self._state_copy()

    def restore(self, state: dict[str, Any]) -> None:
        """Take optimiser states, history, step counter and RNG states from a checkpoint state
        (weights are loaded by the caller), so the run continues exactly."""
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.history = History.from_dict(state["history"])
        # A generator's state only fits a generator on the same kind of device: a run moved from
        # GPU to CPU keeps its weights and optimisers but draws fresh batches and z.
        if state["rng"].get("device", self.device.type) == self.device.type:
            self.rng.set_state(state["rng"]["trainer"])
        torch.set_rng_state(state["rng"]["torch_cpu"])
        if self.device.type == "cuda" and "torch_cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["torch_cuda"], self.device)
        self.step_count = int(state["step"])
        seconds = state.get("training_seconds", 0.0)
        self.training_seconds = float(seconds) if isinstance(seconds, (int, float)) and seconds >= 0 else 0.0
        self.clock_start = time.perf_counter() - (self.history.time[-1] if self.history.time else 0.0)
        self._good_state = self._state_copy()

    def apply_changes(self, **changes: Any) -> None:
        """Change live knobs (learning rates, loss form, k, optimiser, ...) between steps, as GAN
        Lab does.  Anything structural (architecture, data, latent size) raises ConfigError: that
        needs a new Trainer."""
        old = self.config
        new = live_replace(old, changes)
        if resolve_device(new.device) != self.device:
            raise ConfigError("device", "moving a live run to another device needs a new run")
        self.flush()
        self.config = new
        if new.optimizer != old.optimizer:
            self.opt_g = self._make_optimizer(self.G, new.lr_g)
            self.opt_d = self._make_optimizer(self.D, new.lr_d)
        self._set_learning_rates()
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                if new.optimizer == "adam":
                    group["betas"] = (new.beta1, new.beta2)
                else:
                    group["momentum"] = new.momentum
        if new.metrics_every != old.metrics_every:
            self._buffer = torch.empty(new.metrics_every, len(METRICS), device=self.device)

    # ------------------------------------------------------------------ evaluation, sampling
    @torch.no_grad()
    def evaluate(self, n: int = EVAL_SAMPLES) -> dict[str, float]:
        """Mean D(x) on held-out real data and mean D(G(z)) in eval mode, with the losses they
        imply (D's reduced as training reports it, so the two sit on one scale); appended to
        ``history.evals``.  Uses its own RNG so evaluating never changes the training numbers."""
        c = self.config
        n = max(c.pack, min(n, len(self.data.held_out)) // c.pack * c.pack)
        with _eval_mode(self.G, self.D):
            p_real = self.D(self.data.held_out[:n])
            z = self.noise(n, torch.Generator(self.device).manual_seed(c.seed + 2))
            p_fake = self.D(self.G(z))
            loss_real, loss_fake = losses.d_loss_terms(c.loss, p_real, p_fake)
            loss_g = losses.g_loss(c.loss, c.g_loss, p_fake)
        result = {"step": self.step_count, "d_real": p_real.mean().item(), "d_fake": p_fake.mean().item(),
                  "loss_d": losses.d_loss(c.d_update, loss_real, loss_fake).item(), "loss_g": loss_g.item()}
        self.history.evals.append(result)
        return result

    @torch.no_grad()
    def sample(self, n: int = FIXED_Z_SIZE, z: torch.Tensor | None = None, seed: int | None = None) -> torch.Tensor:
        """Generated samples in data space, on the CPU, from ``z`` if given, else from n z drawn
        with their own RNG (``seed``, default config.seed + 3): reproducible, and sampling never
        perturbs the training numbers."""
        if z is None:
            seed = self.config.seed + 3 if seed is None else seed
            z = self.noise(n, torch.Generator(self.device).manual_seed(seed))
        with _eval_mode(self.G):
            return self.G(z.to(self.device)).float().cpu()

    def frozen(self) -> "Trainer":
        """A copy that samples as this trainer does now, for another thread while this one trains
        on: G's weights and the step count are its own, everything else is shared and must only
        be read (sample, noise, data)."""
        twin = copy.copy(self)
        twin.G = copy.deepcopy(self.G)
        return twin

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        from .checkpoint import save_trainer
        return save_trainer(self, path)

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> "Trainer":
        from .checkpoint import load_trainer
        return load_trainer(path, device=device)


def _is_nan_loss(kind: str, name: str, value: float) -> bool:
    """NaN counts as divergence unless it is the placeholder of a one-sided step."""
    placeholder = (kind == "d" and name == "loss_g") or (kind == "g" and name == "loss_d")
    return math.isnan(value) and not placeholder


class _eval_mode:
    """Context manager: networks in eval mode inside, back to their previous mode after."""

    def __init__(self, *nets: nn.Module):
        self.nets = nets

    def __enter__(self) -> None:
        self.modes = [net.training for net in self.nets]
        for net in self.nets:
            net.eval()

    def __exit__(self, *exc: object) -> None:
        for net, mode in zip(self.nets, self.modes):
            net.train(mode)
