"""A run of several variants in lockstep: the one way the engine trains, alone or compared.

A comparison teaches by changing one knob and keeping everything else: the variants are built
from the same seed (so the same initial weights where their shapes agree, the same data order and
the same z) or loaded from the same checkpoint, and every step steps each of them once.  Each
variant keeps its own copy of torch's global random state (dropout draws from it), so a variant
produces exactly the numbers it would produce trained alone.  A single run is a lockstep of one.

A variant that diverges stops where it was (rolled back to its last good state) and the others go
on; only when every variant has stopped does the lockstep raise.
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import fields
from typing import Any, Callable, Iterator, Sequence

import torch

from .checkpoint import load_trainer, trainer_bytes
from .config import ConfigError, TrainConfig
from .errors import CheckpointError, DivergenceError
from .trainer import LIVE_FIELDS, History, Trainer

MAX_VARIANTS = 4
NAMES = "ABCD"
# A comparison's checkpoint: this prefix, then one trainer checkpoint per variant.  The prefix lets
# a plain run's checkpoint pass without being parsed twice (load_trainer parses it anyway).
PACKED = b"gan-playground-variants\n"


RandomState = tuple[torch.Tensor, "torch.Tensor | None"]   # torch's CPU generator's, and the GPU's on one


def random_state(device: torch.device) -> RandomState:
    """The state of the global generators a variant on ``device`` draws from (dropout's among
    them): the CPU's, and on a GPU that device's as well."""
    return torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def variant_configs(base: TrainConfig, changes: Sequence[dict[str, Any]]) -> list[TrainConfig]:
    """One config per variant: ``base`` with that variant's changes.  The seed is shared, since
    the variants must start from the same weights, data order and z.  Raises ConfigError."""
    if not 2 <= len(changes) <= MAX_VARIANTS:
        raise ConfigError("variants", f"compare 2 to {MAX_VARIANTS} variants, not {len(changes)}")
    if any(change.get("seed", base.seed) != base.seed for change in changes):
        raise ConfigError("seed", "variants share one seed: that is what makes them start alike")
    return [base.replace(**change) for change in changes]


def differing_knobs(configs: Sequence[TrainConfig]) -> list[str]:
    """The config fields whose values are not the same in every variant, in the config's order."""
    return [f.name for f in fields(TrainConfig)
            if len({repr(getattr(c, f.name)) for c in configs}) > 1]


def labels(configs: Sequence[TrainConfig]) -> list[str]:
    """'A: loss=log' and so on: each variant's name and what sets it apart."""
    knobs = differing_knobs(configs)
    return [f"{name}: " + (", ".join(f"{k}={getattr(c, k)}" for k in knobs) or "same")
            for name, c in zip(NAMES, configs)]


class Lockstep:
    """Several Trainers stepped together; ``stopped[i]`` says why variant i stopped ("" if not)."""

    def __init__(self, trainers: list[Trainer], random_states: list[RandomState]):
        self.trainers = trainers
        self.stopped = [""] * len(trainers)
        self._random_states = random_states

    @classmethod
    def build(cls, configs: Sequence[TrainConfig]) -> Lockstep:
        """Fresh variants: each Trainer seeds torch itself, so each starts as it would alone."""
        return cls._made(lambda config: Trainer(config), configs)

    @classmethod
    def load(cls, checkpoint: bytes, configs: Sequence[TrainConfig]) -> Lockstep:
        """Variants continued from ``checkpoint``: a comparison's (one per variant), or one run's,
        which every variant then starts from with its own live knobs (a fork)."""
        blobs = unpack(checkpoint)
        if len(blobs) not in (1, len(configs)):
            raise CheckpointError(f"this comparison holds {len(blobs)} variants, not {len(configs)}.")
        if len(blobs) == 1 and len(configs) > 1:
            rebuilt = [k for k in differing_knobs(configs) if k not in LIVE_FIELDS]
            if rebuilt:
                raise ConfigError(rebuilt[0], "variants that start from a trained run share its model: "
                                              "compare live knobs only, or start the comparison from step 0")
            blobs = blobs * len(configs)
        made = iter(blobs)
        return cls._made(lambda config: _continued(next(made), config), configs)

    @classmethod
    def _made(cls, make: Callable[[TrainConfig], Trainer], configs: Sequence[TrainConfig]) -> Lockstep:
        trainers, states = [], []
        for config in configs:
            trainers.append(make(config))
            states.append(random_state(trainers[-1].device))   # as this variant left it: its stream goes on
        return cls(trainers, states)

    # ------------------------------------------------------------------ what a Runner drives
    @property
    def configs(self) -> list[TrainConfig]:
        return [t.config for t in self.trainers]

    @property
    def step_count(self) -> int:
        return max(t.step_count for t in self.trainers)

    def step(self) -> None:
        self._each(Trainer.step)

    def step_d(self) -> None:
        self._each(Trainer.step_d)

    def step_g(self) -> None:
        self._each(Trainer.step_g)

    def phases(self) -> Iterator[list[str]]:
        """One iteration of every variant, a phase at a time (``Trainer.phases`` in lockstep):
        after each phase, the side each variant just updated ("" for one that has stopped)."""
        iterations = {trainer: trainer.phases() for trainer in self.trainers}
        sides: dict[Trainer, str] = {}

        def advance(trainer: Trainer) -> None:
            sides[trainer] = next(iterations[trainer])
        for _ in range(2):      # D's phase and G's phase, in each variant's own order
            sides.clear()
            self._each(advance)
            yield [sides.get(trainer, "") for trainer in self.trainers]

    def flush(self) -> None:
        self._each(Trainer.flush)

    def apply_changes(self, **changes: Any) -> None:
        """The same live change to every variant (ConfigError from the first that refuses)."""
        for trainer in self.trainers:
            trainer.apply_changes(**changes)

    @property
    def training_seconds(self) -> float:
        return self.trainers[0].training_seconds

    def checkpoint(self, training_seconds: float) -> bytes:
        """One run's checkpoint, or for a comparison one checkpoint per variant packed together;
        each holds its variant's own random state and the time spent training."""
        blobs = []
        for i, trainer in enumerate(self.trainers):
            trainer.training_seconds = training_seconds
            with self._own_random_state(i):
                blobs.append(trainer_bytes(trainer))
        return blobs[0] if len(blobs) == 1 else pack(blobs)

    def history_csv(self) -> str:
        """The history; for a comparison, each variant's rows after a 'variant' column."""
        self.flush()
        if len(self.trainers) == 1:
            return self.trainers[0].history.to_csv()
        header = ",".join(History.COLUMNS)
        rows = [f"{name},{line}" for name, t in zip(NAMES, self.trainers)
                for line in t.history.to_csv().splitlines()[1:]]
        return "\n".join([f"variant,{header}", *rows]) + "\n"

    # ------------------------------------------------------------------ lockstep
    def _each(self, action: Callable[[Trainer], None]) -> None:
        """``action`` on every variant still going, each with its own random state.  In a
        comparison a variant's divergence stops that variant only; a single run raises at once
        (and may train on from its last good state, as the Train page offers)."""
        if all(self.stopped):
            raise DivergenceError("Every variant has stopped; press Reset to start them again.",
                                  self.step_count, self.step_count)
        for i, trainer in enumerate(self.trainers):
            if self.stopped[i]:
                continue
            try:
                with self._own_random_state(i):
                    action(trainer)
            except DivergenceError as exc:
                if len(self.trainers) == 1:
                    raise
                self.stopped[i] = f"{NAMES[i]} stopped: {exc}"
                if all(self.stopped):
                    raise DivergenceError(" ".join(self.stopped), exc.step, self.step_count) from None

    @contextmanager
    def _own_random_state(self, i: int) -> Iterator[None]:
        if len(self.trainers) == 1:     # alone: torch's state is its own already
            yield
            return
        device = self.trainers[i].device
        cpu, gpu = self._random_states[i]
        torch.set_rng_state(cpu)
        if gpu is not None:
            torch.cuda.set_rng_state(gpu, device)
        try:
            yield
        finally:
            self._random_states[i] = random_state(device)


def _continued(checkpoint: bytes, config: TrainConfig) -> Trainer:
    """A trainer loaded from ``checkpoint`` with ``config``'s structure and paths, then given the
    config's live knobs the way a running model takes them (a new optimiser if it changed)."""
    structural = {k: v for k, v in config.to_dict().items() if k not in LIVE_FIELDS or k == "device"}
    trainer = load_trainer(checkpoint, overrides=structural)
    live = {k: getattr(config, k) for k in LIVE_FIELDS if getattr(config, k) != getattr(trainer.config, k)}
    trainer.apply_changes(**live)
    return trainer


def pack(checkpoints: list[bytes]) -> bytes:
    """Several trainer checkpoints in one file, as byte tensors (readable with weights_only)."""
    buffer = io.BytesIO()
    torch.save([torch.frombuffer(bytearray(c), dtype=torch.uint8) for c in checkpoints], buffer)
    return PACKED + buffer.getvalue()


def unpack(data: bytes) -> list[bytes]:
    """The trainer checkpoints in ``data``: several for a comparison's file, else ``data`` itself."""
    if not data.startswith(PACKED):
        return [data]
    try:
        blobs = torch.load(io.BytesIO(data[len(PACKED):]), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - arbitrary bytes fail inside torch in many ways
        blobs = None
    if not isinstance(blobs, list) or not all(isinstance(b, torch.Tensor) and b.dtype == torch.uint8 for b in blobs):
        raise CheckpointError("this comparison file is damaged.")
    return [b.numpy().tobytes() for b in blobs]
