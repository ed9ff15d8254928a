"""Latent-space tools on small real generators (built from presets, trained for a few steps)."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.config import TrainConfig
from gan_core.data import load_dataset, offline_digits
from gan_core.errors import GanCoreError
from gan_core.latent import (LatentModel, frame_png, interpolate, latent_grid, lerp, nearest_neighbours,
                             principal_directions, random_walk, slerp, typical_real_distance)
from gan_core.noise import from_gaussian, noise_range
from gan_core.render import MARKER, path_frames
from gan_core.presets import preset
from gan_core.render import gif_bytes, image_grid, strip_png
from gan_core.trainer import Trainer


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory: pytest.TempPathFactory) -> LatentModel:
    """A tiny MLP GAN on the offline digits, saved and loaded back as the latent page does."""
    trainer = Trainer(preset("seed-000-vanilla", g_hidden=[32], d_hidden=[32], latent_dim=16))
    for _ in range(3):
        trainer.step()
    return LatentModel.load(trainer.save(tmp_path_factory.mktemp("ckpt") / "tiny.pt"))


def test_lerp_hits_both_endpoints_and_the_midpoint():
    a, b = torch.randn(10), torch.randn(10)
    assert torch.equal(lerp(a, b, 0.0), a)
    assert torch.allclose(lerp(a, b, 1.0), b)
    assert torch.allclose(lerp(a, b, 0.5), (a + b) / 2)
    frames = lerp(a, b, torch.linspace(0, 1, 5))
    assert frames.shape == (5, 10)
    assert torch.equal(frames[0], a) and torch.allclose(frames[-1], b)


def test_slerp_keeps_the_norm_of_equal_norm_vectors():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(100, generator=g), torch.randn(100, generator=g)
    b = b / b.norm() * a.norm()
    frames = slerp(a, b, torch.linspace(0, 1, 11))
    assert torch.allclose(frames.norm(dim=1), a.norm().expand(11), rtol=1e-5)
    assert torch.allclose(frames[0], a, atol=1e-5) and torch.allclose(frames[-1], b, atol=1e-5)
    # lerp's midpoint of two near-orthogonal vectors is much shorter: the reason for slerp
    assert lerp(a, b, 0.5).norm() < 0.8 * a.norm()


def test_slerp_norm_moves_linearly_between_unequal_norms():
    a, b = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 5.0])
    frames = slerp(a, b, torch.linspace(0, 1, 5))
    assert torch.allclose(frames.norm(dim=1), torch.tensor([3.0, 3.5, 4.0, 4.5, 5.0]))


def test_slerp_equals_lerp_for_parallel_vectors():
    a = torch.randn(8)
    t = torch.linspace(0, 1, 7)
    assert torch.allclose(slerp(a, 2.5 * a, t), lerp(a, 2.5 * a, t))
    assert torch.allclose(slerp(a, -a, t), lerp(a, -a, t))   # antiparallel: no great circle
    assert torch.allclose(slerp(torch.zeros(8), a, t), lerp(torch.zeros(8), a, t))


def test_interpolate_gives_the_requested_frames_from_a_to_b():
    a, b = torch.randn(6), torch.randn(6)
    for mode in ("linear", "spherical"):
        frames = interpolate(a, b, 9, mode)
        assert frames.shape == (9, 6)
        assert torch.allclose(frames[0], a, atol=1e-5) and torch.allclose(frames[-1], b, atol=1e-5)


def test_principal_directions_are_orthonormal_and_reproducible(digits_model):
    directions = principal_directions(digits_model, k=4, samples=400)
    vectors = directions.vectors
    assert vectors.shape == (4, digits_model.dim)
    assert torch.allclose(vectors @ vectors.T, torch.eye(4), atol=1e-5)
    assert (directions.explained > 0).all() and directions.explained.sum() <= 1
    assert (directions.explained[:-1] >= directions.explained[1:]).all()   # strongest first
    assert torch.equal(principal_directions(digits_model, k=4, samples=400).vectors, vectors)


def test_first_direction_moves_the_output_more_than_a_random_direction(digits_model):
    """The point of the sliders: a step along direction 1 changes the picture visibly."""
    directions = principal_directions(digits_model, k=1, samples=400)
    z = digits_model.z_from_seed(5, 64)
    random = torch.nn.functional.normalize(torch.randn(digits_model.dim, generator=torch.Generator().manual_seed(1)), dim=0)
    def change(direction: torch.Tensor) -> float:
        return float((digits_model.generate(z + direction) - digits_model.generate(z)).norm(dim=1).mean())
    assert change(directions.vectors[0]) > change(random)


def test_random_walk_is_reproducible_smooth_and_stays_in_the_noise_distribution():
    config = preset("dcgan-small")
    walk = random_walk(config, 200, seed=3, step=0.2)
    assert walk.shape == (200, config.latent_dim)
    assert torch.equal(walk, random_walk(config, 200, seed=3, step=0.2))
    assert not torch.equal(walk, random_walk(config, 200, seed=4, step=0.2))
    steps = (walk[1:] - walk[:-1]).norm(dim=1)
    assert steps.max() < 0.5 * walk.norm(dim=1).mean()          # neighbouring frames are close
    assert abs(walk.std().item() - 1) < 0.15                    # still N(0, 1) entries, no drift
    uniform = random_walk(preset("seed-000-vanilla"), 100, seed=3)
    assert uniform.min() >= -1 and uniform.max() <= 1           # uniform noise stays in [-1, 1]


def test_normal_draws_map_onto_each_distribution():
    gaussian = torch.randn(20_000, 1, generator=torch.Generator().manual_seed(0))
    u01 = from_gaussian(gaussian, preset("seed-004-dcgan").noise)
    assert 0 <= u01.min() and u01.max() <= 1 and abs(u01.mean().item() - 0.5) < 0.01
    assert torch.equal(from_gaussian(gaussian, "constant", 0.5), torch.full_like(gaussian, 0.5))
    assert noise_range("uniform_pm1") == (-1.0, 1.0)


def test_same_seed_gives_the_same_z(digits_model):
    assert torch.equal(digits_model.z_from_seed(42), digits_model.z_from_seed(42))
    assert not torch.equal(digits_model.z_from_seed(42), digits_model.z_from_seed(43))


def test_nearest_neighbours_finds_an_exact_training_image():
    train = offline_digits()[0]
    picks = torch.tensor([17, 2500, 3999])
    index, distance = nearest_neighbours(train[picks], train, k=3)
    assert index[:, 0].tolist() == picks.tolist()
    assert torch.allclose(distance[:, 0], torch.zeros(3), atol=1e-3)
    assert (distance[:, 1:] > 1).all()                           # the next ones are other digits


def write_pngs(folder, colours) -> None:
    folder.mkdir()
    for i, colour in enumerate(colours):
        Image.new("L", (12, 12), colour).save(folder / f"{i}.png")


def test_typical_distance_of_a_tiny_folder(tmp_path):
    """Six copies of one picture: held-out and training images coincide, so the yardstick is 0
    and the page's ratio divided by zero; it is now a one-sentence DataError the page shows."""
    write_pngs(tmp_path / "same", [128] * 6)
    data = load_dataset(TrainConfig(dataset="folder", image_folder=str(tmp_path / "same"), image_size=8))
    with pytest.raises(GanCoreError) as caught:
        typical_real_distance(data.train, data.held_out)
    assert "too few or too alike" in str(caught.value) and "\n" not in str(caught.value)
    write_pngs(tmp_path / "six", [0, 50, 100, 150, 200, 250])
    data = load_dataset(TrainConfig(dataset="folder", image_folder=str(tmp_path / "six"), image_size=8))
    assert typical_real_distance(data.train, data.held_out) > 0
    index, distance = nearest_neighbours(data.held_out, data.train, k=8)     # k > 5 images
    assert index.shape == distance.shape == (1, 5)


def test_latent_grid_lines_cover_the_square():
    grid = latent_grid(-2, 2, lines=5, points=11)
    assert grid.shape == (10, 11, 2)
    assert torch.equal(grid[0, :, 0], torch.full((11,), -2.0))    # first vertical line: x = -2
    assert torch.equal(grid[5, :, 1], torch.full((11,), -2.0))    # first horizontal line: y = -2


def test_pictures_are_valid_png_and_gif(digits_model):
    z = digits_model.z_from_seed(0)
    picture = Image.open(io.BytesIO(frame_png(digits_model, z, scale=10)))
    assert picture.format == "PNG" and picture.size == (280, 280)
    frames = digits_model.generate(random_walk(digits_model.config, 6, seed=0))
    gif = Image.open(io.BytesIO(gif_bytes(frames, "image", scale=2)))
    assert gif.format == "GIF" and gif.n_frames == 6
    strip = Image.open(io.BytesIO(strip_png(frames, "image", scale=1)))
    assert strip.size[0] > 5 * strip.size[1]                     # one row of six tiles


def test_a_toy_path_animates_one_marked_point_on_one_plot():
    """Each frame of a 2D path is the same plot (same axes, same points) with its own point marked,
    so a GIF shows the point moving rather than a lone dot on ever-changing axes."""
    path = torch.tensor([[-1.0, -1.0], [0.0, 0.5], [1.0, 1.0]])
    frames = [np.asarray(f.convert("RGB")) for f in path_frames(path, real=torch.randn(300, 2))]
    marked = [(f == MARKER).all(-1) for f in frames]
    assert all(m.any() for m in marked)
    columns = [np.nonzero(m)[1].mean() for m in marked]
    assert columns == sorted(columns), "the marker moves left to right with the path"
    assert (frames[0] != frames[2]).any(-1).sum() < 2 * (marked[0].sum() + marked[2].sum()), \
        "only the markers differ between frames"
    gif = Image.open(io.BytesIO(gif_bytes(path, "points", real=torch.randn(300, 2))))
    assert gif.format == "GIF" and gif.n_frames == 3
    assert Image.open(io.BytesIO(strip_png(path, "points"))).format == "PNG"


def test_one_frame_runs_single_threaded_and_restores_the_thread_count(digits_model):
    """A slider frame uses one thread (fast on a busy CPU) and leaves torch as it found it."""
    before = torch.get_num_threads()
    seen = []
    hook = digits_model.generator.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    try:
        frame_png(digits_model, digits_model.z_from_seed(1))
        digits_model.generate(digits_model.z_from_seed(1, 64))
    finally:
        hook.remove()
    assert seen == [1, before]
    assert torch.get_num_threads() == before


def test_image_grid_places_each_tile_in_row_order_between_white_padding():
    images = torch.stack([torch.full((1, 2, 3), v) for v in (-1.0, 0.0, 1.0, 0.5, -0.5)])   # 5 grey tiles
    grid = image_grid(images, nrow=3, padding=1)
    assert grid.shape == (2 * 3 + 1, 3 * 4 + 1, 3) and grid.dtype == "uint8"
    tile = lambda r, k: grid[1 + r * 3:1 + r * 3 + 2, 1 + k * 4:1 + k * 4 + 3]   # noqa: E731
    assert [int(tile(*divmod(i, 3))[0, 0, 0]) for i in range(5)] == [0, 128, 255, 191, 64]
    assert (tile(1, 2) == 255).all() and (grid[0] == 255).all() and (grid[:, 0] == 255).all(), \
        "the missing sixth tile and the padding are white"
    colour = image_grid(torch.zeros(1, 3, 2, 2).index_fill_(1, torch.tensor([0]), 1.0), padding=0)
    assert colour[0, 0].tolist() == [255, 128, 128], "channels stay in RGB order"
