"""Turn samples into pictures (uint8 arrays): the one grid maker every page and the CLI use."""
from __future__ import annotations

import io
import math

import numpy as np
import torch


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> one (rows*H, cols*W, 3) uint8 picture, tiles in row order."""
    images = images.detach().float().cpu().clamp(-1, 1)
    n, c, h, w = images.shape
    if c == 1:
        images = images.expand(n, 3, h, w)
    cols = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    canvas = torch.ones(3, rows * (h + padding) + padding, cols * (w + padding) + padding)
    for i in range(n):
        r, k = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        canvas[:, top:top + h, left:left + w] = images[i]
    return ((canvas.permute(1, 2, 0) + 1) * 127.5).round().to(torch.uint8).numpy()


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


def png_bytes(picture: np.ndarray) -> bytes:
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()
