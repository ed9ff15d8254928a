"""2D points from a CSV file a student brings: read strictly, then centred and scaled.

Each problem is one sentence naming the file and the line, so a page can show it as it is.  The
points are centred on their mean and divided by one number, so the wider axis has a standard
deviation of 1: the toy presets' networks, learning rates and plot window were made for data of
about that size (the ring's radius is 1), so a file trains like a toy whatever its units, and a
single scale keeps its shape.
"""
from __future__ import annotations

import math
import re

import torch

from .errors import DataError

MAX_ROWS = 100_000
MAX_BYTES = 5 * 10**6
MIN_ROW_BYTES = 4                       # "0,0" and a line break: what bounds the rows of a file
SEPARATOR = re.compile(r"\s*[,;\t]\s*")  # comma, or what spreadsheets export instead
SHOWN_CHARS = 20                        # of a bad cell, quoted in its message


def read_points(data: bytes, name: str) -> tuple[torch.Tensor, str]:
    """The file's points as float32 (N, 2), centred and scaled, and a note that says how (in the
    file's own units, so a student can map the plot back).  Raises DataError."""
    points = parse_points(data, name)
    centre = points.mean(0)
    span = (points - centre).abs().max()   # brought to [-1, 1] first: squares of 1e200 overflow
    if not span > 0:
        raise DataError(f"{name}: all {len(points):,} points lie at one place; a GAN needs points "
                        "that spread out.")
    unit = (points - centre) / span
    spread = unit.std(0, correction=0).max()
    note = (f"Your {len(points):,} points from {name}, centred on their mean ({centre[0]:.3g}, "
            f"{centre[1]:.3g}) and divided by {float(span * spread):.3g}, so the wider axis has a "
            "standard deviation of 1.")
    return (unit / spread).float(), note


def parse_points(data: bytes, name: str) -> torch.Tensor:
    """x, y on each line (comma, semicolon or tab between them; blank lines skipped; a first line
    that is not numbers is a header) as float64 (N, 2).  Raises DataError naming the line."""
    if len(data) > MAX_BYTES:
        raise DataError(f"{name} is {len(data) / 1e6:.1f} MB; a points file may be at most "
                        f"{MAX_BYTES / 1e6:g} MB.")
    lines = [(number, line.strip().rstrip(",;"))
             for number, line in enumerate(_text(data, name).splitlines(), 1) if line.strip()]
    if lines and not _numeric(SEPARATOR.split(lines[0][1])[0]):
        lines = lines[1:]   # the header
    if len(lines) > MAX_ROWS:
        raise DataError(f"{name}, line {lines[MAX_ROWS][0]}: more than {MAX_ROWS:,} points; a points "
                        f"file may hold at most {MAX_ROWS:,}.")
    rows = []
    for number, line in lines:
        cells = SEPARATOR.split(line)
        if len(cells) != 2:
            raise DataError(f"{name}, line {number}: {len(cells)} column(s); a points file has two, "
                            "x and y.")
        rows.append((_number(cells[0], name, number), _number(cells[1], name, number)))
    if not rows:
        raise DataError(f"{name} holds no points: write x, y on each line.")
    return torch.tensor(rows, dtype=torch.float64)


def _text(data: bytes, name: str) -> str:
    """The file as text (UTF-8, with or without the byte-order mark spreadsheets write)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataError(f"{name}, line {line}: not text; save the file as CSV (UTF-8).") from None


def _numeric(cell: str) -> bool:
    try:
        float(cell.strip("\"'"))
    except ValueError:
        return False
    return True


def _number(cell: str, name: str, number: int) -> float:
    """A cell's finite number (quotes around it allowed, as some spreadsheets write them)."""
    shown = repr(cell if len(cell) <= SHOWN_CHARS else cell[:SHOWN_CHARS] + "…")
    try:
        value = float(cell.strip("\"'"))
    except ValueError:
        raise DataError(f"{name}, line {number}: {shown} is not a number.") from None
    if not math.isfinite(value):
        raise DataError(f"{name}, line {number}: {shown} is not a finite number.")
    return value
