"""Plotly charts that redraw in place, for the Train page's views that refresh twice a second.

``st.plotly_chart`` names each chart element after its figure, so every new figure is a new
element: the browser throws the old chart away and builds the new one from scratch (Plotly's
``newPlot``), twice a second per chart.  Here one small component keeps its chart and hands each
new figure to ``Plotly.react``, which redraws only what changed.  Measured with seed-001's
page open: the browser's page process fell from 0.53-0.58 of a core to 0.44-0.46.

The figures are plain dicts (``ui.charts``), sent as JSON with their numpy arrays as Plotly's
base64 typed arrays: no ``plotly.graph_objects`` copies and no per-number text on the way.
The browser loads the plotly.js that the ``plotly`` package ships (offline, once per page).
"""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import plotly
import streamlit as st
import streamlit.components.v1 as components_v1

# Serves the plotly package's own files (plotly.min.js) to the browser: a file route is all a
# v1 component declaration gives us here; it is never drawn.
_LIBRARY = components_v1.declare_component("plotly_library", path=Path(plotly.__file__).parent / "package_data")

_JS = r"""
const loads = {};
function plotlyFrom(url) {   // one <script> per page, however many charts ask
  loads[url] ??= new Promise((resolve, reject) => {
    if (window.Plotly) return resolve(window.Plotly);
    const script = Object.assign(document.createElement('script'), {src: url});
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error('could not load ' + url));
    document.head.appendChild(script);
  });
  return loads[url];
}
function themed(layout, element) {   // follow the app's light or dark theme
  const style = getComputedStyle(element);
  const faint = `rgba(${style.color.match(/[\d.]+/g).slice(0, 3).join(',')}, 0.15)`;   // the text colour, faint
  const axis = a => ({gridcolor: faint, zerolinecolor: faint, linecolor: faint, ...a});
  return {...layout, font: {family: style.fontFamily, color: style.color, ...layout.font},
          paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)',
          xaxis: axis(layout.xaxis), yaxis: axis(layout.yaxis)};
}
const drawn = new WeakMap();   // per chart: what it shows, and the server's time of that
export default function ({data, parentElement}) {
  const chart = parentElement.querySelector('.live-chart');
  const last = drawn.get(chart);
  // Streamlit runs this asynchronously: a call for an older refresh can arrive after a newer one.
  if (last && last.at > data.at) return;
  const config = JSON.stringify(data.config);
  const same = last && last.figure === data.figure && last.config === config;
  drawn.set(chart, {at: data.at, figure: data.figure, config});
  const caption = parentElement.querySelector('.live-chart-caption');
  if (caption.textContent !== data.caption) caption.textContent = data.caption;
  if (same) return;
  plotlyFrom(data.library).then(Plotly => {
    const figure = JSON.parse(data.figure);
    return Plotly.react(chart, figure.data, themed(figure.layout, parentElement), data.config);
  }).catch(error => { chart.textContent = 'The chart could not be drawn: ' + error.message; });
}
"""
_live_chart = st.components.v2.component(
    "live_chart", html="<div class='live-chart'></div><div class='live-chart-caption'></div>", js=_JS,
    css=".live-chart-caption { font-size: 0.875rem; opacity: 0.6; }", isolate_styles=False)


def to_json(figure: dict[str, Any]) -> str:
    """A figure dict as Plotly JSON; numpy arrays become base64 typed arrays (``{dtype, bdata}``,
    plotly.js 3+), the way ``plotly.io`` writes them, without its per-array validation."""
    def encode(value: Any) -> Any:
        if not isinstance(value, np.ndarray):
            raise TypeError(f"cannot encode {type(value).__name__} in a figure")
        kind = "i4" if value.dtype.kind in "iub" else "f4"   # f4: exact to step 16,777,216
        spec = {"dtype": kind, "bdata": base64.b64encode(np.ascontiguousarray(value, "<" + kind)).decode()}
        if value.ndim > 1:
            spec["shape"] = ", ".join(map(str, value.shape))
        return spec
    return json.dumps(figure, default=encode, allow_nan=False, separators=(",", ":"))


def drawn_at() -> int:
    """When the server drew an element (microseconds, monotonic): it lets the browser drop a draw
    that arrives after a newer one, and makes every refresh reach the component, so one lost
    update is mended by the next."""
    return time.monotonic_ns() // 1000


def library_url() -> str:
    """Where the browser fetches plotly.js: the component file route, under any base URL path."""
    base = st.get_option("server.baseUrlPath").strip("/")
    return "/".join(("", base, "component", _LIBRARY.name, "plotly.min.js")).replace("//", "/")


def live_chart(figure_json: str, key: str, interactive: bool, caption: str = "") -> None:
    """Draw (or redraw in place) a chart, with ``caption`` below it (in the same element: one
    element fewer for every refresh to redraw).  ``interactive`` False gives a still picture:
    Plotly then skips its hover and zoom layers, which a chart that changes twice a second can't use."""
    _live_chart(data={"figure": figure_json, "library": library_url(), "caption": caption, "at": drawn_at(),
                      "config": {"displayModeBar": False, "staticPlot": not interactive, "responsive": True}},
                key=key)
