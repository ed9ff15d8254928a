"""TrainConfig: every knob of a GAN run as plain, validated, JSON-friendly data.

A preset is nothing but a TrainConfig (see ``presets.py``): the trainer never asks *which* preset
it runs, only what the config says.  That keeps "every knob a preset sets is a knob the user can
set" true by construction.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints

from .errors import GanCoreError


class ConfigError(GanCoreError, ValueError):
    """A config value is out of range; the message names the field and what is allowed."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


# Allowed values of the categorical fields, with one line of meaning each (shown as UI help).
CHOICES: dict[str, dict[str, str]] = {
    "dataset": {
        "mnist-offline": "5,000 real MNIST digits shipped with the app (no network needed)",
        "mnist": "MNIST, 60k digits (torchvision download; falls back to the offline digits)",
        "fashion-mnist": "Fashion-MNIST, 60k clothing images (torchvision download)",
        "cifar10": "CIFAR-10, 50k colour photos (torchvision download)",
        "folder": "your own images from `image_folder`",
        "pattern": "the seed-002 '1010' pattern: 6 values alternating high / low",
        "ring": "2D: ring of 8 Gaussians, radius 1, sigma 0.01",
        "grid": "2D: 5x5 grid of 25 Gaussians, spacing 2, sigma 0.05",
        "spiral": "2D: a noisy two-turn spiral",
        "moons": "2D: two interleaving half circles",
        "points-file": "2D: your own points from the CSV file `points_file` (x, y on each line), "
                       "centred and scaled to a standard deviation of 1",
    },
    "arch": {
        "mlp": "fully connected G and D (seeds 000, 001, 003 and the 2D toys)",
        "dcgan": "convolutional G and D (seed 004 and dcgan-small)",
        "pattern": "the tiny LayerNorm nets of seed 002",
    },
    "activation": {"relu": "ReLU", "leaky_relu": "LeakyReLU with `leaky_slope`"},
    "g_output": {
        "auto": "the family's own: Tanh for images, none for points, LeakyReLU for the pattern nets",
        "leaky_relu": "LeakyReLU with `leaky_slope`: unbounded above (seed 002's choice)",
        "sigmoid": "Sigmoid: outputs in (0, 1), the range of the '1010' pattern",
        "tanh": "Tanh: outputs in (-1, 1), the range of the image data",
        "none": "no squashing: G's last Linear layer is its output",
    },
    "init": {
        "default": "PyTorch's default initialisation",
        "xavier": "Xavier-normal weights, biases U(0.1, 0.2) (seed 001)",
        "dcgan": "conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), bias 0 (seed 004)",
    },
    "loss": {
        "bce": "library binary cross-entropy (log clamped at -100, never inf)",
        "log": "the paper's hand-written -log D(x) - log(1 - D(G(z))), computed literally",
        "mse": "least squares: (D(x) - 1)^2 + D(G(z))^2",
    },
    "g_loss": {
        "non_saturating": "G minimises -log D(G(z)): strong gradients early (the paper's trick)",
        "saturating": "G minimises log(1 - D(G(z))): the minimax form, gradients vanish early",
    },
    "d_update": {
        "mean": "one D update on (real + fake) / 2",
        "sum": "one D update on real + fake",
        "split": "two D updates: one on a real batch, one on a fake batch (seed 002)",
    },
    "noise": {
        "uniform_pm1": "uniform on [-1, 1)",
        "uniform01": "uniform on [0, 1)",
        "normal": "standard normal N(0, 1)",
        "constant": "every entry equals `noise_constant` (seed 002 feeds G the value 0.5)",
    },
    "optimizer": {"adam": "Adam with betas (beta1, beta2)", "sgd": "SGD with `momentum`"},
    "order": {"d_first": "D step(s), then G step", "g_first": "G step, then D step(s) on its batch"},
}

# One line per field saying what it does to the game (the UI's help text for each knob).
FIELD_HELP: dict[str, str] = {
    "dataset": "What G learns to imitate and D sees as 'real'.",
    "image_size": "Side of the square images in pixels (dcgan builds 28, 32 or 64).",
    "channels": "1 for grey images, 3 for colour.",
    "image_folder": "The folder of images that are the real data (used by dataset 'folder').",
    "points_file": ("Your CSV of 2D points, x and y on each line (used by dataset 'points-file'): "
                    "centred on their mean and scaled so the wider axis has a standard deviation "
                    "of 1, the size the toy presets' learning rates and plots are made for."),
    "data_dir": "Where torchvision datasets are downloaded and cached.",
    "arch": "The network family of both G and D.",
    "latent_dim": "Size of the noise vector z that G turns into a sample.",
    "g_hidden": "Widths of G's hidden layers, comma-separated (e.g. 256, 256).",
    "d_hidden": "Widths of D's hidden layers, comma-separated (e.g. 256, 256).",
    "g_activation": "Non-linearity between G's hidden layers.",
    "d_activation": "Non-linearity between D's hidden layers.",
    "leaky_slope": "Slope of LeakyReLU for negative inputs.",
    "g_output": ("What G's last layer is squashed by: a range that matches the data's lets G reach "
                 "it; an unbounded one can overshoot it (auto keeps each family's own)."),
    "dropout": "Dropout probability in D's hidden layers (0 turns it off).",
    "g_batchnorm": "BatchNorm after G's hidden layers (seed 003).",
    "bn_eps": "BatchNorm's epsilon (seed 003 used 0.8, a large value that acts as a damper).",
    "ngf": "Feature maps of the DCGAN generator's last layer (its width).",
    "ndf": "Feature maps of the DCGAN discriminator's first layer (its width).",
    "d_first_bn": "BatchNorm on D's first conv layer too (seed 004; the DCGAN paper leaves it out).",
    "init": "How the weights start out.",
    "pack": "PacGAN: D judges this many samples at once, which fights mode collapse.",
    "loss": "How D's verdicts become a loss.",
    "g_loss": "Which G objective: the paper's minimax form or its non-saturating trick.",
    "d_update": "How the real and fake halves of D's loss become updates.",
    "r1_gamma": ("R1 penalty gamma/2 * |grad_x D's logit|^2 on real data, added to D's loss (0 "
                 "turns it off): keeps D smooth on the data, so G keeps every mode."),
    "noise": "Distribution of the noise z fed to G.",
    "noise_constant": "The value of every z entry when noise is 'constant'.",
    "optimizer": "The update rule for both G and D.",
    "lr_g": "Learning rate of G: how far each G step moves.",
    "lr_d": "Learning rate of D: how far each D step moves.",
    "beta1": "Adam's momentum (first-moment decay); DCGAN uses 0.5.",
    "beta2": "Adam's second-moment decay.",
    "momentum": "SGD momentum (0 is plain SGD).",
    "lr_decay": ("Last fraction of `steps` over which both learning rates fall linearly to 1% "
                 "(0 keeps them constant): lets a run settle instead of circling its equilibrium."),
    "batch_size": "Real and fake samples per update.",
    "d_steps": "k: D updates per G update (the paper's inner loop).",
    "order": "Whether D or G moves first in each iteration.",
    "steps": "Suggested length of a run (the CLI trains this many steps).",
    "seed": "Seed of the weights, the noise and the data order: same seed, same run.",
    "device": "Where the model trains; auto picks the GPU when there is one.",
    "metrics_every": "Steps between two copies of the losses from the device to the charts.",
    "eval_every": "Steps between two held-out evaluations of D(x) and D(G(z)) (0 turns them off).",
}

IMAGE_DATASETS = ("mnist-offline", "mnist", "fashion-mnist", "cifar10", "folder")
POINT_DATASETS = ("ring", "grid", "spiral", "moons", "points-file")
DCGAN_SIZES = (28, 32, 64)


@dataclass
class TrainConfig:
    """One GAN run.  Field order follows the UI: data, model, loss, noise, optimiser, schedule."""

    # --- data
    dataset: str = "mnist-offline"
    image_size: int = 28
    channels: int = 1
    image_folder: str = ""
    points_file: str = ""
    data_dir: str = "data"
    # --- model
    arch: str = "mlp"
    latent_dim: int = 100
    g_hidden: list[int] = field(default_factory=lambda: [256, 256])
    d_hidden: list[int] = field(default_factory=lambda: [256, 256])
    g_activation: str = "relu"
    d_activation: str = "leaky_relu"
    g_output: str = "auto"
    leaky_slope: float = 0.2
    dropout: float = 0.0
    g_batchnorm: bool = False
    bn_eps: float = 1e-5
    ngf: int = 64
    ndf: int = 64
    d_first_bn: bool = False
    init: str = "default"
    pack: int = 1
    # --- loss
    loss: str = "bce"
    g_loss: str = "non_saturating"
    d_update: str = "mean"
    r1_gamma: float = 0.0
    # --- noise
    noise: str = "normal"
    noise_constant: float = 0.5
    # --- optimiser
    optimizer: str = "adam"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    momentum: float = 0.0
    lr_decay: float = 0.0
    # --- schedule
    batch_size: int = 64
    d_steps: int = 1
    order: str = "d_first"
    steps: int = 2000
    seed: int = 0
    device: str = "auto"
    metrics_every: int = 25
    eval_every: int = 0

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> "TrainConfig":
        """Raise ConfigError naming the first bad field; return self when all is well."""
        self._check_types()
        for name, allowed in (("dataset", "dataset"), ("arch", "arch"), ("init", "init"),
                              ("loss", "loss"), ("g_loss", "g_loss"), ("d_update", "d_update"),
                              ("noise", "noise"), ("optimizer", "optimizer"), ("order", "order"),
                              ("g_activation", "activation"), ("d_activation", "activation"),
                              ("g_output", "g_output")):
            value = getattr(self, name)
            if value not in CHOICES[allowed]:
                raise ConfigError(name, f"{value!r} is not one of {', '.join(CHOICES[allowed])}")
        _in_range("latent_dim", self.latent_dim, 1, 4096)
        _in_range("batch_size", self.batch_size, 1, 8192)
        _in_range("d_steps", self.d_steps, 1, 100)
        _in_range("steps", self.steps, 1, 10_000_000)
        _in_range("metrics_every", self.metrics_every, 1, 10_000)
        _in_range("eval_every", self.eval_every, 0, 10_000_000)
        _in_range("pack", self.pack, 1, 16)
        _in_range("seed", self.seed, 0, 2**63 - 1)
        _in_range("ngf", self.ngf, 1, 1024)
        _in_range("ndf", self.ndf, 1, 1024)
        for name in ("lr_g", "lr_d"):
            _in_range(name, getattr(self, name), 1e-8, 10.0)
        for name in ("beta1", "beta2", "momentum"):
            _in_range(name, getattr(self, name), 0.0, 0.9999)
        _in_range("dropout", self.dropout, 0.0, 0.95)
        _in_range("lr_decay", self.lr_decay, 0.0, 1.0)
        _in_range("r1_gamma", self.r1_gamma, 0.0, 1000.0)
        _in_range("leaky_slope", self.leaky_slope, 0.0, 1.0)
        _in_range("bn_eps", self.bn_eps, 1e-12, 10.0)
        for name in ("g_hidden", "d_hidden"):
            widths = getattr(self, name)
            if self.arch != "dcgan" and not widths:
                raise ConfigError(name, "needs at least one hidden layer width")
            for w in widths:
                _in_range(name, w, 1, 16384)
        if self.batch_size % self.pack:
            raise ConfigError("pack", f"batch_size {self.batch_size} must be a multiple of pack {self.pack}")
        if self.pack > 1 and self.arch != "mlp":
            raise ConfigError("pack", "packing (PacGAN) is available for the mlp architecture only")
        self._check_data_model_fit()
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise ConfigError("device", f"{self.device!r}: use auto, cpu, cuda, cuda:N or mps")
        return self

    def _check_types(self) -> None:
        hints = get_type_hints(type(self))
        for f in fields(self):
            value, hint = getattr(self, f.name), hints[f.name]
            ok = {
                int: isinstance(value, int) and not isinstance(value, bool),
                float: isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value),
                bool: isinstance(value, bool),
                str: isinstance(value, str),
            }.get(hint, isinstance(value, list) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value))
            if not ok:
                kind = getattr(hint, "__name__", "list of integers")
                raise ConfigError(f.name, f"{value!r} is not a valid {kind}")

    def _check_data_model_fit(self) -> None:
        if self.arch == "pattern" and self.dataset != "pattern":
            raise ConfigError("arch", "the pattern nets only fit the 'pattern' dataset")
        if self.dataset == "pattern" and self.arch != "pattern" and self.arch != "mlp":
            raise ConfigError("arch", "the 'pattern' dataset needs the pattern or mlp architecture")
        if self.arch == "dcgan":
            if self.dataset not in IMAGE_DATASETS:
                raise ConfigError("arch", "dcgan needs an image dataset")
            if self.image_size not in DCGAN_SIZES:
                raise ConfigError("image_size", f"dcgan builds {', '.join(map(str, DCGAN_SIZES))} pixels")
        _in_range("image_size", self.image_size, 8, 256)
        if self.channels not in (1, 3):
            raise ConfigError("channels", "use 1 (grey) or 3 (colour)")
        needed = {"cifar10": 3}.get(self.dataset, 1 if self.dataset in IMAGE_DATASETS[:3] else None)
        if needed is not None and self.channels != needed:
            raise ConfigError("channels", f"{self.dataset} has {needed} channel(s)")
        if self.dataset == "folder" and not self.image_folder:
            raise ConfigError("image_folder", "name the folder that holds your images")
        if self.dataset == "points-file" and not self.points_file:
            raise ConfigError("points_file", "dataset 'points-file' needs a CSV file of 2D points, x "
                                             "and y on each line")

    # ------------------------------------------------------------------ derived facts
    @property
    def data_kind(self) -> str:
        """'image', 'points' or 'pattern': what one sample looks like."""
        if self.dataset in IMAGE_DATASETS:
            return "image"
        return "points" if self.dataset in POINT_DATASETS else "pattern"

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one real (and generated) sample."""
        return {"image": (self.channels, self.image_size, self.image_size),
                "points": (2,), "pattern": (6,)}[self.data_kind]

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], "is not a config field")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> "TrainConfig":
        """A validated copy with some fields changed (unknown names are refused)."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    def with_overrides(self, assignments: list[str]) -> "TrainConfig":
        """Apply CLI-style ``key=value`` strings; values are parsed as JSON when they can be."""
        changes: dict[str, Any] = {}
        for item in assignments:
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ConfigError(key or item, "write overrides as key=value")
            changes[key] = parse_value(key, raw.strip())
        return self.replace(**changes)


def parse_value(key: str, raw: str) -> Any:
    """Turn the text of a ``key=value`` override into the field's type.  Any text that is not one
    (a link's included) raises ConfigError, never another error."""
    hints = get_type_hints(TrainConfig)
    if key not in hints:
        raise ConfigError(key, "is not a config field")
    hint = hints[key]
    if hint is str:
        return raw
    if hint is bool:
        if raw.lower() in ("true", "1", "yes", "on"):
            return True
        if raw.lower() in ("false", "0", "no", "off"):
            return False
        raise ConfigError(key, f"{raw!r} is not true or false")
    try:
        value = json.loads(raw if hint != list[int] or raw.startswith("[") else f"[{raw}]")
    except (ValueError, RecursionError):   # not JSON, nested too deep, or an int with too many digits
        raise ConfigError(key, f"{raw!r} is not a valid value") from None
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return value


def _in_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(name, f"{value} is outside the allowed range [{low:g}, {high:g}]")
