"""Memory budget of a run, estimated from its config alone: nothing real is allocated.

G and D are built on the ``meta`` device (shapes, no storage) and their layers' output sizes are
worked out by shape arithmetic, so a config asking for six layers of 16,384 is sized in
milliseconds instead of taking gigabytes to find out.  The same meta networks give the weight
shapes a checkpoint must hold, so an upload is checked before any of its networks exists.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .config import ConfigError, TrainConfig
from .data import IMAGE_SOURCES, SYNTHETIC, SYNTHETIC_SIZES
from .metrics import MODE_DATASETS, TOY_SAMPLES, digit_samples
from .models import BUILDERS
from .models.common import Dropout
from .point_files import MAX_ROWS, MIN_ROW_BYTES
from .trainer import EVAL_SAMPLES

# Layers whose output has their input's shape: activations, normalisations, dropout.
SHAPE_KEEPING = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.BatchNorm1d, nn.BatchNorm2d,
                 nn.LayerNorm, nn.Dropout, Dropout)
FLOAT_BYTES = 4    # the engine trains in float32, torch's default

# Copies of every parameter a run holds besides its optimiser state: weight and gradient.
PARAM_COPIES = 2
# The trainer's rollback copies of weights and optimiser state (the last verified state, so a NaN
# never leaves broken weights): a new copy is made before the old one is dropped, hence two.
ROLLBACK_COPIES = 2
# Autograd keeps each layer's output for backward, and backward allocates about as much again.
BACKWARD_FACTOR = 2
# A folder scan stops after this many entries, so a folder such as '/' cannot stall a page; the
# count so far (a lower bound) is usually over any budget already.
FOLDER_SCAN_LIMIT = 100_000
LABEL_BYTES = 8    # int64 class labels


class BudgetError(ConfigError):
    """A run would need more memory than this server allows; ``field`` is the knob to turn down."""

    def __init__(self, field_name: str, message: str, estimate: Estimate, limit_bytes: int):
        super().__init__(field_name, message)
        self.estimate, self.limit_bytes = estimate, limit_bytes


@dataclass(frozen=True)
class Estimate:
    """Bytes one training run of a config needs, by what holds them."""

    params_g: int
    params_d: int
    weights_bytes: int      # parameters x (weight, gradient, optimiser state, rollback copies)
    activation_bytes: int   # one training step at batch_size: G, D on real and fake, backward
    sampling_bytes: int     # quality metrics sample G beside training (no gradients, fixed size)
    data_bytes: int         # the train + held-out data as float tensors (and a folder's files)

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.activation_bytes + self.sampling_bytes + self.data_bytes

    def largest_field(self, config: TrainConfig) -> str:
        """The config field to blame for the largest part: a network's width, the batch size or
        the data's size."""
        parts = self.parts(config)
        return max(parts, key=parts.__getitem__)

    def parts(self, config: TrainConfig) -> dict[str, int]:
        """Bytes by the config field that drives them (weights split by parameter count)."""
        params = max(1, self.params_g + self.params_d)
        g_weights = self.weights_bytes * self.params_g // params
        dcgan = config.arch == "dcgan"
        return {"ngf" if dcgan else "g_hidden": g_weights + self.sampling_bytes,
                "ndf" if dcgan else "d_hidden": self.weights_bytes - g_weights,
                "batch_size": self.activation_bytes,
                "image_size" if config.data_kind == "image" else "dataset": self.data_bytes}


def estimate(config: TrainConfig) -> Estimate:
    """What a run of ``config`` needs, from meta networks and the data's known size."""
    generator, discriminator = _meta_models(config)
    state = _optimiser_copies(config)
    per_param = PARAM_COPIES + state + ROLLBACK_COPIES * (1 + state)
    weights = sum(_tensor_bytes(net.parameters()) * per_param + _tensor_bytes(net.buffers())
                  for net in (generator, discriminator))
    weights += _tensor_bytes(generator.parameters())    # the metrics' copy of G
    g_outputs, d_outputs = _outputs(config, generator, discriminator)
    real = config.batch_size * math.prod(config.sample_shape) * FLOAT_BYTES
    return Estimate(params_g=_count(generator), params_d=_count(discriminator),
                    weights_bytes=weights,
                    # D judges a real and a fake batch; autograd keeps every output for backward.
                    activation_bytes=BACKWARD_FACTOR * (g_outputs + 2 * d_outputs + real),
                    # Without gradients each output could go once used, but convolution workspaces
                    # bring the peak close to the sum of the outputs: that sum is the bound.
                    sampling_bytes=g_outputs * _sampled(config) // config.batch_size,
                    data_bytes=_data_bytes(config))


def check(config: TrainConfig, limit_bytes: int) -> Estimate:
    """The estimate of ``config``; raises BudgetError naming the knob to turn down when the run
    would need more than ``limit_bytes``."""
    needed = estimate(config)
    if needed.total_bytes > limit_bytes:
        field_name = needed.largest_field(config)
        raise BudgetError(field_name, f"this run needs about {format_bytes(needed.total_bytes)} of "
                          f"memory, mostly for {_DRIVES[field_name]}; this server allows "
                          f"{format_bytes(limit_bytes)} per run.", needed, limit_bytes)
    return needed


# What each field of Estimate.parts drives, as a BudgetError words it.
_DRIVES = {"g_hidden": "the generator", "ngf": "the generator", "d_hidden": "the discriminator",
           "ndf": "the discriminator", "batch_size": "one training batch",
           "image_size": "the training data", "dataset": "the training data"}


def format_bytes(n: int) -> str:
    """Decimal units, two significant figures at least: '950 B', '350 MB', '6.1 GB'."""
    value, unit = float(n), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 999.5 or unit == "TB":
            break
        value /= 1000
    return f"{value:.1f} {unit}" if value < 9.95 and unit != "B" else f"{value:.0f} {unit}"


def weight_shapes(config: TrainConfig) -> tuple[dict[str, torch.Size], dict[str, torch.Size]]:
    """The state_dict shapes (parameters and buffers) that G and D of ``config`` have."""
    generator, discriminator = _meta_models(config)
    return _shapes(generator), _shapes(discriminator)


def _shapes(net: nn.Module) -> dict[str, torch.Size]:
    return {name: tensor.shape for name, tensor in net.state_dict().items()}


# ------------------------------------------------------------------------------------ networks
def _meta_models(config: TrainConfig) -> tuple[nn.Module, nn.Module]:
    """G and D with shapes only (init schemes are skipped: they change values, not sizes)."""
    with torch.device("meta"):
        return BUILDERS[config.arch](config)


def _count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _optimiser_copies(config: TrainConfig) -> int:
    """Tensors per parameter in the optimiser's state: Adam's two moments, SGD's momentum."""
    if config.optimizer == "adam":
        return 2
    return 1 if config.momentum else 0


def _outputs(config: TrainConfig, generator: nn.Module, discriminator: nn.Module) -> tuple[int, int]:
    """Bytes of the layer outputs of G and of D for one batch of batch_size.  D sees the batch as
    rows of its input shape (PacGAN packs ``pack`` samples into one row)."""
    d_rows = config.batch_size * math.prod(config.sample_shape) // math.prod(discriminator.in_shape)
    return (_layer_bytes(generator, config.batch_size), _layer_bytes(discriminator, d_rows))


def _layer_bytes(net: nn.Module, rows: int) -> int:
    """Sum of the outputs of ``net``'s layers for ``rows`` inputs, from shape arithmetic alone (a
    meta forward pass would import hundreds of modules on first use; in-place layers write over
    their input and add nothing)."""
    shape, total = (rows, *net.in_shape), 0
    for layer in net.body:
        shape = output_shape(layer, shape)
        if not getattr(layer, "inplace", False):
            total += math.prod(shape) * FLOAT_BYTES
    return total


def output_shape(layer: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The output shape of one of our layers for an input ``shape`` (batch first)."""
    if isinstance(layer, nn.Linear):
        return (*shape[:-1], layer.out_features)
    if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
        sides = (_conv_side(layer, side, axis) for axis, side in enumerate(shape[2:]))
        return (shape[0], layer.out_channels, *sides)
    if isinstance(layer, SHAPE_KEEPING):
        return shape
    raise TypeError(f"budget cannot size a {type(layer).__name__} layer: teach output_shape its shape")


def _conv_side(conv: nn.Conv2d | nn.ConvTranspose2d, size: int, axis: int) -> int:
    """Side of a (transposed) convolution's output along ``axis``, as torch's docs give it."""
    k, stride, pad, dilation = (conv.kernel_size[axis], conv.stride[axis], conv.padding[axis],
                                conv.dilation[axis])
    if isinstance(conv, nn.ConvTranspose2d):
        return (size - 1) * stride - 2 * pad + dilation * (k - 1) + conv.output_padding[axis] + 1
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def _sampled(config: TrainConfig) -> int:
    """Samples G makes at once outside training: PacGAN's 2,500 for the mixtures' metrics, else
    the live digit measurement's, or a held-out evaluation's when the run evaluates."""
    if config.dataset in MODE_DATASETS:
        return TOY_SAMPLES
    return max(digit_samples(config), EVAL_SAMPLES if config.eval_every else 0)


# ------------------------------------------------------------------------------------ data
def _data_bytes(config: TrainConfig) -> int:
    """The data source in memory, as ``data.load_dataset`` holds it."""
    sample = math.prod(config.sample_shape) * FLOAT_BYTES
    if config.dataset in SYNTHETIC:
        labels = LABEL_BYTES if config.dataset in MODE_DATASETS else 0   # a mixture's components
        return sum(SYNTHETIC_SIZES) * (sample + labels)
    if config.dataset == "folder":
        files, file_bytes = folder_files(config.image_folder)
        return files * sample + file_bytes    # every file is read before decoding
    if config.dataset == "points-file":
        # The file is read whole; its rows are bounded by its size without reading it.
        file_bytes = _file_size(config.points_file)
        return min(MAX_ROWS, file_bytes // MIN_ROW_BYTES) * sample + file_bytes
    count, channels, side = IMAGE_SOURCES[config.dataset]
    native = channels * side * side * FLOAT_BYTES
    # Images are turned to floats at their own size, then resized (a second tensor) if needed.
    fitted = 0 if (config.channels, config.image_size) == (channels, side) else sample
    return count * (native + fitted + LABEL_BYTES)


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(Path(path).expanduser()) if path else 0
    except OSError:
        return 0


def folder_files(folder: str) -> tuple[int, int]:
    """Files under ``folder`` and their total size, walked as the folder source reads it
    (recursive, symbolic links to folders not followed); stops after FOLDER_SCAN_LIMIT entries."""
    files = size = seen = 0
    pending = [Path(folder).expanduser()] if folder else []
    while pending and seen <= FOLDER_SCAN_LIMIT:
        try:
            entries = os.scandir(pending.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                seen += 1
                if seen > FOLDER_SCAN_LIMIT:
                    break
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(Path(entry.path))
                    elif entry.is_file():
                        files, size = files + 1, size + entry.stat().st_size
                except OSError:
                    continue
    return files, size
