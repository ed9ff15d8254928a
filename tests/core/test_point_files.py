"""A student's CSV of 2D points: what loads (shape, split, normalisation) and what is refused with
one sentence naming the file and the line."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_core.budget import estimate
from gan_core.config import TrainConfig
from gan_core.data import load_dataset
from gan_core.errors import DataError, GanCoreError
from gan_core.point_files import MAX_ROWS, read_points


def csv_config(path: Path) -> TrainConfig:
    return TrainConfig(dataset="points-file", points_file=str(path), arch="mlp", latent_dim=2)


def test_a_good_file_loads_centred_and_scaled_with_its_shape_kept(tmp_path: Path) -> None:
    # An ellipse in the file's own units: 500 wide, 100 tall, centred on (1000, -20).
    angles = torch.arange(1000) * (2 * torch.pi / 1000)
    rows = "\n".join(f"{1000 + 500 * a.cos():.4f}, {-20 + 100 * a.sin():.4f}" for a in angles)
    path = tmp_path / "ellipse.csv"
    path.write_text("x,y\n" + rows + "\n\n")
    data = load_dataset(csv_config(path))
    assert data.kind == "points" and data.train.shape == (900, 2) and data.held_out.shape == (100, 2)
    assert data.train.dtype == torch.float32
    points = torch.cat([data.train, data.held_out])
    assert torch.allclose(points.mean(0), torch.zeros(2), atol=1e-5), "centred"
    std = points.std(0, correction=0)
    assert std[0] == pytest.approx(1, abs=1e-5) and std[1] == pytest.approx(0.2, abs=1e-4), \
        "the wider axis has standard deviation 1, and the shape keeps its proportions"
    assert "Your 1,000 points from ellipse.csv, centred on their mean (1e+03, -20)" in data.note


def test_a_small_file_still_holds_some_points_out(tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    path.write_text("0;0\n1;0\n0;1\n")      # semicolons, as some spreadsheets export
    data = load_dataset(csv_config(path))
    assert len(data.train) == 2 and len(data.held_out) == 1


BAD_FILES = [
    (b"x,y\n1,2\n3,abc\n", "bad.csv, line 3: 'abc' is not a number."),
    (b"x\n1\n2\n", "bad.csv, line 2: 1 column(s); a points file has two, x and y."),
    (b"1,2,3\n", "bad.csv, line 1: 3 column(s); a points file has two, x and y."),
    (b"1,2\nnan,3\n", "bad.csv, line 2: 'nan' is not a finite number."),
    (b"0,0\n" * (MAX_ROWS + 1), f"bad.csv, line {MAX_ROWS + 1}: more than 100,000 points; a points "
                                "file may hold at most 100,000."),
    (b"", "bad.csv holds no points: write x, y on each line."),
    (b"x,y\n\n", "bad.csv holds no points: write x, y on each line."),
    (b"1,2\n\xff\xfe,3\n", "bad.csv, line 2: not text; save the file as CSV (UTF-8)."),
    (b"5,5\n5,5\n", "bad.csv: all 2 points lie at one place; a GAN needs points that spread out."),
]


@pytest.mark.parametrize("content, message", BAD_FILES, ids=["text", "one column", "three columns",
                         "nan", "too many rows", "empty", "header only", "binary", "one place"])
def test_a_bad_file_is_refused_with_one_line_naming_the_line(content: bytes, message: str) -> None:
    with pytest.raises(DataError) as refused:
        read_points(content, "bad.csv")
    assert isinstance(refused.value, GanCoreError) and str(refused.value) == message


def test_a_file_too_large_is_refused_before_it_is_read_as_text() -> None:
    with pytest.raises(DataError, match=r"^big.csv is 5.0 MB; a points file may be at most 5 MB.$"):
        read_points(b"1" * 5_000_001, "big.csv")


def test_an_unreadable_file_names_the_file_only(tmp_path: Path) -> None:
    with pytest.raises(DataError) as refused:
        load_dataset(csv_config(tmp_path / "gone.csv"))
    assert str(refused.value) == "The points file gone.csv cannot be read."


def test_the_budget_counts_the_file_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("".join(f"{i},{i % 7}\n" for i in range(2000)))
    data = load_dataset(csv_config(path))
    loaded = sum(t.numel() * t.element_size() for t in (data.train, data.held_out))
    counted = estimate(csv_config(path)).data_bytes
    assert loaded + path.stat().st_size <= counted <= 10 * path.stat().st_size
