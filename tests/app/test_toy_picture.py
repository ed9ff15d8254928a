"""The toy view's still picture (shown while a 2D run moves): what it draws, and where."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from gan_core.visuals import ToyView
from ui.charts import FAKE, REAL, TOY_LAYERS
from ui.toy_picture import LEFT, PLANE, TOP, d_colours, hex_rgb, nice_ticks, toy_png


def toy() -> ToyView:
    """D says 'real' on the right half of the plane, 'fake' on the left; one real point at the
    top left, one generated point at the bottom right, pushed to the left."""
    heatmap = np.zeros((48, 48))
    heatmap[:, 24:] = 1.0
    return ToyView(extent=2.0, heatmap=heatmap, real=np.array([[-1.0, 1.0]]), fake=np.array([[1.0, -1.0]]),
                   arrows=np.array([[-0.5, 0.0]]))


def picture(layers=TOY_LAYERS) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(toy_png(toy(), layers))).convert("RGBA"))


def at(pixels: np.ndarray, x: float, y: float) -> tuple[int, ...]:
    """The colour at plane coordinates (x, y) of the extent-2 toy."""
    column = LEFT + round((x + 2) / 4 * PLANE)
    row = TOP + round((2 - y) / 4 * PLANE)
    return tuple(pixels[row, column, :3])


def test_layers_are_drawn_where_the_plane_puts_them():
    pixels = picture()
    assert pixels.shape[:2] == (TOP + PLANE + 26, LEFT + PLANE + 80)
    assert at(pixels, -1.5, -1.5) == tuple(d_colours(np.array(0.0))), "D says 'fake' on the left"
    assert at(pixels, 1.5, 1.5) == tuple(d_colours(np.array(1.0))), "and 'real' on the right"
    assert at(pixels, -1.0, 1.0) == hex_rgb(REAL) and at(pixels, 1.0, -1.0) == hex_rgb(FAKE)
    assert any(at(pixels, 0.75, -1.0 + dy) == (0x33, 0x33, 0x33) for dy in (-0.005, 0, 0.005)), \
        "G's gradient runs left from the generated point"
    assert at(pixels, 1.25, -1.0) != (0x33, 0x33, 0x33), "and not right"
    assert pixels[0, 0, 3] == 0, "the margins stay transparent, for a light or a dark theme"


def test_a_hidden_layer_is_not_drawn():
    pixels = picture(layers=("real",))
    assert pixels[TOP + PLANE // 2, LEFT + 5, 3] == 0, "no heatmap: the plane is transparent"
    assert at(pixels, -1.0, 1.0) == hex_rgb(REAL)
    assert pixels[TOP:TOP + PLANE, LEFT + PLANE // 2:LEFT + PLANE, 3].max() == 0, "no generated point, no arrow"


def test_colour_scale_and_ticks():
    assert d_colours(np.array([0.0, 0.5, 1.0])).tolist() == [[0xc2, 0xa5, 0xcf], [0xf7, 0xf7, 0xf7], [0xa6, 0xdb, 0xa0]]
    assert nice_ticks(5.3) == [-4, -2, 0, 2, 4]
    assert nice_ticks(1.0) == [-1, -0.5, 0, 0.5, 1]
