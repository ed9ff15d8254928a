"""Data sources: shapes, ranges, the toy distributions' geometry, sampling and offline fallbacks.

Every torchvision source runs with GAN_PLAYGROUND_OFFLINE=1 and an empty tmp_path as data_dir,
so no test ever reaches the internet.
"""
from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.config import TrainConfig
from gan_core.data import DataError, images_from_files, load_dataset, mode_centers

TOYS = ["ring", "grid", "spiral", "moons", "pattern"]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAN_PLAYGROUND_OFFLINE", "1")


def config_for(dataset: str, **fields) -> TrainConfig:
    return TrainConfig(dataset=dataset, arch="mlp", **fields)


# ------------------------------------------------------------------------------- shapes and ranges
@pytest.mark.parametrize("name", TOYS)
def test_synthetic_sources_have_fixed_sizes_and_sample_shape(name: str) -> None:
    config = config_for(name)
    data = load_dataset(config)
    assert (data.name, data.kind) == (name, config.data_kind)
    assert data.train.shape == (100_000, *config.sample_shape)
    assert data.held_out.shape == (10_000, *config.sample_shape)
    assert data.train.dtype == data.held_out.dtype == torch.float32
    assert not torch.equal(data.train[:10_000], data.held_out)


@pytest.mark.parametrize("name", ["spiral", "moons"])
def test_spiral_and_moons_fit_the_plot_window(name: str) -> None:
    points = load_dataset(config_for(name)).train
    assert points.abs().max() < 1.9
    assert points.mean(0).abs().max() < 0.3  # roughly centred


def test_offline_digits_are_images_in_range_with_labels() -> None:
    data = load_dataset(config_for("mnist-offline"))
    assert data.train.shape == (4000, 1, 28, 28) and data.held_out.shape == (1000, 1, 28, 28)
    assert data.train.min() >= -1 and data.train.max() <= 1
    assert data.train_labels.dtype == torch.int64 and set(data.train_labels.tolist()) == set(range(10))
    assert data.note == ""


def test_offline_digits_resize_to_64() -> None:
    data = load_dataset(config_for("mnist-offline", image_size=64))
    assert data.train.shape == (4000, 1, 64, 64)
    assert data.train.min() >= -1 and data.train.max() <= 1


# ------------------------------------------------------------------------------------- toy geometry
def test_ring_has_eight_distinct_modes_at_radius_one() -> None:
    means, sigma = mode_centers("ring")
    assert means.shape == (8, 2) and sigma == 0.01
    assert torch.allclose(means.norm(dim=1), torch.ones(8))
    assert torch.cdist(means, means).add(torch.eye(8)).min() > 0.7  # no mode repeated


def test_ring_points_lie_near_their_own_mean() -> None:
    data = load_dataset(config_for("ring"))
    means, sigma = mode_centers("ring")
    distance = (data.train - means[data.train_labels]).norm(dim=1)
    assert distance.max() < 6 * sigma
    assert torch.bincount(data.train_labels, minlength=8).min() > 11_000  # equal weights


def test_grid_has_25_modes_two_apart() -> None:
    means, sigma = mode_centers("grid")
    assert means.shape == (25, 2) and sigma == 0.05
    assert set(means.flatten().tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert len({tuple(m) for m in means.tolist()}) == 25
    data = load_dataset(config_for("grid"))
    assert (data.train - means[data.train_labels]).norm(dim=1).max() < 6 * sigma


def test_mode_centers_refuses_sources_without_modes() -> None:
    with pytest.raises(ValueError):
        mode_centers("moons")


def test_pattern_alternates_high_and_low() -> None:
    rows = load_dataset(config_for("pattern")).train
    high, low = rows[:, 0::2], rows[:, 1::2]
    assert high.min() >= 0.8 and high.max() <= 1.0
    assert low.min() >= 0.0 and low.max() <= 0.2


# ------------------------------------------------------------------------------ sampling, determinism
def test_sample_shape_device_and_reproducibility() -> None:
    data = load_dataset(config_for("ring"), device="cpu")
    first = data.sample(64, torch.Generator().manual_seed(7))
    again = data.sample(64, torch.Generator().manual_seed(7))
    assert first.shape == (64, 2) and first.device == data.train.device
    assert torch.equal(first, again)
    assert not torch.equal(first, data.sample(64, torch.Generator().manual_seed(8)))
    assert data.sample_held_out(5, torch.Generator().manual_seed(7)).shape == (5, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_load_moves_data_to_the_device() -> None:
    data = load_dataset(config_for("ring"), device="cuda")
    assert data.train.is_cuda and data.train_labels.is_cuda
    assert data.sample(8, torch.Generator(device="cuda").manual_seed(0)).is_cuda


def test_synthetic_data_is_identical_across_processes() -> None:
    """The data must not depend on the training seed or on the process that builds it."""
    script = ("from gan_core.config import TrainConfig; from gan_core.data import load_dataset\n"
              "for name in ('ring', 'spiral', 'pattern'):\n"
              "    print(repr(load_dataset(TrainConfig(dataset=name)).train.double().sum().item()))")
    here = [repr(load_dataset(config_for(name)).train.double().sum().item())
            for name in ("ring", "spiral", "pattern")]
    root = Path(__file__).resolve().parents[2]
    other = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                           text=True, check=True).stdout.split()
    assert other == here


# ------------------------------------------------------------------------------ torchvision sources
def test_mnist_offline_mode_falls_back_to_offline_digits(offline: None, tmp_path: Path) -> None:
    data = load_dataset(config_for("mnist", data_dir=str(tmp_path)))
    assert data.name == "mnist-offline"
    assert "offline digits" in data.note
    assert data.train.shape == (4000, 1, 28, 28)


def test_cifar10_fallback_converts_digits_to_colour(offline: None, tmp_path: Path) -> None:
    data = load_dataset(config_for("cifar10", channels=3, image_size=32, data_dir=str(tmp_path)))
    assert data.name == "mnist-offline" and "offline digits" in data.note
    assert data.train.shape == (4000, 3, 32, 32)
    assert torch.equal(data.train[:, 0], data.train[:, 2])


def write_idx(path: Path, array: np.ndarray) -> None:
    """MNIST's idx format: magic (0x08 = uint8, number of dims), big-endian sizes, raw bytes."""
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_offline_mode_still_loads_mnist_already_on_disk(offline: None, tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", 6), ("t10k", 3)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", np.full((n, 28, 28), 255))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n))
    data = load_dataset(config_for("mnist", image_size=32, data_dir=str(tmp_path)))
    assert (data.name, data.note) == ("mnist", "")
    assert data.train.shape == (6, 1, 32, 32) and data.held_out.shape == (3, 1, 32, 32)
    assert torch.allclose(data.train, torch.ones(()))
    assert data.held_out_labels.tolist() == [0, 1, 2]


# ------------------------------------------------------------------------------------ folder source
def write_png(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def test_folder_loads_images_recursively_and_skips_other_files(tmp_path: Path) -> None:
    for i in range(4):
        write_png(tmp_path / "sub" / f"img{i}.png", (40 + i, 30), (255, 0, 0))
    (tmp_path / "notes.txt").write_text("not an image")
    data = load_dataset(config_for("folder", image_folder=str(tmp_path), channels=3, image_size=16))
    assert data.train.shape == (3, 3, 16, 16) and data.held_out.shape == (1, 3, 16, 16)
    assert torch.allclose(data.train[:, 0], torch.ones(())) and data.train[:, 1:].max() == -1
    assert data.note == f"Skipped 1 of the 5 files in '{tmp_path.name}': they are not images."


def test_folder_of_one_image_holds_it_out_too(tmp_path: Path) -> None:
    write_png(tmp_path / "only.png", (20, 20), (0, 0, 0))
    data = load_dataset(config_for("folder", image_folder=str(tmp_path), image_size=8))
    assert data.train.shape == data.held_out.shape == (1, 1, 8, 8)


def test_folder_without_images_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    with pytest.raises(DataError, match="None of the 1 files"):
        load_dataset(config_for("folder", image_folder=str(tmp_path)))


def test_missing_folder_is_a_data_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="nowhere"):
        load_dataset(config_for("folder", image_folder=str(missing)))


def test_folder_messages_show_no_server_path_and_no_file_names(tmp_path: Path) -> None:
    """A visitor who points the folder source at a server folder learns counts, nothing more."""
    server = tmp_path / "etc"
    (server / "PackageKit").mkdir(parents=True)
    for name in (".pwd.lock", "PackageKit/secret.conf", "passwd"):
        (server / name).write_text("not an image")
    unreadable = server / "shadow"
    unreadable.write_text("root:x")
    unreadable.chmod(0)
    for folder, words in ((server, "None of the 4 files in the image folder 'etc'"),
                          (server / "absent", "The image folder 'absent' does not exist"),
                          (server / "PackageKit" / "secret.conf", "'secret.conf' does not exist")):
        with pytest.raises(DataError) as caught:
            load_dataset(config_for("folder", image_folder=str(folder)))
        message = str(caught.value)
        assert words in message and str(tmp_path) not in message
        assert not any(name in message for name in (".pwd.lock", "passwd", "shadow", "PackageKit"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="The image folder 'empty' holds no files"):
        load_dataset(config_for("folder", image_folder=str(empty)))


def test_a_missing_download_names_no_server_folder(offline: None, tmp_path: Path) -> None:
    data = load_dataset(config_for("mnist", data_dir=str(tmp_path / "server-data")))
    assert data.name == "mnist-offline" and "the data folder" in data.note
    assert str(tmp_path) not in data.note and "server-data" not in data.note


def test_images_from_files_centre_crops_to_a_square(tmp_path: Path) -> None:
    wide = Image.new("L", (30, 10), 0)
    wide.paste(255, (10, 0, 20, 10))  # white middle third, black sides
    buffer = tmp_path / "wide.png"
    wide.save(buffer)
    images, skipped = images_from_files([("wide.png", buffer.read_bytes()), ("x.bin", b"\0")], 10, 1)
    assert images.shape == (1, 1, 10, 10) and skipped == ["x.bin"]
    assert images.min() > 0.9  # only the white middle survives the crop
