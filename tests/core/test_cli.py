"""The command line: `python -m gan_core presets | info | train | sample | eval`.

Most tests call ``gan_core.__main__.main(argv)`` in-process (a fresh interpreter costs seconds of
torch start-up); one test runs the real module in a subprocess to see exit code and stderr.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.__main__ import main
from gan_core.checkpoint import read_checkpoint
from gan_core.models import build_models, count_params
from gan_core.presets import PRESETS, describe, preset

ROOT = Path(__file__).resolve().parents[2]


def cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Short CLI-trained checkpoints of each data kind (points, images, pattern)."""
    folder = tmp_path_factory.mktemp("cli")
    recipes = {"toy": ["--preset", "toy-ring", "--steps", "30"],
               "image": ["--preset", "seed-000-vanilla", "--steps", "2", "--set", "batch_size=8"],
               "pattern": ["--preset", "seed-002-pattern", "--steps", "3"]}
    paths = {}
    for kind, args in recipes.items():
        paths[kind] = folder / f"{kind}.pt"
        assert main(["train", *args, "--out", str(paths[kind])]) == 0
    return paths


# ------------------------------------------------------------------------------- presets, info
def test_presets_lists_every_preset_with_its_description(capsys) -> None:
    code, out, _ = cli(capsys, "presets")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(PRESETS)
    for line, name in zip(lines, PRESETS):
        head, sep, text = line.partition("  ")
        assert sep and head == name and text.strip() == describe(name)


@pytest.mark.parametrize("name", PRESETS)
def test_info_json_gives_parameter_counts(capsys, name: str) -> None:
    code, out, _ = cli(capsys, "info", "--preset", name, "--json")
    assert code == 0
    info = json.loads(out)
    generator, discriminator = build_models(preset(name))
    assert info["generator_params"] == count_params(generator)
    assert info["discriminator_params"] == count_params(discriminator)


def test_info_table_shows_output_shapes(capsys) -> None:
    code, out, _ = cli(capsys, "info", "--preset", "seed-004-dcgan")
    assert code == 0
    assert "Generator: 3,574,656 parameters" in out and "Discriminator:" in out
    assert "output shape" in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("body.")]
    g_convs = [row[2] for row in rows if row[1] == "ConvTranspose2d"]
    assert g_convs == ["512x4x4", "256x8x8", "128x16x16", "64x32x32", "1x64x64"]


def test_info_honours_set(capsys) -> None:
    code, out, _ = cli(capsys, "info", "--preset", "toy-ring", "--set", "g_hidden=[16]", "--json")
    assert code == 0
    assert json.loads(out)["generator_params"] == (2 * 16 + 16) + (16 * 2 + 2)


# ------------------------------------------------------------------------------- train
def test_train_writes_a_checkpoint(runs: dict[str, Path]) -> None:
    state = read_checkpoint(runs["toy"])
    assert state["step"] == 30 and len(state["history"]["step"]) == 30
    assert state["config"] == preset("toy-ring")
    assert read_checkpoint(runs["image"])["config"].batch_size == 8


def test_set_takes_effect(capsys, tmp_path: Path) -> None:
    out = tmp_path / "lr.pt"
    code, _, err = cli(capsys, "train", "--preset", "toy-ring", "--steps", "3",
                       "--set", "lr_g=1e-4", "--set", "d_steps=2", "--out", out)
    assert code == 0 and "steps/s" in err
    state = read_checkpoint(out)
    assert state["config"].lr_g == 1e-4 and state["config"].d_steps == 2
    assert state["opt_g"]["param_groups"][0]["lr"] == 1e-4


@pytest.mark.parametrize(("assignment", "field"), [("lr_g=fast", "lr_g"), ("lr_d=-1", "lr_d"),
                                                   ("learning_rate=1", "learning_rate"),
                                                   ("arch=dcgan", "arch")])
def test_bad_set_exits_2_naming_the_field(capsys, tmp_path: Path, assignment: str, field: str) -> None:
    out = tmp_path / "never.pt"
    code, stdout, err = cli(capsys, "train", "--preset", "toy-ring", "--steps", "3",
                            "--set", assignment, "--out", out)
    assert code == 2 and not out.exists()
    assert err.startswith(f"error: {field}: ") and len(err.strip().splitlines()) == 1


def test_unknown_preset_exits_2(capsys, tmp_path: Path) -> None:
    code, _, err = cli(capsys, "train", "--preset", "seed-999", "--out", tmp_path / "x.pt")
    assert code == 2 and "unknown preset 'seed-999'" in err and "toy-ring" in err


@pytest.mark.parametrize(("argv", "words"), [
    (["sample", "x.pt", "--n", "0"], "argument --n: 0 is less than 1"),
    (["sample", "x.pt", "--n", "-3"], "argument --n: -3 is less than 1"),
    (["sample", "x.pt", "--n", "ten"], "argument --n: 'ten' is not a whole number"),
    (["sample", "x.pt", "--seed", "-1"], "argument --seed: -1 is less than 0"),
    (["train", "--steps", "0"], "argument --steps: 0 is less than 1"),
    (["eval", "x.pt", "--n", "1"], "argument --n: 1 is less than 2"),
    (["train-classifier", "--epochs", "0"], "argument --epochs: 0 is less than 1")])
def test_counts_below_their_minimum_are_one_usage_line(capsys, tmp_path: Path, argv: list[str], words: str) -> None:
    """`sample --n 0` gave a traceback and `train --steps 0` trained the preset's full length."""
    out = tmp_path / "never.pt"
    with pytest.raises(SystemExit) as caught:
        main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and words in err and "Traceback" not in err and not out.exists()


def test_bad_set_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gan_core", "train", "--preset", "toy-ring", "--steps", "3",
         "--set", "lr_g=fast", "--out", str(tmp_path / "x.pt")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "lr_g" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.pt").exists()


def test_resume_continues_the_run_exactly(capsys, runs: dict[str, Path], tmp_path: Path) -> None:
    resumed = tmp_path / "resumed.pt"
    code, _, err = cli(capsys, "train", "--resume", runs["toy"], "--steps", "20", "--out", resumed)
    assert code == 0 and "at step 50" in err
    straight = tmp_path / "straight.pt"
    assert cli(capsys, "train", "--preset", "toy-ring", "--steps", "50", "--out", straight)[0] == 0
    a, b = read_checkpoint(resumed), read_checkpoint(straight)
    assert a["step"] == b["step"] == 50
    assert a["history"]["loss_d"] == b["history"]["loss_d"]
    assert all(torch.equal(a["G"][k], b["G"][k]) for k in a["G"])
    assert all(torch.equal(a["D"][k], b["D"][k]) for k in a["D"])


def test_resume_without_steps_runs_to_the_planned_length(capsys, tmp_path: Path) -> None:
    first, second = tmp_path / "first.pt", tmp_path / "second.pt"
    assert cli(capsys, "train", "--preset", "toy-grid", "--set", "steps=12", "--steps", "5",
               "--out", first)[0] == 0
    code, _, err = cli(capsys, "train", "--resume", first, "--out", second)
    assert code == 0 and read_checkpoint(second)["step"] == 12
    code, _, err = cli(capsys, "train", "--resume", second, "--out", tmp_path / "third.pt")
    assert code == 2 and "12" in err and "--steps" in err      # nothing left to train: say how
    assert not (tmp_path / "third.pt").exists()


def test_resume_with_set_changes_live_knobs_only(capsys, runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "lr.pt"
    code, _, _ = cli(capsys, "train", "--resume", runs["toy"], "--steps", "2", "--set", "lr_d=5e-4",
                     "--out", out)
    assert code == 0 and read_checkpoint(out)["config"].lr_d == 5e-4
    code, _, err = cli(capsys, "train", "--resume", runs["toy"], "--steps", "2",
                       "--set", "latent_dim=3", "--out", tmp_path / "no.pt")
    assert code == 2 and "latent_dim" in err and not (tmp_path / "no.pt").exists()


def test_resume_of_a_bad_file_exits_2(capsys, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"PK\x03\x04 not really")
    code, _, err = cli(capsys, "train", "--resume", junk, "--out", tmp_path / "out.pt")
    assert code == 2 and "truncated or corrupt" in err


# ------------------------------------------------------------------------------- sample
def test_sample_png(capsys, runs: dict[str, Path], tmp_path: Path) -> None:
    for kind in ("toy", "image", "pattern"):
        out = tmp_path / f"{kind}.png"
        code, _, _ = cli(capsys, "sample", runs[kind], "--n", "16", "--out", out)
        assert code == 0
        with Image.open(out) as picture:
            assert picture.format == "PNG" and picture.width > 20 and picture.height > 20


@pytest.mark.parametrize(("kind", "shape"), [("toy", (10, 2)), ("image", (10, 1, 28, 28)),
                                              ("pattern", (10, 6))])
def test_sample_npz_shapes(capsys, runs: dict[str, Path], tmp_path: Path, kind: str, shape: tuple) -> None:
    out = tmp_path / f"{kind}.npz"
    code, _, _ = cli(capsys, "sample", runs[kind], "--n", "10", "--out", out)
    assert code == 0
    with np.load(out) as archive:
        samples = archive["samples"]
    assert samples.shape == shape and np.isfinite(samples).all()
    if kind == "image":
        assert samples.min() >= -1 and samples.max() <= 1
    again = tmp_path / "again.npz"
    cli(capsys, "sample", runs[kind], "--n", "10", "--out", again)
    with np.load(again) as archive:
        assert np.array_equal(archive["samples"], samples)        # same --seed, same samples


def test_sample_refuses_unknown_suffix_and_missing_files(capsys, runs: dict[str, Path], tmp_path: Path) -> None:
    code, _, err = cli(capsys, "sample", runs["toy"], "--out", tmp_path / "x.jpg")
    assert code == 2 and ".png or .npz" in err
    code, _, err = cli(capsys, "sample", tmp_path / "missing.pt", "--out", tmp_path / "x.png")
    assert code == 2 and "no such checkpoint file" in err


# ------------------------------------------------------------------------------- eval
def test_eval_json_reports_held_out_scores(capsys, runs: dict[str, Path]) -> None:
    code, out, _ = cli(capsys, "eval", runs["toy"], "--json", "--n", "500")
    assert code == 0
    result = json.loads(out)
    assert result["step"] == 30
    assert 0 <= result["heldout_d_real"] <= 1 and 0 <= result["heldout_d_fake"] <= 1
    assert {"heldout_loss_d", "heldout_loss_g"} <= set(result)
    code, text, _ = cli(capsys, "eval", runs["image"], "--n", "100")
    assert code == 0 and "heldout_d_real" in text and "heldout_d_fake" in text


def test_eval_of_a_pattern_checkpoint_says_whether_the_pattern_is_learned(capsys, runs: dict[str, Path]) -> None:
    code, out, _ = cli(capsys, "eval", runs["pattern"], "--json")
    assert code == 0
    metrics = json.loads(out)["metrics"]
    assert metrics["pattern learned"]["value"] in ("yes", "no")
    assert len(metrics["slot means"]["value"].split()) == 6


def test_toy_sample_png_is_a_scatter_plot_with_axes(capsys, runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "toy.png"
    assert cli(capsys, "sample", runs["toy"], "--n", "256", "--out", out)[0] == 0
    with Image.open(out) as picture:
        pixels = np.asarray(picture.convert("RGB")).astype(int)
    dark = pixels.sum(axis=2) < 3 * 128
    height, width = dark.shape
    columns, rows = dark.sum(axis=0), dark.sum(axis=1)
    assert columns[: width // 4].max() > 0.7 * height, "a y axis line near the left edge"
    assert rows[-height // 4:].max() > 0.7 * width, "an x axis line near the bottom edge"
    blue = (pixels[..., 2] > 120) & (pixels[..., 0] < 80) & (pixels[..., 1] < 100)
    assert blue.sum() > 200, "the generated points are visible"
    faint = (pixels[..., 0] > 220) & (pixels[..., 1] > 160) & (pixels[..., 1] < 220) & (pixels[..., 2] < 180)
    assert faint.sum() > 50, "the real data shows faintly behind them"


def test_sample_draws_z_as_the_latent_explorer_does(capsys, runs: dict[str, Path], tmp_path: Path) -> None:
    from gan_core.latent import LatentModel
    out = tmp_path / "s.npz"
    assert cli(capsys, "sample", runs["toy"], "--n", "5", "--seed", "7", "--out", out)[0] == 0
    model = LatentModel.load(runs["toy"])
    with np.load(out) as archive:
        assert np.array_equal(archive["samples"], model.generate(model.z_from_seed(7, 5)).numpy())
