"""A 2D toy's layered view as a still picture, drawn here, for while the run moves.

Plotly draws the toy chart as some 800 SVG elements (a path per point, the heatmap painted and
encoded again), and the browser redraws them all twice a second: a bare page doing only that
took 0.15-0.22 of a core, the largest single cost of an open toy page on a small machine.  While
the run moves the chart can't be hovered or zoomed anyway, so the page shows this picture
instead: Pillow draws it on the server in 12-16 ms (most of it PNG encoding), and the browser
only swaps an image.  Once the run waits, the interactive Plotly chart (``ui.charts.toy_figure``)
comes back, with the same layers, colours and axes.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gan_core.render import png_bytes
from gan_core.visuals import ToyView
from ui.charts import D_SCALE, FAKE, REAL, TOY_LAYERS

PLANE = 450                       # the plane's side, in pixels (the Plotly chart's plot height)
LEFT, TOP, BOTTOM, RIGHT = 44, 30, 26, 80   # margins: tick labels, legend, tick labels, colour bar
TEXT = (128, 128, 128, 255)       # mid grey: legible on the light and the dark theme
ARROW = "#333333"
DOT = 5                           # points' diameter, as the chart's marker size


def toy_png(toy: ToyView, layers: Sequence[str] = TOY_LAYERS) -> bytes:
    """The chosen ``layers`` of ``toy`` (heatmap, real, generated, G's gradient, drawn in that
    order, as the chart stacks them) on a transparent background, as PNG bytes."""
    picture = _frame(toy.extent, tuple(layers)).copy()
    picture.paste(_plane(toy, layers), (LEFT, TOP))
    return png_bytes(np.asarray(picture), compress_level=1)   # fast: it is made twice a second


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' -> (r, g, b)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@lru_cache(maxsize=8)
def _frame(extent: float, layers: tuple[str, ...]) -> Image.Image:
    """What stays the same while a run trains: axes, legend and colour bar (text is the slow part)."""
    frame = Image.new("RGBA", (LEFT + PLANE + RIGHT, TOP + PLANE + BOTTOM), (0, 0, 0, 0))
    draw, font = ImageDraw.Draw(frame), ImageFont.load_default(size=11)
    _axes(draw, font, extent)
    _legend(draw, font, layers)
    if TOY_LAYERS[0] in layers:
        _colour_bar(frame, draw, font)
    return frame


def d_colours(values: np.ndarray) -> np.ndarray:
    """D(x) in [0, 1] -> RGB uint8 along the chart's colour scale (linear between its stops)."""
    stops = np.array([stop for stop, _ in D_SCALE])
    rgb = np.array([hex_rgb(colour) for _, colour in D_SCALE], dtype=float)
    clipped = np.clip(values, 0, 1)
    channels = [np.interp(clipped, stops, rgb[:, i]) for i in range(3)]
    return np.round(np.stack(channels, axis=-1)).astype(np.uint8)


def _plane(toy: ToyView, layers: Sequence[str]) -> Image.Image:
    """The plot area: anything drawn beyond its edges is clipped, as on the chart."""
    if TOY_LAYERS[0] in layers:   # row 0 of the heatmap is the bottom of the plane
        cells = d_colours(toy.heatmap[::-1])
        plane = Image.fromarray(cells, "RGB").resize((PLANE, PLANE), Image.NEAREST).convert("RGBA")
    else:
        plane = Image.new("RGBA", (PLANE, PLANE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(plane)
    pixels = lambda points: np.column_stack([(points[:, 0] + toy.extent) / (2 * toy.extent) * PLANE,   # noqa: E731
                                             (toy.extent - points[:, 1]) / (2 * toy.extent) * PLANE])
    radius = DOT / 2
    for name, points, colour in ((TOY_LAYERS[1], toy.real, REAL), (TOY_LAYERS[2], toy.fake, FAKE)):
        if name in layers:
            for x, y in pixels(points).tolist():
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    if TOY_LAYERS[3] in layers:
        for (x0, y0), (x1, y1) in zip(pixels(toy.fake).tolist(), pixels(toy.fake + toy.arrows).tolist()):
            draw.line((x0, y0, x1, y1), fill=ARROW, width=1)
    return plane


def nice_ticks(extent: float, count: int = 7) -> list[float]:
    """Round tick values in [-extent, extent], about ``count`` of them (steps of 1, 2 or 5 x 10^k)."""
    raw = 2 * extent / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(-extent / step)
    return [k * step for k in range(first, math.floor(extent / step) + 1)]


def _axes(draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont, extent: float) -> None:
    for value in nice_ticks(extent):
        offset = (value + extent) / (2 * extent) * PLANE
        label = f"{value:g}"
        draw.line((LEFT + offset, TOP + PLANE, LEFT + offset, TOP + PLANE + 4), fill=TEXT)
        draw.text((LEFT + offset, TOP + PLANE + 6), label, fill=TEXT, font=font, anchor="mt")
        draw.line((LEFT - 4, TOP + PLANE - offset, LEFT, TOP + PLANE - offset), fill=TEXT)
        draw.text((LEFT - 6, TOP + PLANE - offset), label, fill=TEXT, font=font, anchor="rm")


def _legend(draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont, layers: Sequence[str]) -> None:
    """The shown point and arrow layers, at the top right, as the chart's legend has them."""
    entries = [(name, colour) for name, colour in zip(TOY_LAYERS[1:], (REAL, FAKE, ARROW)) if name in layers]
    x, y = LEFT + PLANE, TOP // 2
    for name, colour in reversed(entries):
        x -= draw.textlength(name, font=font)
        draw.text((x, y), name, fill=TEXT, font=font, anchor="lm")
        x -= 22
        if name == TOY_LAYERS[3]:
            draw.line((x, y, x + 16, y), fill=colour, width=1)
        else:
            draw.ellipse((x + 8 - DOT / 2, y - DOT / 2, x + 8 + DOT / 2, y + DOT / 2), fill=colour)
        x -= 14


def _colour_bar(picture: Image.Image, draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont) -> None:
    """D(x)'s scale beside the plane: 1 at the top, 0 at the bottom."""
    height, left = PLANE * 2 // 3, LEFT + PLANE + 24
    top = TOP + (PLANE - height) // 2
    ramp = d_colours(np.linspace(1, 0, height))[:, None, :].repeat(12, axis=1)
    picture.paste(Image.fromarray(ramp, "RGB"), (left, top))
    draw.text((left, top - 6), "D(x)", fill=TEXT, font=font, anchor="lb")
    for value in (0, 0.5, 1):
        draw.text((left + 16, top + (1 - value) * (height - 1)), f"{value:g}", fill=TEXT, font=font, anchor="lm")
