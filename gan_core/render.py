"""Every picture of samples: grids, pattern strips, scatter plots, PNG and GIF bytes, for every page and the CLI.

A 2D toy's samples are drawn as a scatter plot with axes, over the real data drawn faintly, on one
square scale (a ring stays round): a bare cloud of dots does not say where the points are, and
matplotlib is not a dependency, so Pillow draws it.
"""
from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

SIZE = 480                          # side of a scatter plot in pixels
MARGIN = (52, 14, 14, 40)           # left, top, right, bottom: room for the tick labels
GENERATED = (31, 60, 140)           # dark blue, as the app's charts
REAL = (244, 190, 140)              # faint orange: the target, behind the samples
MARKER = (214, 39, 40)              # red, as the explorer's star: where a path has got to
PALETTE = 64                        # colours of an animation frame (the plot has a handful)
AXIS = (60, 60, 60)
TICKS = 5                           # about this many ticks per axis


def scatter_plot(points: torch.Tensor | np.ndarray, real: torch.Tensor | np.ndarray | None = None,
                 size: int = SIZE) -> np.ndarray:
    """(N, 2) generated ``points`` (and optionally the ``real`` data) -> a (size, size, 3) uint8
    picture with axes, ticks and a legend."""
    image, _, _ = _plot(_as_array(points), real, size)
    return np.asarray(image)


def path_frames(points: torch.Tensor | np.ndarray, real: torch.Tensor | np.ndarray | None = None,
                size: int = SIZE) -> list[Image.Image]:
    """One palette picture per point of a path, for a GIF: the scatter plot of the whole path with
    that point marked, so every frame keeps the same axes and the point is seen to move.  The plot
    is drawn and given its palette once; Pillow would otherwise quantise each full-colour frame
    again, which takes seconds for a walk."""
    gen = _as_array(points)
    image, to_pixels, box = _plot(gen, real, size)
    base = image.quantize(PALETTE)
    frames = []
    for pixel in to_pixels(gen):
        frame = base.copy()
        _dots(ImageDraw.Draw(frame), pixel[None], MARKER, 6, box)
        frames.append(frame)
    return frames


def _plot(gen: np.ndarray, real: torch.Tensor | np.ndarray | None,
          size: int) -> tuple[Image.Image, Callable[[np.ndarray], np.ndarray], tuple[int, int, int, int]]:
    """The picture, its data-to-pixel mapping and the plotting box (where a marker may go)."""
    ref = _as_array(real) if real is not None else None
    low, high = _extent(gen, ref)
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    box = (MARGIN[0], MARGIN[1], size - MARGIN[2], size - MARGIN[3])
    to_pixels = _mapping(box, low, high)
    if ref is not None:
        _dots(draw, to_pixels(ref), REAL, 1, box)
    _dots(draw, to_pixels(gen), GENERATED, 2, box)
    _axes(draw, box, low, high, to_pixels)
    _legend(draw, box, len(gen), ref is not None)
    return image, to_pixels, box


def _as_array(points: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(points, torch.Tensor):
        points = points.detach().float().cpu().numpy()
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def _extent(gen: np.ndarray, ref: np.ndarray | None) -> tuple[float, float]:
    """One range for both axes: the real data and the bulk of the samples (1st-99th percentile,
    so a few wild samples do not squash the picture), padded by 8%."""
    finite = gen[np.isfinite(gen).all(axis=1)]
    parts = [np.percentile(finite, [1, 99], axis=0)] if len(finite) else []
    if ref is not None:
        parts.append(np.stack([ref.min(axis=0), ref.max(axis=0)]))
    if not parts:
        return -1.0, 1.0
    both = np.concatenate(parts)
    low, high = float(both.min()), float(both.max())
    pad = max(high - low, 1e-6) * 0.08
    return low - pad, high + pad


def _mapping(box: tuple[int, int, int, int], low: float, high: float):
    """Data coordinates -> pixel coordinates inside ``box`` (y grows upwards in the data)."""
    left, top, right, bottom = box
    scale = (right - left) / (high - low)

    def to_pixels(xy: np.ndarray) -> np.ndarray:
        return np.stack([left + (xy[:, 0] - low) * scale, bottom - (xy[:, 1] - low) * scale], axis=1)
    return to_pixels


def _dots(draw: ImageDraw.ImageDraw, pixels: np.ndarray, colour: tuple[int, int, int], radius: int,
          box: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = box
    inside = np.isfinite(pixels).all(axis=1) & (pixels[:, 0] >= left) & (pixels[:, 0] <= right) \
        & (pixels[:, 1] >= top) & (pixels[:, 1] <= bottom)
    for x, y in pixels[inside]:
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)


def nice_ticks(low: float, high: float, count: int = TICKS) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) inside [low, high]."""
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


def _axes(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], low: float, high: float,
          to_pixels) -> None:
    """The frame's left and bottom edges as axes, with ticks and their values."""
    left, top, right, bottom = box
    font = ImageFont.load_default()
    draw.line((left, top, left, bottom), fill=AXIS, width=2)
    draw.line((left, bottom, right, bottom), fill=AXIS, width=2)
    for value in nice_ticks(low, high):
        x, y = to_pixels(np.array([[value, value]]))[0]
        label = f"{value:g}"
        draw.line((x, bottom, x, bottom + 5), fill=AXIS, width=1)
        draw.text((x, bottom + 7), label, fill=AXIS, font=font, anchor="ma")
        draw.line((left - 5, y, left, y), fill=AXIS, width=1)
        draw.text((left - 8, y), label, fill=AXIS, font=font, anchor="rm")
    draw.text(((left + right) / 2, bottom + 22), "x", fill=AXIS, font=font, anchor="ma")
    draw.text((left - 40, (top + bottom) / 2), "y", fill=AXIS, font=font, anchor="mm")


def _legend(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], n: int, with_real: bool) -> None:
    font = ImageFont.load_default()
    x, y = box[0] + 8, box[1] + 4
    draw.text((x, y), f"G(z): {n:,} samples", fill=GENERATED, font=font)
    if with_real:
        draw.text((x, y + 14), "real data", fill=(200, 120, 60), font=font)



GRID_PADDING = 2          # pixels between (and around) a grid's tiles


def image_grid(images: torch.Tensor | np.ndarray, nrow: int | None = None, padding: int = GRID_PADDING) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> one (rows*H, cols*W, 3) uint8 picture, tiles in row order.
    One numpy pass, not a torch op per tile: the Train page builds one on every refresh, where
    torch ops would trade the interpreter lock with the server's other threads."""
    if isinstance(images, torch.Tensor):
        images = images.detach().float().cpu().numpy()
    tiles_in = np.clip(np.asarray(images, dtype=np.float32), -1, 1)
    n, c, h, w = tiles_in.shape
    cols = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    # Every tile carries its padding above and to its left; one more strip closes the bottom and right.
    tiles = np.ones((rows * cols, c, h + padding, w + padding), dtype=np.float32)
    tiles[:n, :, padding:, padding:] = tiles_in
    canvas = tiles.reshape(rows, cols, c, h + padding, w + padding).transpose(0, 3, 1, 4, 2)
    canvas = np.pad(canvas.reshape(rows * (h + padding), cols * (w + padding), c),
                    ((0, padding), (0, padding), (0, 0)), constant_values=1)
    canvas = np.broadcast_to(canvas, (*canvas.shape[:2], 3)) if c == 1 else canvas
    return np.round((canvas + 1) * 127.5).astype(np.uint8)


def grid_png(samples: np.ndarray, per_row: int = 6) -> tuple[bytes, int]:
    """A grid of image samples as PNG (grey when the images are), and its width in pixels: a page
    shows it at least that wide, since a browser that resamples it blurs it.  Encoded fastest: a
    live page encodes one at each publish, and level 1 takes a quarter of the default's time for
    a third more bytes."""
    grid = image_grid(samples, nrow=per_row)
    picture = np.ascontiguousarray(grid[:, :, 0]) if samples.shape[1] == 1 else grid
    return png_bytes(picture, compress_level=1), grid.shape[1]


def thumbnail_png(samples: np.ndarray, max_width: int, per_row: int = 6) -> tuple[bytes, int]:
    """``grid_png`` of a square of the first samples, as many a row (up to ``per_row``) as fit
    ``max_width`` pixels: a preview that stays small however large the images are."""
    fit = max(1, min(per_row, (max_width - GRID_PADDING) // (samples.shape[-1] + GRID_PADDING)))
    return grid_png(samples[: fit * fit], fit)


def pattern_strip(patterns: torch.Tensor, cell: int = 24) -> np.ndarray:
    """(N, 6) values (about [0, 1]) -> an (N*cell, 6*cell, 3) grey picture, one row a pattern."""
    values = patterns.detach().float().cpu().clamp(0, 1).numpy()
    grey = (values * 255).round().astype(np.uint8)
    tiles = np.kron(grey, np.ones((cell, cell), dtype=np.uint8))
    return np.repeat(tiles[:, :, None], 3, axis=2)


def samples_picture(samples: torch.Tensor, kind: str, real: torch.Tensor | np.ndarray | None = None) -> np.ndarray:
    """Pick the picture that fits the data kind ('image', 'points', 'pattern'); 2D points are
    drawn over the ``real`` data when it is given (where G should be)."""
    if kind == "points":
        return scatter_plot(samples, real)
    return {"image": image_grid, "pattern": pattern_strip}[kind](samples)


def png_bytes(picture: np.ndarray, compress_level: int = 6) -> bytes:
    """A uint8 picture (H, W), (H, W, 3) or (H, W, 4) as PNG; ``compress_level`` 1 encodes fastest."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def enlarge(picture: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling, so small digits stay crisp instead of blurring in a browser."""
    return picture.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else picture


def frame_picture(samples: torch.Tensor, kind: str, scale: int = 8, per_row: int = 16,
                  real: torch.Tensor | np.ndarray | None = None) -> np.ndarray:
    """Samples as one picture: image tiles, ``per_row`` to a row, a pattern's grey cells, or
    2D points over the ``real`` data."""
    if kind == "image":
        padding = 2 if len(samples) > 1 else 0
        return enlarge(image_grid(samples, nrow=min(len(samples), per_row), padding=padding), scale)
    return samples_picture(samples, kind, real)


def strip_png(samples: torch.Tensor, kind: str, scale: int = 3,
              real: torch.Tensor | np.ndarray | None = None) -> bytes:
    """The frames of a path as one PNG (the interpolation / walk export): images 16 to a row,
    patterns one row each, a 2D toy's points as one scatter plot over its ``real`` data."""
    return png_bytes(frame_picture(samples, kind, scale, real=real))


def gif_bytes(samples: torch.Tensor, kind: str, scale: int = 6, frame_ms: int = 80,
              bounce: bool = False, real: torch.Tensor | np.ndarray | None = None) -> bytes:
    """An animated, looping GIF of the frames (played forwards then backwards if ``bounce``).
    A single 2D point says nothing on its own: a toy's frames are its ``real`` data and the whole
    path, with the frame's point marked (path_frames)."""
    if kind == "points":
        pictures = path_frames(samples, real)
    else:
        pictures = [Image.fromarray(frame_picture(sample[None], kind, scale)) for sample in samples]
    if bounce:
        pictures += pictures[-2:0:-1]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=frame_ms, loop=0)
    return buffer.getvalue()
