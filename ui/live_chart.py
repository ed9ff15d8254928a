"""Plotly charts that redraw in place, for the Train page's views that refresh twice a second.

Why not ``st.plotly_chart``: it builds and validates a ``plotly.graph_objects.Figure`` from every
new figure on the server, which costs the server several times what the rest of a chart's refresh
does, once per chart per refresh per watching student (docs/performance.md).  Here the figure is a
plain dict (``ui.charts``) sent as JSON, its numpy arrays as Plotly's base64 typed arrays, to one
small component that hands it to ``Plotly.react``.  Its title and legend are HTML above the plot
(a click on a legend entry still hides or shows its curves); the browser loads the plotly.js that
the ``plotly`` package ships (offline, once per page).
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
// Plotly redraws its title and legend on every Plotly.react, measuring their text each time.
// They are drawn here instead, as HTML above the
// plot, and rewritten only when they change.  A click on a legend entry hides or shows its traces.
function legendEntries(figure) {   // the traces Plotly's legend would list
  return figure.data.filter(t => t.name && t.visible !== false && (t.showlegend ?? t.type !== 'heatmap'))
    .map(t => { const line = (t.mode ?? 'lines').includes('lines');
                return {group: t.legendgroup ?? t.name, name: t.name, colour: line ? t.line?.color : t.marker?.color,
                        marker: line ? null : t.marker?.symbol ?? 'circle'}; });
}
function drawHeader(head, figure, hidden, toggle) {
  const entries = legendEntries(figure);
  const title = figure.layout.title?.text ?? '';
  const signature = JSON.stringify([title, entries, [...hidden]]);
  if (head.dataset.signature === signature) return;
  head.dataset.signature = signature;
  const element = (tag, props, ...children) => { const e = Object.assign(document.createElement(tag), props);
                                                 e.append(...children); return e; };
  const legend = entries.map(e => {
    const swatch = e.marker ? element('b', {textContent: e.marker === 'diamond' ? '◆' : '●'}) : element('i');
    swatch.style[e.marker ? 'color' : 'background'] = e.colour;
    return element('button', {className: hidden.has(e.group) ? 'off' : '', title: 'Hide or show this curve',
                              onclick: () => toggle(e.group)}, swatch, e.name);
  });
  head.replaceChildren(element('span', {className: 'live-chart-title', textContent: title}),
                       element('span', {}, ...legend));
}
function plotted(figure, hidden) {   // the figure without what the header shows, and hidden traces
  const {title, ...layout} = figure.layout;
  return {data: figure.data.map(t => hidden.has(t.legendgroup ?? t.name) ? {...t, visible: false} : t),
          layout: {...layout, showlegend: false}};
}
function draw(parentElement, chart, state) {
  return plotlyFrom(state.library).then(Plotly => {
    const figure = JSON.parse(state.figure);
    drawHeader(parentElement.querySelector('.live-chart-head'), figure, state.hidden, group => {
      state.hidden.has(group) ? state.hidden.delete(group) : state.hidden.add(group);   // one set per chart
      draw(parentElement, chart, drawn.get(chart));
    });
    const {data, layout} = plotted(figure, state.hidden);
    return Plotly.react(chart, data, themed(layout, parentElement), state.config);
  }).catch(error => { chart.textContent = 'The chart could not be drawn: ' + error.message; });
}
const drawn = new WeakMap();   // per chart: what it shows, the server's time of that, the hidden groups
export default function ({data, parentElement}) {
  const chart = parentElement.querySelector('.live-chart');
  const last = drawn.get(chart);
  // Streamlit runs this asynchronously: a call for an older refresh can arrive after a newer one.
  if (last && last.at > data.at) return;
  const state = {at: data.at, figure: data.figure, config: data.config, library: data.library,
                 hidden: last?.hidden ?? new Set()};
  drawn.set(chart, state);
  const caption = parentElement.querySelector('.live-chart-caption');
  if (caption.textContent !== data.caption) caption.textContent = data.caption;
  const same = last && last.figure === data.figure && JSON.stringify(last.config) === JSON.stringify(data.config);
  if (!same) draw(parentElement, chart, state);
}
"""
_live_chart = st.components.v2.component(
    "live_chart", js=_JS, isolate_styles=False,
    html="<div class='live-chart-head'></div><div class='live-chart'></div><div class='live-chart-caption'></div>",
    css=""".live-chart-head { display: flex; align-items: baseline; gap: 0 1rem; min-height: 3.6rem;   /* room for a legend on two lines */
                                 padding: 0.5rem 10px 0 0; font-size: 0.875rem; line-height: 1.5; }
           .live-chart-title { font-size: 1.05rem; }
           .live-chart-head > span:last-child { flex: 1; display: flex; flex-wrap: wrap; justify-content: flex-end; }
           .live-chart-head:has(.live-chart-title:empty) > span:last-child { justify-content: center; }
           .live-chart-head button { font: inherit; color: inherit; background: none; border: none;
                                     cursor: pointer; padding: 0 0 0 0.75rem; line-height: inherit; }
           .live-chart-head button.off { opacity: 0.4; }
           .live-chart-head i { display: inline-block; width: 1.2rem; height: 2px; margin: 0 0.3rem 0.25em 0;
                                vertical-align: middle; }
           .live-chart-head b { margin-right: 0.3rem; }
           .live-chart-caption { font-size: 0.875rem; opacity: 0.6; }""")


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
