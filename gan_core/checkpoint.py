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
            "history": trainer.history.to_dict(), "rng": rng}


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
    name = "the uploaded file" if isinstance(source, bytes) else str(source)
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
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{name}: a PyTorch file, but not a GAN Playground checkpoint.")
    missing = [key for key in REQUIRED if key not in state]
    if missing:
        raise CheckpointError(f"{name}: the checkpoint lacks '{missing[0]}'.")
    if not isinstance(state["version"], int) or state["version"] > VERSION:
        raise CheckpointError(f"{name}: checkpoint format {state['version']!r} is unknown here (this "
                              f"GAN Playground reads format {VERSION}; a newer one may read it).")
    try:
        state["config"] = TrainConfig.from_json(state["config"])
    except (ConfigError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{name}: its config is invalid ({exc}).") from None
    return state


def load_generator(source: str | Path | bytes, device: str = "cpu"):
    """Just G (eval mode) and the config, for pages that only generate."""
    from .models import build_models
    state = read_checkpoint(source)
    generator, _ = build_models(state["config"])
    _load_weights(generator, state["G"], "generator")
    return generator.to(device).eval(), state["config"], state


def load_trainer(source: str | Path | bytes, device: str | None = None):
    """A Trainer that continues exactly where the checkpoint stopped."""
    from .trainer import Trainer
    state = read_checkpoint(source)
    config = state["config"] if device is None else state["config"].replace(device=device)
    trainer = Trainer(config)
    _load_weights(trainer.G, state["G"], "generator")
    _load_weights(trainer.D, state["D"], "discriminator")
    try:
        trainer.restore(state)
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint state does not fit its model ({_short(exc)}).") from None
    return trainer


def _load_weights(net: torch.nn.Module, weights: dict, which: str) -> None:
    try:
        net.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"the {which} weights do not match the checkpoint's config ({_short(exc)}).") from None


def _short(exc: BaseException) -> str:
    """The informative part of a library error: its first line that is not a heading ending in
    ':' (load_state_dict puts the layer that does not fit on the second line), first sentence."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    line = next((line for line in lines if not line.endswith(":")), lines[0])
    return line.split(". ")[0][:160]
