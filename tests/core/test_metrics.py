"""Quality metrics: PacGAN's toy protocol, the digit classifier's scores and where they show.

The digit tests load the shipped ``checkpoints/digit_classifier.pt`` (training it takes minutes);
every sample set is drawn with a fixed seed, so the thresholds below are stable.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import torch

from gan_core import metrics
from gan_core.__main__ import main
from gan_core.classifier import DEFAULT_PATH, INDEX_KEY, load_classifier, record_in_index
from gan_core.data import mode_centers, offline_digits
from gan_core.errors import CheckpointError
from gan_core.metrics import (DIGIT_SAMPLES, MIN_DIGIT_SAMPLES, digit_metrics, digit_samples, frechet_distance,
                              kl_to_uniform, live_metrics, mode_metrics)
from gan_core.presets import preset
from gan_core.trainer import Trainer


def mixture(name: str, n: int = 2500, seed: int = 0) -> torch.Tensor:
    """n samples from the true ring / grid mixture."""
    means, sigma = mode_centers(name)
    gen = torch.Generator().manual_seed(seed)
    return means[torch.randint(len(means), (n,), generator=gen)] + sigma * torch.randn(n, 2, generator=gen)


# ------------------------------------------------------------------------------------ 2D mixtures
def test_ring_has_eight_distinct_means_on_the_unit_circle() -> None:
    means, sigma = mode_centers("ring")
    assert sigma == 0.01
    assert len(torch.unique(means.round(decimals=4), dim=0)) == 8   # the linspace bug gives 7
    assert torch.allclose(means.norm(dim=1), torch.ones(8))
    assert torch.allclose(means[2], torch.tensor([0.0, 1.0]), atol=1e-6)


@pytest.mark.parametrize("name, modes", [("ring", 8), ("grid", 25)])
def test_true_mixture_scores_all_modes_high_quality_and_uniform(name: str, modes: int) -> None:
    m = mode_metrics(mixture(name), name)
    assert (m["modes"], m["total_modes"], m["samples"]) == (modes, modes, 2500)
    # within 3 sigma of a 2D Gaussian's mean: 1 - exp(-9/2) = 98.9%
    assert 98.0 < m["high_quality"] <= 100.0
    assert m["reverse_kl"] < 0.02


def test_one_mode_only_gives_one_mode_and_log8_reverse_kl() -> None:
    means, sigma = mode_centers("ring")
    points = means[3] + sigma * torch.randn(2500, 2, generator=torch.Generator().manual_seed(1))
    m = mode_metrics(points, "ring")
    assert m["modes"] == 1
    assert m["reverse_kl"] == pytest.approx(math.log(8))


def test_points_between_modes_are_low_quality_and_cover_nothing() -> None:
    means, _ = mode_centers("grid")
    midpoints = (means[:-1] + means[1:]) / 2          # 1 away from the nearest mean: 20 sigma
    m = mode_metrics(midpoints.numpy(), "grid")        # numpy input is accepted too
    assert (m["modes"], m["high_quality"]) == (0, 0.0)


def test_kl_to_uniform_is_zero_for_uniform_and_log_k_for_one_class() -> None:
    assert kl_to_uniform(torch.full((10,), 0.1)) == pytest.approx(0.0, abs=1e-7)
    assert kl_to_uniform(torch.tensor([0.0, 1.0, 0.0, 0.0])) == pytest.approx(math.log(4))


def test_frechet_distance_matches_the_closed_form_for_gaussians() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 3, generator=gen, dtype=torch.float64)
    b = 2 * torch.randn(20000, 3, generator=gen, dtype=torch.float64) + 1
    # N(0, I) vs N(1, 4I) in 3D: |mu|^2 = 3, Tr(I + 4I - 2 * 2I) = 3
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------------------------------ digits
@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """1,000 training digits (every fourth: all classes), the 1,000 held-out ones and labels."""
    train, _, held_out, held_out_labels = offline_digits()
    return train[::4], held_out, held_out_labels


@pytest.fixture(scope="module")
def real_scores(digits) -> dict:
    train, held_out, _ = digits
    return digit_metrics(train, held_out)


def test_shipped_classifier_is_safe_small_and_accurate(digits) -> None:
    model, meta = load_classifier()          # torch.load(weights_only=True) inside
    assert DEFAULT_PATH.stat().st_size < 1_000_000
    _, held_out, labels = digits
    _, probs = model.embed(held_out)
    accuracy = (probs.argmax(1) == labels).double().mean().item()
    assert accuracy > 0.95
    assert accuracy == pytest.approx(meta["held_out_accuracy"], abs=0.002)
    index = json.loads((DEFAULT_PATH.parent / "index.json").read_text())
    assert index[INDEX_KEY]["held_out_accuracy"] == meta["held_out_accuracy"]


def test_real_digits_cover_all_classes_with_a_small_fid(real_scores) -> None:
    m = real_scores
    assert (m["classes_covered"], m["generated"], m["real"]) == (10, 1000, 1000)
    assert m["class_kl"] < 0.01
    assert m["confidence"] > 8.5
    assert m["classifier_fid"] < 10


@pytest.mark.parametrize("fake", ["noise", "repeated digit"])
def test_noise_and_a_repeated_digit_score_badly(digits, real_scores, fake: str) -> None:
    train, held_out, _ = digits
    images = (torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
              if fake == "noise" else train[:1].expand(1000, -1, -1, -1))
    m = digit_metrics(images, held_out)
    assert m["classifier_fid"] > 50 * real_scores["classifier_fid"]
    assert m["confidence"] < 1.5
    assert m["classes_covered"] <= 2
    if fake == "repeated digit":
        assert m["classes_covered"] == 1
        assert m["class_kl"] == pytest.approx(math.log(10))


def test_colour_and_64_pixel_digits_are_read_as_digits(digits) -> None:
    train, held_out, _ = digits
    big = torch.nn.functional.interpolate(train, size=64, mode="bilinear", antialias=True)
    m = digit_metrics(big.expand(-1, 3, -1, -1), held_out)
    assert m["classes_covered"] == 10 and m["confidence"] > 8


def test_a_missing_or_foreign_classifier_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="train-classifier"):
        load_classifier(tmp_path / "none.pt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="foreign.pt is damaged or not a digit classifier") as caught:
        load_classifier(foreign)
    assert str(tmp_path) not in str(caught.value)


def test_a_damaged_classifier_puts_the_reason_in_the_metric_value(tmp_path: Path, monkeypatch) -> None:
    broken = tmp_path / "digit_classifier.pt"
    broken.write_bytes(b"PK\x03\x04 half a file")
    monkeypatch.setattr(metrics, "cached_classifier", lambda: load_classifier(broken)[0])
    shown = live_metrics(Trainer(preset("seed-000-vanilla", device="cpu")))
    value = shown["digit metrics"]["value"]
    assert value.startswith("n/a — the digit classifier file digit_classifier.pt is damaged")
    assert str(tmp_path) not in value and shown["digit metrics"]["help"]


def test_index_entry_is_merged_without_touching_other_entries(tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"checkpoints": [{"name": "toy-ring"}], "rebuild": "x"}))
    (tmp_path / "c.pt").write_bytes(b"12345")
    record_in_index(tmp_path / "c.pt", {"held_out_accuracy": 0.97})
    data = json.loads(index.read_text())
    assert data["checkpoints"] == [{"name": "toy-ring"}] and data["rebuild"] == "x"
    assert data[INDEX_KEY]["held_out_accuracy"] == 0.97 and data[INDEX_KEY]["size_bytes"] == 5


# ----------------------------------------------------------------------------- live and in the CLI
def test_live_metrics_fit_the_data_of_the_run() -> None:
    ring = live_metrics(Trainer(preset("toy-ring", device="cpu")))
    assert set(ring) >= {"measured at step", "modes covered (of 8)", "high-quality samples %",
                         "reverse KL (nats)", "samples scored"}
    assert all(isinstance(m["help"], str) and m["help"] for m in ring.values())
    assert ring["samples scored"]["value"] == 2500
    digits = live_metrics(Trainer(preset("seed-000-vanilla", device="cpu")))
    assert digits["samples scored"]["value"] == "1,000 generated vs 1,000 held-out real"
    assert 0 <= digits["classes covered (of 10)"]["value"] <= 10
    pattern = live_metrics(Trainer(preset("seed-002-pattern", device="cpu")))
    assert pattern["pattern learned"]["value"] == "no", "an untrained G has not learned 1010"
    assert len(pattern["slot means"]["value"].split()) == 6
    moons = live_metrics(Trainer(preset("toy-moons", device="cpu")))
    assert list(moons) == ["quality metrics"] and moons["quality metrics"]["value"] == "n/a"


def test_eval_prints_mode_metrics_for_a_toy_checkpoint(tmp_path: Path, capsys) -> None:
    trainer = Trainer(preset("toy-grid", device="cpu"))
    for _ in range(5):
        trainer.step()
    path = trainer.save(tmp_path / "grid.pt")
    assert main(["eval", str(path), "--json", "--n", "500"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["step"] == 5
    assert result["metrics"]["samples scored"]["value"] == 500
    assert 0 <= result["metrics"]["modes covered (of 25)"]["value"] <= 25
    assert main(["eval", str(path)]) == 0
    text = capsys.readouterr().out
    assert "reverse KL (nats)" in text and "2,500" in text


def test_larger_images_score_fewer_samples_so_their_panel_fills_soon() -> None:
    assert digit_samples(preset("seed-000-vanilla")) == DIGIT_SAMPLES
    assert digit_samples(preset("seed-004-dcgan")) == MIN_DIGIT_SAMPLES < DIGIT_SAMPLES


def test_variants_measured_side_by_side_share_one_time_budget() -> None:
    """A comparison's variants are measured at once: each takes its share of METRICS_SHARE, so the
    run as a whole spends no more time measuring than a single run does."""
    trainer = Trainer(preset("seed-002-pattern", device="cpu"))
    calls = {"alone": 0, "paired": 0}

    def slow(name: str):
        def measure(_) -> dict:
            calls[name] += 1
            time.sleep(0.05)          # waits for 2.5 s of training alone (METRICS_SHARE), 5 s paired
            return {}
        return measure
    alone = metrics.LiveQuality(slow("alone"), every=1)
    paired = metrics.LiveQuality(slow("paired"), every=1, sharers=2)
    for quality in (alone, paired):
        quality.update(trainer, elapsed=100.0, wait=True)
    trainer.step()
    for quality in (alone, paired):
        quality.update(trainer, elapsed=104.9, wait=True)
    assert calls == {"alone": 2, "paired": 1}
