"""Quality metrics: what a loss curve cannot tell a learner about a GAN.

Two families, each computed the way the literature does so the numbers sit beside published ones:

- 2D mixtures (ring of 8, grid of 25): PacGAN's protocol (Lin et al. 2018).  Score 2,500 samples;
  a sample is *high quality* when it lies within 3 sigma of its nearest mean; a mode is *covered*
  when at least one high-quality sample is nearest to it; *reverse KL* is KL(p_gen || uniform) over
  the nearest-mode assignment of all samples.
- Digits: a small CNN classifier (``classifier.py``) gives the class histogram, classes covered,
  its KL to uniform, an Inception-score-style confidence score and a *classifier FID*: the Frechet
  distance between the classifier's penultimate features of generated and held-out real digits.
  It is not the Inception FID (other network, other features, other scale): compare it only with
  itself, at the same sample sizes.
- Seed 002's '1010' pattern: both losses sit at ln 2 whether G is right or not, so the pattern is
  checked slot by slot: each slot's mean over many samples must lie near the real data's side
  (which slots are high is read from the real rows, not written here again).

``quality_metrics`` picks the family that fits a run's data; ``live_metrics`` is the Runner's hook.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent import futures
from concurrent.futures import Future
from typing import Any, Callable

import numpy as np
import torch

from .classifier import DigitClassifier, cached_classifier
from .config import ConfigError
from .data import mode_centers
from .errors import CheckpointError

log = logging.getLogger(__name__)

# Live measurements come at least this many steps apart and take at most this share of the
# training time: they run beside training on a copy of G, but still use a core.
METRICS_EVERY = 500
METRICS_SHARE = 0.02
# A run's first figures must come within seconds of Play, not after 500 steps: early on the step
# gap doubles from EARLY_STEPS and a measurement may take EARLY_SHARE of the training time.
EARLY_STEPS = 20
EARLY_SECONDS = 30.0
EARLY_SHARE = 0.25
EARLY_WAIT = 3.0            # ... and a slow run (a 64x64 DCGAN on a CPU) measures after this many seconds
TOY_SAMPLES = 2500          # PacGAN scores 2,500 generated samples
DIGIT_SAMPLES = 1000        # live digit metrics: cheap enough to run every few hundred steps
MIN_DIGIT_SAMPLES = 200     # ... for larger images, fewer: a 64x64 G costs about 5x a 28x28 one per sample
DIGIT_DATASETS = ("mnist", "mnist-offline")
CLASSES = 10
HIGH_AT_LEAST = 0.75        # a pattern's high slot: its mean over the samples reaches this
LOW_AT_MOST = 0.25          # a pattern's low slot: its mean stays at or below this
PATTERN_SAMPLES = 200
COVERED_SHARE = 0.025       # a digit class is covered with >= 2.5% of samples (1/4 of a fair share)
MODE_DATASETS = ("ring", "grid")
REAL_LIMIT = 10_000         # held-out real digits the classifier FID compares with (at most)

Metric = dict[str, Any]     # {"value": number or str, "help": one line}


# ------------------------------------------------------------------------------------ 2D mixtures
def mode_metrics(samples: torch.Tensor | np.ndarray, name: str) -> dict[str, float | int]:
    """PacGAN's figures for (N, 2) ``samples`` of the ``name`` mixture (ring / grid): modes
    covered of total_modes, high_quality (% of samples), reverse_kl (nats) and samples (N)."""
    points = torch.as_tensor(samples).detach().cpu().double().reshape(-1, 2)
    means, sigma = mode_centers(name)
    distances = torch.cdist(points, means.double())
    nearest_distance, nearest = distances.min(dim=1)
    high_quality = nearest_distance < 3 * sigma
    modes = len(means)
    share = torch.bincount(nearest, minlength=modes).double() / len(points)
    return {"modes": int(torch.unique(nearest[high_quality]).numel()), "total_modes": modes,
            "high_quality": float(high_quality.double().mean() * 100),
            "reverse_kl": kl_to_uniform(share), "samples": len(points)}


def kl_to_uniform(share: torch.Tensor) -> float:
    """KL(p || uniform) in nats for a histogram ``share`` that sums to 1 (0 log 0 = 0)."""
    p = share[share > 0].double()
    return float((p * (p * len(share)).log()).sum().clamp_min(0.0))


# ------------------------------------------------------------------------------------------ digits
def digit_metrics(generated: torch.Tensor, real: torch.Tensor,
                  classifier: DigitClassifier | None = None) -> dict[str, Any]:
    """Classifier-based scores of ``generated`` images against held-out ``real`` ones.

    Both are NCHW in [-1, 1]; colour becomes grey and other sizes are resized to 28x28 first.
    Returns the class histogram (shares), classes covered (share >= COVERED_SHARE), the KL of the
    histogram to uniform, the confidence score exp(E_x KL(p(y|x) || p(y))) (1 = one class or
    no confidence, 10 = confident and balanced) and the classifier FID, with both sample sizes.
    """
    classifier = classifier or cached_classifier()
    gen_features, probs = classifier.embed(generated)
    real_features, _ = classifier.embed(real)
    share = torch.bincount(probs.argmax(dim=1), minlength=CLASSES).double() / len(probs)
    return {"class_histogram": [round(float(s), 4) for s in share],
            "classes_covered": int((share >= COVERED_SHARE).sum()),
            "class_kl": kl_to_uniform(share),
            "confidence": confidence_score(probs),
            "classifier_fid": frechet_distance(gen_features, real_features),
            "generated": len(generated), "real": len(real)}


def confidence_score(probs: torch.Tensor) -> float:
    """Inception-score style exp(E_x KL(p(y|x) || p(y))) from class probabilities (N, classes)."""
    p = probs.double().clamp_min(1e-12)
    marginal = p.mean(dim=0, keepdim=True)
    return float((p * (p.log() - marginal.log())).sum(dim=1).mean().exp())


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) between two feature sets (N, d).

    Tr((S_a S_b)^1/2) is the sum of square roots of the eigenvalues of S_a^1/2 S_b S_a^1/2, a
    symmetric matrix, so two symmetric eigendecompositions replace scipy's sqrtm.
    """
    a, b = a.double(), b.double()
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    values, vectors = torch.linalg.eigh(cov_a)
    root_a = vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    distance = (a.mean(0) - b.mean(0)).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross
    return float(distance.clamp_min(0))


def high_slots(real: torch.Tensor) -> torch.Tensor:
    """Boolean mask of the slots that are high in the real pattern rows ``real`` (N, 6)."""
    return real.mean(dim=0) > 0.5


def pattern_score(samples: torch.Tensor, real: torch.Tensor) -> dict:
    """Slot means of generated ``samples`` (N, 6) and whether every high slot is >= HIGH_AT_LEAST
    and every low slot <= LOW_AT_MOST, the high slots being those of ``real``."""
    means = samples.detach().float().cpu().reshape(len(samples), -1).mean(dim=0)
    high = high_slots(real.cpu())
    learned = bool((means[high] >= HIGH_AT_LEAST).all() and (means[~high] <= LOW_AT_MOST).all())
    return {"slot_means": [round(float(m), 4) for m in means], "learned": learned}


def trainer_pattern_score(trainer, n: int = PATTERN_SAMPLES) -> dict:
    """``pattern_score`` of ``n`` samples of a pattern run's G against its held-out real rows."""
    return pattern_score(trainer.sample(n), trainer.data.held_out)


def digit_samples(config) -> int:
    """Samples a live digit measurement scores: DIGIT_SAMPLES at 28x28, fewer as the images grow,
    so a 64x64 run's panel fills within seconds too (its FID then compares with itself only)."""
    pixels = config.image_size ** 2
    return max(MIN_DIGIT_SAMPLES, DIGIT_SAMPLES * 28 * 28 // pixels // 100 * 100)


# ---------------------------------------------------------------------- what a run shows and prints
def quality_metrics(trainer, n: int | None = None) -> dict[str, Metric]:
    """The metrics that fit ``trainer``'s data as name -> {"value", "help"}: mode coverage for the
    ring and grid, classifier scores for digits, the slot check for the pattern, {} for anything
    else.  ``n`` generated samples (default: 2,500 for the toys as in PacGAN, 1,000 for digits,
    200 for the pattern), drawn with a fixed seed so two measurements of the same G agree."""
    if n is not None and n < 2:
        raise ConfigError("n", f"score at least 2 samples, not {n}")
    name = trainer.data.name
    if name in MODE_DATASETS:
        return _mode_panel(mode_metrics(trainer.sample(n or TOY_SAMPLES), name))
    if name == "pattern":
        return _pattern_panel(trainer_pattern_score(trainer, n or PATTERN_SAMPLES), n or PATTERN_SAMPLES)
    if name in DIGIT_DATASETS:
        try:
            scores = digit_metrics(trainer.sample(n or digit_samples(trainer.config)),
                                   trainer.data.held_out[:REAL_LIMIT])
        except CheckpointError as exc:   # the reason goes in the value: a tooltip is easily missed
            return {"digit metrics": {"value": f"n/a — {exc}", "help": (
                "Scores of the generated digits by a small digit classifier, which could not be "
                "loaded.")}}
        return _digit_panel(scores)
    return {}


def live_metrics(trainer) -> dict[str, Metric]:
    """The Runner's hook: ``quality_metrics`` plus the step they were measured at, or one line
    saying why this data has none.  0.1-0.8 s on a CPU core (0.7 s for dcgan-small), every few
    hundred steps, on a copy of G beside the training thread (``Runner._measure``)."""
    metrics = quality_metrics(trainer)
    if not metrics:
        return {"quality metrics": {"value": "n/a", "help": (
            "Mode coverage is measured on the ring and grid, digit-classifier scores on MNIST "
            f"digits, the slot check on the pattern; none fits '{trainer.data.name}'.")}}
    return {"measured at step": {"value": trainer.step_count,
                                 "help": "Training step of these figures (they refresh every few hundred steps)."},
            **metrics}


def format_value(value: Any) -> str:
    """A metric value as printed: integers as is, other numbers with 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _mode_panel(m: dict[str, float | int]) -> dict[str, Metric]:
    return {
        f"modes covered (of {m['total_modes']})": {"value": m["modes"], "help": (
            "Modes with at least one high-quality sample nearest to them (PacGAN's protocol).")},
        "high-quality samples %": {"value": round(m["high_quality"], 2), "help": (
            "Share of samples within 3 sigma of their nearest mode centre.")},
        "reverse KL (nats)": {"value": round(m["reverse_kl"], 4), "help": (
            "KL(generated mode shares || uniform) over every sample's nearest mode: 0 = all modes "
            "equally often.")},
        "samples scored": {"value": m["samples"], "help": "Generated samples scored (PacGAN scores 2,500)."},
    }


def _pattern_panel(score: dict, n: int) -> dict[str, Metric]:
    return {
        "pattern learned": {"value": "yes" if score["learned"] else "no", "help": (
            f"Every high slot's mean >= {HIGH_AT_LEAST} and every low slot's <= {LOW_AT_MOST}, "
            f"over {n} samples: the losses at ln 2 cannot say this.")},
        "slot means": {"value": " ".join(f"{m:.3f}" for m in score["slot_means"]), "help": (
            "Mean of each of G's 6 outputs; the real pattern is high, low, high, low, high, low.")},
    }


def _digit_panel(m: dict[str, Any]) -> dict[str, Metric]:
    histogram = " ".join(f"{digit}:{share * 100:.0f}" for digit, share in enumerate(m["class_histogram"]))
    return {
        f"classes covered (of {CLASSES})": {"value": m["classes_covered"], "help": (
            f"Digits that the classifier reads in at least {COVERED_SHARE:.1%} of the samples "
            "(a quarter of a fair 10% share).")},
        "class histogram %": {"value": histogram, "help": "Share of samples read as each digit 0-9."},
        "class KL to uniform (nats)": {"value": round(m["class_kl"], 4), "help": (
            "KL(class histogram || uniform): 0 = every digit equally often, 2.30 = one digit only.")},
        "confidence score (1-10)": {"value": round(m["confidence"], 3), "help": (
            "Inception-score style exp(E KL(p(y|x) || p(y))) from the digit classifier: 10 = every "
            "sample a clear digit and all digits equally often.")},
        "classifier FID (not Inception FID)": {"value": round(m["classifier_fid"], 3), "help": (
            "Frechet distance between the digit classifier's 64 features of generated and "
            "held-out real digits; lower is better; compare only at equal sample sizes.")},
        "samples scored": {"value": f"{m['generated']:,} generated vs {m['real']:,} held-out real",
                           "help": "Sample sizes of the digit metrics (FID depends on them)."},
    }


class LiveQuality:
    """Quality measured while a run trains: on a frozen copy of G, on a thread of its own so
    training goes on, at least ``every`` steps apart and at most METRICS_SHARE of the training
    time, which ``sharers`` measured side by side (a comparison's variants) split between them.
    The first comes at step 0, so a panel shows the untrained starting point at once, and the next
    ones soon after Play (see EARLY_STEPS)."""

    def __init__(self, measure: Callable[[Any], dict[str, Any]] | None = None, every: int = METRICS_EVERY,
                 sharers: int = 1):
        self._measure, self._every, self._sharers = measure, every, sharers
        self._step, self._due = -every, 0.0          # last measured step; training seconds before the next
        self._started_at = 0.0                       # training seconds when the last measurement began
        self._running: Future | None = None          # (metrics, seconds) of the measurement under way
        self.latest: dict[str, Any] = {}

    @property
    def finished(self) -> bool:
        """A measurement has ended that ``update`` has not taken yet."""
        return self._running is not None and self._running.done()

    def update(self, trainer: Any, elapsed: float, wait: bool) -> dict[str, Any]:
        """The latest measurement, after starting one if it is due (and, if ``wait``, because
        nothing trains meanwhile, waiting for it)."""
        self._take(elapsed)
        steps, gap = trainer.step_count - self._step, min(self._every, max(EARLY_STEPS, self._step))
        slow_start = elapsed < EARLY_SECONDS and steps > 0 and elapsed - self._started_at >= EARLY_WAIT
        if (self._measure is not None and self._running is None and elapsed >= self._due
                and (steps >= gap or slow_start)):   # the gap doubles until it reaches ``every``
            self._started_at = elapsed
            self._start(trainer)
            if wait:
                futures.wait([self._running])
                self._take(elapsed)
        return self.latest

    def wait(self, timeout: float) -> None:
        if self._running is not None:
            futures.wait([self._running], timeout)

    def _start(self, trainer: Any) -> None:
        self._step, frozen, measure, done = trainer.step_count, trainer.frozen(), self._measure, Future()

        def run() -> None:   # a new thread takes the thread count of the thread that starts it
            started = time.perf_counter()
            try:
                metrics = measure(frozen)
            except Exception as exc:  # noqa: BLE001 - a failed measurement must not stop the run
                log.exception("quality measurement failed")
                metrics = {"quality metrics": {"value": "n/a", "help": f"Measuring failed: {exc}"}}
            done.set_result((metrics, time.perf_counter() - started))

        self._running = done
        threading.Thread(target=run, name="gan-metrics", daemon=True).start()

    def _take(self, elapsed: float) -> None:
        if self.finished:
            self.latest, seconds = self._running.result()
            self._running = None
            share = (EARLY_SHARE if elapsed < EARLY_SECONDS else METRICS_SHARE) / self._sharers
            self._due = elapsed + seconds / share
