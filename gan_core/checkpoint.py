"""Checkpoints: one file with G, D, both optimisers, config, history, step and RNG state.

The file is a ``torch.save`` archive of plain containers (dicts, lists, numbers, strings, tensors)
and is always read with ``torch.load(weights_only=True)``: no arbitrary object is ever unpickled,
so a malicious file is refused instead of run.  Writes go to a temporary file that is renamed over
the target, so a crash mid-write never leaves half a checkpoint behind.
"""
from __future__ import annotations

import io
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import ConfigError, TrainConfig
from .errors import CheckpointError

FORMAT = "gan-playground-checkpoint"
VERSION = 1
REQUIRED = ("format", "version", "config", "step", "G", "D", "opt_g", "opt_d", "history", "rng")


def trainer_state(trainer) -> dict[str, Any]:
    """Everything needed to resume ``trainer`` exactly, as plain data."""
    trainer.flush()
    rng = {"trainer": trainer.rng.get_state(), "torch_cpu": torch.get_rng_state(),
           "device": trainer.device.type}
    if trainer.device.type == "cuda":
        rng["torch_cuda"] = torch.cuda.get_rng_state(trainer.device)
    return {"format": FORMAT, "version": VERSION, "config": trainer.config.to_json(),
            "step": trainer.step_count, "G": trainer.G.state_dict(), "D": trainer.D.state_dict(),
            "opt_g": trainer.opt_g.state_dict(), "opt_d": trainer.opt_d.state_dict(),
            "history": trainer.history.to_dict(), "rng": rng, "training_seconds": float(trainer.training_seconds)}


def trainer_bytes(trainer) -> bytes:
    """``trainer``'s checkpoint as bytes: a download, or a run handed to another process."""
    buffer = io.BytesIO()
    torch.save(trainer_state(trainer), buffer)
    return buffer.getvalue()


def save_trainer(trainer, path: str | Path) -> Path:
    """Write ``trainer``'s checkpoint atomically (temp file in the same folder + rename)."""
    return save_state(trainer_state(trainer), path)


def save_state(state: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_checkpoint(source: str | Path | bytes) -> dict[str, Any]:
    """Load and validate a checkpoint from a path or raw bytes (an upload).  Any problem becomes
    a CheckpointError with one sentence naming it."""
    name = "the uploaded file" if isinstance(source, bytes) else Path(source).name or "the checkpoint"
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise CheckpointError(f"{name}: no such checkpoint file.")
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if not data:
        raise CheckpointError(f"{name}: the file is empty, not a checkpoint.")
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - arbitrary bytes fail inside torch in many ways
        raise _unreadable(name, data, exc) from None
    return validate_state(state, name)


def _unreadable(name: str, data: bytes, exc: Exception) -> CheckpointError:
    """Why torch.load gave up: a class or function inside (weights_only names it a GLOBAL; loading
    it could run code), a damaged zip archive, or bytes that are no PyTorch archive at all."""
    if isinstance(exc, pickle.UnpicklingError) and "GLOBAL" in str(exc):
        return CheckpointError(f"{name}: refused to load: it contains Python objects other than "
                               "plain tensors and data, which could run code.")
    if data[:4] == b"PK\x03\x04":   # a zip archive, as torch.save writes, but damaged
        return CheckpointError(f"{name}: the file is truncated or corrupt ({_short(exc)}).")
    return CheckpointError(f"{name}: not a checkpoint (not a PyTorch archive).")


def validate_state(state: Any, name: str = "checkpoint") -> dict[str, Any]:
    """``state`` with its config parsed, once format, version, config and the types of the other
    parts are right; otherwise a CheckpointError naming the first problem."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{name}: a PyTorch file, but not a GAN Playground checkpoint.")
    missing = [key for key in REQUIRED if key not in state]
    if missing:
        raise CheckpointError(f"{name}: the checkpoint lacks '{missing[0]}'.")
    if not isinstance(state["version"], int) or state["version"] > VERSION:
        raise CheckpointError(f"{name}: checkpoint format {state['version']!r} is unknown here (this "
                              f"GAN Playground reads format {VERSION}; a newer one may read it).")
    _check_types(state, name)
    try:
        state["config"] = TrainConfig.from_json(state["config"])
    except (ConfigError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{name}: its config is invalid ({exc}).") from None
    return state


def _check_types(state: dict[str, Any], name: str) -> None:
    """The small parts must have their types before anything reads them: a step that is text or
    a history that is a list would otherwise fail later, deep inside the code, without a word."""
    step = state["step"]
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(f"{name}: its step {_brief(step)} is not a whole number of 0 or more.")
    for key in ("opt_g", "opt_d", "history", "rng"):
        if not isinstance(state[key], dict):
            raise CheckpointError(f"{name}: its '{key}' is not a dictionary.")
    for key in ("G", "D"):
        weights = state[key]
        if not isinstance(weights, dict) or not all(
                isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()):
            raise CheckpointError(f"{name}: its '{key}' weights are not a dictionary of tensors.")


def _brief(value: Any) -> str:
    """A value as a message may quote it: short, one line."""
    text = repr(value)
    return text if len(text) <= 40 and "\n" not in text else f"(a {type(value).__name__})"


@dataclass(frozen=True, eq=False)   # eq=False: the state holds tensors
class CheckpointInfo:
    """A checkpoint read and checked, nothing built: its config (with the caller's overrides
    applied), the step it stopped at and the whole validated state."""

    config: TrainConfig
    step: int
    state: dict[str, Any]


def inspect_checkpoint(source: str | Path | bytes, *, overrides: dict[str, Any] | None = None,
                       limit_bytes: int | None = None) -> CheckpointInfo:
    """Read and check a checkpoint before any network, dataset or folder is made from it.

    ``overrides`` replace config fields: a server passes its own ``data_dir``, ``image_folder`` or
    ``device``, so paths written into an upload are never used.  ``limit_bytes`` refuses, with a
    BudgetError naming the knob, a config whose run would need more memory (``budget.check``).
    Every G and D tensor must have the shape the config gives it, so a tiny file cannot describe
    a huge model.  Nothing is allocated beyond the file itself and nothing is written.
    """
    from . import budget   # imported here: budget reads the metrics, which read this module
    state = read_checkpoint(source)
    config = state["config"].replace(**overrides) if overrides else state["config"]
    if limit_bytes is not None:
        budget.check(config, limit_bytes)
    expected_g, expected_d = budget.weight_shapes(config)
    _check_shapes(state["G"], expected_g, "generator")
    _check_shapes(state["D"], expected_d, "discriminator")
    return CheckpointInfo(config, state["step"], {**state, "config": config})


def _check_shapes(weights: dict[str, torch.Tensor], expected: dict[str, torch.Size], which: str) -> None:
    """Refuse weights whose tensor names or shapes differ from what the config builds."""
    for key, shape in expected.items():
        if key not in weights:
            raise _misfit(which, f"'{key}' is missing")
        if weights[key].shape != shape:
            raise _misfit(which, f"'{key}' is {_dims(weights[key].shape)}, the config makes it "
                                 f"{_dims(shape)}")
    extra = next((key for key in weights if key not in expected), None)
    if extra is not None:
        raise _misfit(which, f"{_brief(extra)} is not in the model")


def _misfit(which: str, detail: str) -> CheckpointError:
    return CheckpointError(f"the {which} weights do not match the checkpoint's config ({detail}).")


def _dims(shape: torch.Size) -> str:
    return " x ".join(map(str, shape)) or "a single number"


def load_generator(source: str | Path | bytes, device: str = "cpu", *,
                   overrides: dict[str, Any] | None = None, limit_bytes: int | None = None):
    """Just G (eval mode), the config and the state, for pages that only generate; checked by
    ``inspect_checkpoint`` first."""
    from .models import build_models
    info = inspect_checkpoint(source, overrides=overrides, limit_bytes=limit_bytes)
    generator, _ = build_models(info.config)
    _load_weights(generator, info.state["G"], "generator")
    return generator.to(device).eval(), info.config, info.state


def load_trainer(source: str | Path | bytes, device: str | None = None, *,
                 overrides: dict[str, Any] | None = None, limit_bytes: int | None = None):
    """A Trainer that continues exactly where the checkpoint stopped, built only once
    ``inspect_checkpoint`` has passed it.  ``device`` is short for ``overrides={"device": ...}``."""
    from .trainer import Trainer
    if device is not None:
        overrides = {**(overrides or {}), "device": device}
    info = inspect_checkpoint(source, overrides=overrides, limit_bytes=limit_bytes)
    trainer = Trainer(info.config)
    _load_weights(trainer.G, info.state["G"], "generator")
    _load_weights(trainer.D, info.state["D"], "discriminator")
    try:
        trainer.restore(info.state)
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint state does not fit its model ({_short(exc)}).") from None
    return trainer


def _load_weights(net: torch.nn.Module, weights: dict, which: str) -> None:
    try:
        net.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise _misfit(which, _short(exc)) from None


def _short(exc: BaseException) -> str:
    """The informative part of a library error: its first line that is not a heading ending in
    ':' (load_state_dict puts the layer that does not fit on the second line), first sentence."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    line = next((line for line in lines if not line.endswith(":")), lines[0])
    return line.split(". ")[0][:160]
