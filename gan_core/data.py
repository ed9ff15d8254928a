"""Data sources behind one interface: every source becomes a pair of float32 tensors in memory.

Training draws a batch by indexing a tensor that already sits on the training device, so every
source (64 images in a folder or 100,000 points on a ring) samples the same way, with no
DataLoader, no worker processes and no host round trip per step.  Synthetic sources are generated
once with a fixed seed, so the data never depends on the training seed and a run is reproducible.
"""
from __future__ import annotations

import dataclasses
import io
import math
import os
import tarfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from .config import TrainConfig
from .errors import DataError
from .point_files import read_points

OFFLINE_DIGITS = Path(__file__).parent / "assets" / "mnist_5k.npz"
OFFLINE_ENV = "GAN_PLAYGROUND_OFFLINE"
# Synthetic sources: sizes of the pre-generated train / held-out sets and the seed that makes them.
SYNTHETIC_SIZES = (100_000, 10_000)
SYNTHETIC_SEED = 2014
# torchvision source -> (dataset class name, name shown to people).
TORCHVISION = {"mnist": ("MNIST", "MNIST"), "fashion-mnist": ("FashionMNIST", "Fashion-MNIST"),
               "cifar10": ("CIFAR10", "CIFAR-10")}
# Stored image source -> (train + held-out images, channels, side) as they come off the disk, so a
# memory budget can size a source without loading it.
IMAGE_SOURCES = {"mnist-offline": (5_000, 1, 28), "mnist": (70_000, 1, 28),
                 "fashion-mnist": (70_000, 1, 28), "cifar10": (60_000, 3, 32)}
# What a failed download or a broken file on disk raises inside torchvision.
LOAD_ERRORS = (OSError, RuntimeError, EOFError, tarfile.TarError)
# What PIL raises for a file that is not a readable image.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensors field by field would raise
class Dataset:
    """A source loaded into memory: train and held-out samples of shape (N, *config.sample_shape)."""

    name: str
    kind: str
    train: torch.Tensor
    held_out: torch.Tensor
    train_labels: torch.Tensor | None
    held_out_labels: torch.Tensor | None
    note: str = ""

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n training samples drawn uniformly with replacement (generator on the data's device)."""
        return _draw(self.train, n, generator)

    def sample_held_out(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n held-out samples, drawn like ``sample``: evaluation sees data G never trained against."""
        return _draw(self.held_out, n, generator)

    def to(self, device: torch.device | str) -> Dataset:
        """The same data on ``device`` (labels too, so metrics can use them without a copy)."""
        def move(x: torch.Tensor | None) -> torch.Tensor | None:
            return None if x is None else x.to(device)
        return dataclasses.replace(self, train=move(self.train), held_out=move(self.held_out),
                                   train_labels=move(self.train_labels),
                                   held_out_labels=move(self.held_out_labels))


def _draw(data: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Sample by index on the data's own device, so a training step never syncs with the host."""
    idx = torch.randint(len(data), (n,), generator=generator, device=data.device)
    return data[idx]


def load_dataset(config: TrainConfig, device: torch.device | str = "cpu") -> Dataset:
    """The data ``config`` asks for, on ``device``.  Raises DataError when it cannot be loaded.

    The CPU tensors are built once per data-relevant setting (and offline flag), so changing a
    learning rate and training again does not re-read or re-download anything.
    """
    offline = os.environ.get(OFFLINE_ENV) == "1"
    return _build(config.dataset, config.image_size, config.channels, config.image_folder,
                  config.points_file, config.data_dir, offline).to(device)


@lru_cache(maxsize=4)  # bounded: CIFAR-10 at 64 px alone is 2.5 GB of float32
def _build(dataset: str, image_size: int, channels: int, image_folder: str, points_file: str,
           data_dir: str, offline: bool) -> Dataset:
    """Dispatch to the source's loader; CPU tensors only."""
    if dataset in SYNTHETIC:
        return _synthetic(dataset)
    if dataset == "points-file":
        return _points_file(Path(points_file).expanduser())
    if dataset == "folder":
        return _folder(Path(image_folder).expanduser(), image_size, channels)
    if dataset == "mnist-offline":
        return _offline(image_size, channels)
    return _torchvision(dataset, image_size, channels, data_dir, offline)


# ---------------------------------------------------------------------------------- image sources
@lru_cache(maxsize=1)
def offline_digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The 5,000 shipped MNIST digits as (train_images, train_labels, held_out_images,
    held_out_labels): images float32 (N, 1, 28, 28) in [-1, 1], labels int64.  Stratified split:
    every fifth digit is held out (see assets/README.md)."""
    with np.load(OFFLINE_DIGITS) as archive:
        images = torch.from_numpy(archive["images"]).float().div_(127.5).sub_(1).unsqueeze(1)
        labels = torch.from_numpy(archive["labels"].astype(np.int64))
    held = torch.arange(len(labels)) % 5 == 4
    # The archive is sorted by digit: a fixed shuffle (after the stratified split is chosen) makes
    # every prefix a fair mix of all ten, e.g. the page's grid of real images, once all zeros.
    mix = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    images, labels, held = images[mix], labels[mix], held[mix]
    return images[~held], labels[~held], images[held], labels[held]


def _offline(size: int, channels: int, note: str = "") -> Dataset:
    """The offline digits shaped as asked: they stand in for any image source that fails."""
    train, train_labels, held, held_labels = offline_digits()
    return Dataset("mnist-offline", "image", _fit(train, size, channels),
                   _fit(held, size, channels), train_labels, held_labels, note)


def _torchvision(name: str, size: int, channels: int, data_dir: str, offline: bool) -> Dataset:
    """A torchvision dataset (test split held out), or the offline digits with a note if it fails.

    Offline mode never downloads, but still loads files already under ``data_dir``.
    """
    import torchvision.datasets  # imported here: slow to import, and only these sources need it

    class_name, title = TORCHVISION[name]
    source = getattr(torchvision.datasets, class_name)
    try:
        splits = [source(root=data_dir, train=train, download=not offline) for train in (True, False)]
    except LOAD_ERRORS as exc:
        why = (f"{title} is not in the data folder and {OFFLINE_ENV}=1 forbids downloading it" if offline
               else f"{title} download failed ({_reason(exc)})")
        shape = "" if (channels, size) == (1, 28) else f", as {channels}-channel {size}x{size} images"
        return _offline(size, channels,
                        f"{why}; training on the 5,000 offline digits instead{shape}.")
    (train, train_labels), (held, held_labels) = (_tensors(split, size, channels) for split in splits)
    return Dataset(name, "image", train, held, train_labels, held_labels)


def _tensors(split: Any, size: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of a torchvision split, read from its arrays in one go (a DataLoader
    would decode 60,000 PIL images one by one)."""
    images = _fit(_from_uint8(split.data), size, channels)
    return images, torch.as_tensor(split.targets, dtype=torch.int64)


def _reason(exc: Exception) -> str:
    """A short reason for a note: the last line of torchvision's (often multi-line) message,
    which is where the underlying cause ("Name or service not known") sits.  A file system error
    gives its reason alone: its message names a server path."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return exc.strerror
    lines = [line.strip("<> ") for line in str(exc).splitlines() if line.strip()]
    return lines[-1][:160] if lines else type(exc).__name__


def _folder(root: Path, size: int, channels: int) -> Dataset:
    """Every image under ``root`` (recursive, sorted so the split is the same every time).

    Messages name the folder by its last part and give counts, never file names: the folder is on
    the server, and its path and files are none of a visitor's business."""
    label = folder_label(root)
    if not os.path.isdir(root):   # os.path: False, not an error naming the path, when unreadable
        raise DataError(f"The image folder {label} does not exist.")
    paths = sorted(p for p in root.rglob("*") if os.path.isfile(p))
    if not paths:
        raise DataError(f"The image folder {label} holds no files.")
    images, skipped = _decode([_read(p) for p in paths], size, channels)
    if not images:
        raise DataError(f"None of the {len(paths):,} files in the image folder {label} is an image "
                        "that can be read.")
    images = _from_uint8(np.stack(images))
    notes: list[str] = []
    if skipped:
        notes.append(f"Skipped {len(skipped):,} of the {len(paths):,} files in {label}: they are not images.")
    if len(images) == 1:
        notes.append("Only one image, so it is also the held-out set.")
        return Dataset("folder", "image", images, images, None, None, " ".join(notes))
    return Dataset("folder", "image", *_hold_out(images), None, None, " ".join(notes))


def _hold_out(samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, held-out) of a source read from files: every tenth sample held out, and at least one
    (from 2 samples on), so the split is the same every time the files are read."""
    held = torch.arange(len(samples)) % 10 == 9
    if not held.any():
        held[-1] = True
    return samples[~held], samples[held]


def _read(path: Path) -> bytes:
    """A file's bytes, or none when it cannot be read (it is then skipped like any non-image)."""
    try:
        return path.read_bytes()
    except OSError:
        return b""


def folder_label(root: Path | str) -> str:
    """A server folder as a message may show it: its last part only, quoted."""
    return f"'{Path(root).name}'" if Path(root).name else "(the file system root)"


def _preview(names: list[str], limit: int = 5) -> str:
    """The first few names, so a note stays one readable sentence."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def images_from_files(files: list[tuple[str, bytes]], size: int,
                      channels: int) -> tuple[torch.Tensor, list[str]]:
    """Decode (name, bytes) image files (an upload) into float32 (N, channels, size, size) in
    [-1, 1].

    Returns the images and the names of the files that are not images (skipped, so one stray text
    file does not spoil an upload; the names are the uploader's own).  Raises DataError when
    nothing decodes.
    """
    decoded, skipped = _decode([data for _, data in files], size, channels)
    if not decoded:
        raise DataError(f"None of the {len(files)} files is an image that can be read "
                        f"({_preview([files[i][0] for i in skipped])}).")
    return _from_uint8(np.stack(decoded)), [files[i][0] for i in skipped]


def _decode(files: list[bytes], size: int, channels: int) -> tuple[list[np.ndarray], list[int]]:
    """Each readable image centre-cropped to a square (faces and objects keep their proportions)
    and resized, as uint8 arrays; and the positions of the files that are not images."""
    mode = "L" if channels == 1 else "RGB"
    decoded, skipped = [], []
    for i, data in enumerate(files):
        try:
            with Image.open(io.BytesIO(data)) as image:
                square = ImageOps.fit(image.convert(mode), (size, size), Image.Resampling.LANCZOS)
                decoded.append(np.asarray(square, dtype=np.uint8))
        except DECODE_ERRORS:
            skipped.append(i)
    return decoded, skipped


def _from_uint8(pixels: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 pixels, (N, H, W) grey or (N, H, W, C) colour, as float32 NCHW in [-1, 1]."""
    x = torch.as_tensor(np.asarray(pixels))
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    return x.float().div_(127.5).sub_(1).contiguous()


def _fit(images: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """Resize a whole NCHW batch at once and repeat grey to colour when ``channels`` is 3."""
    if images.shape[-1] != size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True,
                               align_corners=False)
    if images.shape[1] != channels:
        images = images.expand(-1, channels, -1, -1).contiguous()
    return images


# -------------------------------------------------------------------------------- points file
def _points_file(path: Path) -> Dataset:
    """A student's CSV of 2D points (``point_files``), shuffled with a fixed seed before the split:
    a file sorted by x would otherwise hold out, and plot first, one end of its shape."""
    try:
        data = path.read_bytes()
    except OSError:
        raise DataError(f"The points file {path.name} cannot be read.") from None
    points, note = read_points(data, path.name)
    points = points[torch.randperm(len(points), generator=torch.Generator().manual_seed(SYNTHETIC_SEED))]
    return Dataset("points-file", "points", *_hold_out(points), None, None, note)


# ------------------------------------------------------------------------------ synthetic sources
Sampler = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor | None]]


def mode_centers(name: str) -> tuple[torch.Tensor, float]:
    """The means (M, 2) and common sigma of the "ring" or "grid" Gaussian mixture.

    Metrics use the same centres to count which modes a generator covers.
    """
    if name == "ring":
        # arange, not linspace(0, 2 pi, 8): linspace repeats the first angle and gives 7 modes.
        angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return torch.stack([angles.cos(), angles.sin()], dim=1).float(), 0.01
    if name == "grid":
        coords = torch.arange(5, dtype=torch.float32) * 2 - 4
        xs, ys = torch.meshgrid(coords, coords, indexing="ij")
        return torch.stack([xs.flatten(), ys.flatten()], dim=1), 0.05
    raise ValueError(f"{name!r} has no mode centres; only 'ring' and 'grid' are mixtures")


def _mixture(name: str) -> Sampler:
    """Sampler for an equal-weight Gaussian mixture; labels are the component of each point."""
    def sample(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        means, sigma = mode_centers(name)
        labels = torch.randint(len(means), (n,), generator=gen)
        return means[labels] + sigma * torch.randn(n, 2, generator=gen), labels
    return sample


def _spiral(n: int, gen: torch.Generator) -> tuple[torch.Tensor, None]:
    """A two-turn Archimedean spiral r = 1.5 * theta / (4 pi), plus N(0, 0.04^2) noise.

    theta = 4 pi sqrt(u) spreads points evenly along the curve (arc length grows like theta^2);
    uniform theta would crowd the centre and reward a generator that only covers the middle.
    """
    theta = 4 * math.pi * torch.rand(n, generator=gen).sqrt()
    radius = 1.5 * theta / (4 * math.pi)
    points = torch.stack([radius * theta.cos(), radius * theta.sin()], dim=1)
    return points + 0.04 * torch.randn(n, 2, generator=gen), None


def _moons(n: int, gen: torch.Generator) -> tuple[torch.Tensor, None]:
    """Two interleaving half circles (sklearn's make_moons, noise 0.05), centred on the origin.

    Uncentred they span x in [-1, 2], y in [-0.5, 1]; shifting by (0.5, 0.25) gives about
    [-1.5, 1.5] x [-0.75, 0.75] without distorting the circles.
    """
    t = math.pi * torch.rand(n, generator=gen)
    upper = torch.stack([t.cos(), t.sin()], dim=1)
    lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], dim=1)
    is_upper = torch.rand(n, 1, generator=gen) < 0.5
    points = torch.where(is_upper, upper, lower) - torch.tensor([0.5, 0.25])
    return points + 0.05 * torch.randn(n, 2, generator=gen), None


def _pattern(n: int, gen: torch.Generator) -> tuple[torch.Tensor, None]:
    """Seed 002's "1010" rows: positions 0, 2, 4 ~ U(0.8, 1.0), positions 1, 3, 5 ~ U(0, 0.2)."""
    low = torch.tensor([0.8, 0.0, 0.8, 0.0, 0.8, 0.0])
    return low + 0.2 * torch.rand(n, 6, generator=gen), None


SYNTHETIC: dict[str, Sampler] = {"ring": _mixture("ring"), "grid": _mixture("grid"),
                                 "spiral": _spiral, "moons": _moons, "pattern": _pattern}


def _synthetic(name: str) -> Dataset:
    """Pre-generate train and held-out draws from a fixed seed, independent of the training seed."""
    n_train, n_held = SYNTHETIC_SIZES
    samples, labels = SYNTHETIC[name](n_train + n_held, torch.Generator().manual_seed(SYNTHETIC_SEED))
    kind = "pattern" if name == "pattern" else "points"
    if labels is None:
        return Dataset(name, kind, samples[:n_train], samples[n_train:], None, None)
    return Dataset(name, kind, samples[:n_train], samples[n_train:], labels[:n_train],
                   labels[n_train:])
