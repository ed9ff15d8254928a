"""Every picture of samples: grids, pattern strips, scatter plots, PNG and GIF bytes, for every page and the CLI
(the axes of a toy's scatter plot are drawn by point_plot)."""
from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image

from .point_plot import path_frames, scatter_plot


def image_grid(images: torch.Tensor | np.ndarray, nrow: int | None = None, padding: int = 2) -> np.ndarray:
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
    shows it at least that wide, since a browser that resamples it blurs it."""
    grid = image_grid(samples, nrow=per_row)
    return png_bytes(np.ascontiguousarray(grid[:, :, 0]) if samples.shape[1] == 1 else grid), grid.shape[1]


def pattern_strip(patterns: torch.Tensor, cell: int = 24) -> np.ndarray:
    """(N, 6) values (about [0, 1]) -> an (N*cell, 6*cell, 3) grey picture, one row a pattern."""
    values = patterns.detach().float().cpu().clamp(0, 1).numpy()
    grey = (values * 255).round().astype(np.uint8)
    tiles = np.kron(grey, np.ones((cell, cell), dtype=np.uint8))
    return np.repeat(tiles[:, :, None], 3, axis=2)


def scatter(points: torch.Tensor, size: int = 256, extent: float | None = None) -> np.ndarray:
    """(N, 2) points -> a (size, size, 3) white picture with the points in dark blue."""
    pts = points.detach().float().cpu().numpy()
    extent = extent or float(np.abs(pts).max() * 1.1 + 1e-6)
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)
    pix = ((pts / extent + 1) / 2 * (size - 1)).round().astype(int)
    keep = (pix >= 0).all(1) & (pix < size).all(1)
    canvas[size - 1 - pix[keep, 1], pix[keep, 0]] = (31, 60, 140)
    return canvas


def samples_picture(samples: torch.Tensor, kind: str) -> np.ndarray:
    """Pick the picture that fits the data kind ('image', 'points', 'pattern')."""
    return {"image": image_grid, "points": scatter, "pattern": pattern_strip}[kind](samples)


def png_bytes(picture: np.ndarray, compress_level: int = 6) -> bytes:
    """A uint8 picture (H, W), (H, W, 3) or (H, W, 4) as PNG; ``compress_level`` 1 encodes fastest."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def enlarge(picture: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling, so small digits stay crisp instead of blurring in a browser."""
    return picture.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else picture


def frame_picture(samples: torch.Tensor, kind: str, scale: int = 8, per_row: int = 16) -> np.ndarray:
    """Samples as one picture: image tiles, ``per_row`` to a row, or a pattern's grey cells."""
    if kind == "image":
        padding = 2 if len(samples) > 1 else 0
        return enlarge(image_grid(samples, nrow=min(len(samples), per_row), padding=padding), scale)
    return samples_picture(samples, kind)


def strip_png(samples: torch.Tensor, kind: str, scale: int = 3,
              real: torch.Tensor | np.ndarray | None = None) -> bytes:
    """The frames of a path as one PNG (the interpolation / walk export): images 16 to a row,
    patterns one row each, a 2D toy's points as one scatter plot over its ``real`` data."""
    if kind == "points":
        return png_bytes(scatter_plot(samples, real))
    return png_bytes(frame_picture(samples, kind, scale))


def gif_bytes(samples: torch.Tensor, kind: str, scale: int = 6, frame_ms: int = 80,
              bounce: bool = False, real: torch.Tensor | np.ndarray | None = None) -> bytes:
    """An animated, looping GIF of the frames (played forwards then backwards if ``bounce``).
    A single 2D point says nothing on its own: a toy's frames are its ``real`` data and the whole
    path, with the frame's point marked (point_plot.path_frames)."""
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
