"""A small CNN digit classifier: the yardstick behind the digit metrics (``metrics.py``).

Why our own network and not Inception: MNIST digits are grey 28x28 pictures that Inception never
saw, and a 100k-parameter CNN trained on digits judges them far better, ships in the repo (< 1 MB)
and runs on a CPU in milliseconds.  Its 64 penultimate features feed the *classifier FID*.

The file is plain data (a state dict plus a metadata dict of numbers and strings), read with
``torch.load(weights_only=True)`` so a swapped file can never run code.
"""
from __future__ import annotations

import json
import os
import pickle
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import save_state
from .config import ConfigError, TrainConfig
from .data import Dataset, _fit, load_dataset
from .errors import CheckpointError
from .paths import CHECKPOINTS

FORMAT = "gan-playground-digit-classifier"
VERSION = 1
DEFAULT_PATH = CHECKPOINTS / "digit_classifier.pt"
INDEX_KEY = "classifier"     # our entry in checkpoints/index.json (the GAN entries live beside it)
FEATURES = 64
SIZE = 28


class DigitClassifier(nn.Module):
    """conv 16 -> pool -> conv 32 -> pool -> 64 features -> 10 logits (about 106k parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 7 * 7, FEATURES), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """(penultimate features, class probabilities) of any NCHW images in [-1, 1], in eval
        mode: colour becomes grey and other sizes are resized to 28x28 first."""
        self.eval()
        feats, probs = [], []
        for chunk in as_digits(images).split(batch):
            f = self.features(chunk)
            feats.append(f)
            probs.append(self.head(f).softmax(dim=1))
        return torch.cat(feats), torch.cat(probs)


def as_digits(images: torch.Tensor) -> torch.Tensor:
    """Images as the classifier reads them: float (N, 1, 28, 28) on the CPU, in [-1, 1]."""
    x = images.detach().float().cpu()
    if x.shape[1] == 3:
        x = x.mean(dim=1, keepdim=True)   # grey; fallback digits in colour are three equal planes
    return _fit(x, SIZE, 1)


# ------------------------------------------------------------------------------------- training
def train_classifier(dataset: str = "mnist", epochs: int = 8, seed: int = 0,
                     data_dir: str = "data",
                     log: Callable[[str], None] = lambda _msg: None) -> tuple[DigitClassifier, dict]:
    """Train on the digits' train split and measure accuracy on the held-out split.

    ``dataset`` "mnist" downloads the full set when it can and otherwise falls back to the 5,000
    offline digits (the metadata says which one it used).  Small random shifts, rotations and
    scalings make the network judge slightly off-centre generated digits fairly.
    """
    if epochs < 1:
        raise ConfigError("epochs", "train for at least one epoch")
    data = load_dataset(TrainConfig(dataset=dataset, data_dir=data_dir, image_size=SIZE, channels=1))
    if data.note:
        log(data.note)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = DigitClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    batches = max(1, len(data.train) // 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=epochs * batches)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(data.train), generator=gen)
        for idx in order[: batches * 64].view(batches, 64):
            loss = F.cross_entropy(model(_jitter(data.train[idx], gen)), data.train_labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        log(f"epoch {epoch + 1}/{epochs}: held-out accuracy {accuracy(model, data):.2%}")
    meta = {"format": FORMAT, "version": VERSION, "trained_on": data.name,
            "train_size": len(data.train), "held_out_size": len(data.held_out),
            "held_out_accuracy": round(accuracy(model, data), 4), "epochs": epochs, "seed": seed,
            "feature_dim": FEATURES, "parameters": sum(p.numel() for p in model.parameters())}
    return model, meta


def _jitter(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random shift (+-2 px), rotation (+-10 degrees) and scale (0.9-1.1) per image."""
    n = len(images)
    angle = (torch.rand(n, generator=gen) * 2 - 1) * (10 * torch.pi / 180)
    scale = 0.9 + 0.2 * torch.rand(n, generator=gen)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 * 2 / SIZE)   # 2 px in [-1, 1] units
    cos, sin = angle.cos() / scale, angle.sin() / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images + 1, grid, align_corners=False) - 1   # pads with background -1


def accuracy(model: DigitClassifier, data: Dataset) -> float:
    _, probs = model.embed(data.held_out)
    return (probs.argmax(dim=1) == data.held_out_labels.cpu()).double().mean().item()


# ------------------------------------------------------------------------------ saving, loading
def save_classifier(model: DigitClassifier, meta: dict[str, Any], path: str | Path = DEFAULT_PATH) -> Path:
    """Write the classifier atomically and record its figures in the folder's index.json."""
    path = save_state({"format": FORMAT, "version": VERSION, "state_dict": model.state_dict(),
                       "meta": meta}, path)
    record_in_index(path, meta)
    return path


def record_in_index(path: Path, meta: dict[str, Any]) -> Path:
    """Merge our entry into ``index.json`` beside ``path`` under INDEX_KEY, keeping every other
    entry: the file is shared with the GAN checkpoints, so it is re-read just before writing."""
    index_path = path.parent / "index.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    index[INDEX_KEY] = {"file": path.name, "size_bytes": path.stat().st_size,
                        "made_by": "python -m gan_core train-classifier", **meta}
    fd, tmp = tempfile.mkstemp(prefix=".index.json.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(index, indent=2) + "\n")
    os.replace(tmp, index_path)
    return index_path


def load_classifier(path: str | Path = DEFAULT_PATH) -> tuple[DigitClassifier, dict[str, Any]]:
    """The classifier and its metadata.  Raises CheckpointError with one sentence, naming the file
    but not its folder, when the file is missing, damaged or not a classifier; the sentence starts
    in lower case because the metrics show it after "n/a — "."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"the digit classifier file {path.name} is missing (train one with "
                              "`python -m gan_core train-classifier`).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError("not a digit classifier file")
        model = DigitClassifier()
        model.load_state_dict(state["state_dict"])
    except (pickle.UnpicklingError, RuntimeError, zipfile.BadZipFile, EOFError, OSError,
            ValueError, KeyError) as exc:
        raise CheckpointError(f"the digit classifier file {path.name} is damaged or not a digit "
                              f"classifier ({_first_line(exc)}).") from None
    return model.eval(), dict(state.get("meta", {}))


def _first_line(exc: BaseException) -> str:
    """A library error's first line, short; a file system error by its reason alone (its message
    names the path)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    lines = str(exc).splitlines()
    return lines[0][:120] if lines else type(exc).__name__


@lru_cache(maxsize=4)
def cached_classifier(path: str = str(DEFAULT_PATH)) -> DigitClassifier:
    """One shared read-only classifier per file: metrics run every few hundred steps."""
    return load_classifier(path)[0]
