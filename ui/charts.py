"""Plotly figure builders for the Train page: pure functions from snapshot data to figures (and
the loss chart's caption, which names the numbers its lines are drawn at).

They run on every refresh of a training run, so they are built for speed:
- every curve is bucketed to at most ``MAX_POINTS`` points before it is smoothed and drawn, so a
  refresh costs the same at step 100 and at step 1,000,000;
- figures are plain dicts of numpy arrays (``{"data": [...], "layout": {...}}``), which
  ``ui.live_chart`` sends as they are: ``plotly.graph_objects`` would copy and validate every
  property on every refresh (the tests validate every builder's output instead).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from gan_core.losses import LossChoice, equilibrium
from gan_core.visuals import ToyView

MAX_POINTS = 500         # a chart is about 500 pixels wide: a point per pixel or so
# GAN Lab's palette: green is "real", purple is "fake"; D's heatmap runs from one to the other.
REAL, FAKE, G_COLOUR, D_COLOUR = "#1a9850", "#7b3294", "#7b3294", "#e66101"
D_SCALE = [[0.0, "#c2a5cf"], [0.5, "#f7f7f7"], [1.0, "#a6dba0"]]
TOY_LAYERS = ("D(x) heatmap", "G's manifold", "real", "generated", "G's gradient")   # bottom to top
# The manifold is off at first: the four others are the view the lessons describe, and its 40
# lines across the whole plane hide the arrows beneath them until a student asks for it.
TOY_DEFAULT_LAYERS = tuple(layer for layer in TOY_LAYERS if layer != "G's manifold")
# Fixed margins and axes that never resize them.  Plotly's automatic margins (the default in
# Streamlit's theme) measure every tick label and then draw the chart a second time whenever a
# label's width changes, which a live chart's does on every refresh.  The top margin is small:
# ``ui.live_chart`` shows a figure's title and legend as HTML above the plot, not in it.
MARGIN = dict(l=60, r=10, t=10, b=45, autoexpand=False)
COLORBAR_MARGIN = dict(MARGIN, r=90)      # room for a heatmap's colour bar
FIXED_AXIS = dict(automargin=False, ticklabeloverflow="allow")


Figure = dict[str, Any]   # {"data": traces, "layout": layout}, as Plotly's JSON has it


def figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> Figure:
    return {"data": traces, "layout": layout}


def downsample(columns: dict[str, np.ndarray], limit: int = MAX_POINTS) -> tuple[dict[str, np.ndarray], int]:
    """Bucket-average every column to at most ``limit`` rows (NaN-aware; 'step' keeps each
    bucket's last step).  Returns the columns and the bucket size, which smoothing needs."""
    n = len(columns["step"])
    size = max(1, math.ceil(n / limit))
    if size == 1:
        return {name: np.asarray(col, dtype=float) for name, col in columns.items()}, 1
    pad = (-n) % size
    out = {}
    for name, col in columns.items():
        rows = np.concatenate([np.asarray(col, dtype=float), np.full(pad, np.nan)]).reshape(-1, size)
        if name == "step":
            out[name] = np.nanmax(rows, axis=1)
        else:
            counts = (~np.isnan(rows)).sum(axis=1)
            sums = np.nansum(rows, axis=1)
            out[name] = np.divide(sums, counts, out=np.full(len(sums), np.nan), where=counts > 0)
    return out, size


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average that skips NaN (the missing loss of a D-only or G-only step)."""
    if weight <= 0:
        return values
    out = np.full(len(values), np.nan)
    last = math.nan
    for i, v in enumerate(values.tolist()):
        if not math.isnan(v):
            last = v if math.isnan(last) else weight * last + (1 - weight) * v
            out[i] = last
    return out


def _reference(y: float, text: str) -> dict[str, Any]:
    """A dotted horizontal line across the plot, labelled at its left end.  A shape's own label,
    not an annotation: Plotly measures every annotation's text box on each redraw."""
    return dict(type="line", xref="paper", x0=0, x1=1, y0=y, y1=y, line=dict(color="grey", dash="dot", width=1),
                label=dict(text=text, textposition="start", yanchor="bottom", font=dict(color="grey", size=11)))


def _line_chart(history: dict[str, np.ndarray], series: dict[str, tuple[str, str]], smoothing: float,
                title: str, y_title: str, references: Sequence[tuple[float, str]],
                ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Traces and layout of a chart of history columns over steps: each column smoothed (with a
    time constant kept in steps: a bucket of s steps decays like s single steps), its raw curve
    faint behind."""
    data, size = downsample({"step": history["step"], **{n: history[n] for n in series}})
    weight = smoothing ** size if smoothing > 0 else 0.0
    traces = []
    for name, (label, colour) in series.items():
        if weight > 0:
            traces.append(dict(type="scatter", x=data["step"], y=data[name], mode="lines", opacity=0.25,
                               line=dict(color=colour, width=1), hoverinfo="skip", showlegend=False,
                               legendgroup=label))   # hidden and shown with its smoothed curve
        traces.append(dict(type="scatter", x=data["step"], y=ema(data[name], weight), mode="lines",
                           name=label, line=dict(color=colour, width=2), connectgaps=True))
    layout = dict(title=dict(text=title), xaxis=dict(title=dict(text="step"), **FIXED_AXIS), height=290,
                  yaxis=dict(title=dict(text=y_title), **FIXED_AXIS), margin=MARGIN, uirevision=title,
                  shapes=[_reference(y, text) for y, text in references])
    return traces, layout


def loss_figure(history: dict[str, np.ndarray], smoothing: float, choice: LossChoice) -> Figure:
    """D's and G's losses, with dotted lines where each sits at the equilibrium under ``choice``
    (its loss form, G loss and D update): one line where the two coincide."""
    return figure(*_line_chart(history, {"loss_d": ("D loss", D_COLOUR), "loss_g": ("G loss", G_COLOUR)},
                               smoothing, "Losses", "loss", equilibrium_lines(choice)))


def equilibrium_lines(choice: LossChoice) -> list[tuple[float, str]]:
    """The loss chart's reference lines under ``choice``: D's and G's equilibrium losses, one
    line where the two coincide."""
    values = equilibrium(choice)
    d, g = (_number(values[name]) for name in ("loss_d", "loss_g"))
    return ([(values["loss_d"], f"D and G at equilibrium {d}")] if d == g else
            [(values["loss_d"], f"D at equilibrium {d}"), (values["loss_g"], f"G at equilibrium {g}")])


def loss_caption(choice: LossChoice) -> str:
    """What the loss chart's dotted lines mean, in the numbers they are drawn at."""
    values = equilibrium(choice)
    return (f"Dotted: where the losses sit at the game's equilibrium, D saying ½ to real and fake alike "
            f"(D's {_number(values['loss_d'])}, G's {_number(values['loss_g'])} under this loss form and D "
            "update). A D that is merely fooled sits there too: reaching the lines does not prove that G "
            "has learnt the data.")


def _number(value: float) -> str:
    """A loss as the lines and caption write it: 0.693, 0.25, -0.5 (the label and caption agree)."""
    return f"{round(value, 3):g}"


def d_output_figure(history: dict[str, np.ndarray], evals: Sequence[dict[str, float]],
                    smoothing: float) -> Figure:
    """Mean D(x_real) and D(G(z)) over time, the 0.5 equilibrium, and held-out evaluations."""
    traces, layout = _line_chart(history, {"d_real": ("D(x) real", REAL), "d_fake": ("D(G(z)) fake", FAKE)},
                                 smoothing, "What D says", "mean D output", ((0.5, "equilibrium ½"),))
    steps = np.array([e["step"] for e in evals], dtype=float)
    for name, label, colour in (("d_real", "held-out D(x)", REAL), ("d_fake", "held-out D(G(z))", FAKE)):
        traces.append(dict(type="scatter", x=steps, y=np.array([e[name] for e in evals], dtype=float),
                           mode="markers", name=label,
                           marker=dict(color=colour, symbol="diamond", size=8, line=dict(color="white", width=1)),
                           visible=bool(evals)))
    layout["yaxis"]["range"] = [-0.02, 1.02]
    return figure(traces, layout)


def toy_figure(toy: ToyView, layers: Sequence[str]) -> Figure:
    """GAN Lab's layered view: D's output over the plane, G's manifold (the grid of z as G bends
    it), real and generated points, and the direction G's loss pushes each generated point."""
    axis = np.linspace(-toy.extent, toy.extent, toy.heatmap.shape[0])
    layer_traces = (
        dict(type="heatmap", x=axis, y=axis, z=toy.heatmap, zmin=0, zmax=1, colorscale=D_SCALE, name="D(x)",
             colorbar=dict(title=dict(text="D(x)"), thickness=12),
             hovertemplate="x %{x:.2f}, y %{y:.2f}: D = %{z:.2f}<extra></extra>"),
        _polylines("G's manifold", np.concatenate([toy.manifold, toy.manifold.transpose(1, 0, 2)]),
                   dict(color=FAKE, width=1), opacity=0.45),   # the grid's rows, then its columns
        _points(toy.real, "real", REAL),
        _points(toy.fake, "generated", FAKE),
        _polylines("G's gradient", np.stack([toy.fake, toy.fake + toy.arrows], axis=1),
                   dict(color="#333333", width=1)),
    )
    span = [-toy.extent, toy.extent]
    layout = dict(height=490, margin=dict(COLORBAR_MARGIN, l=40, b=30), uirevision="toy",
                  xaxis=dict(range=span, constrain="domain", **FIXED_AXIS),
                  yaxis=dict(range=span, scaleanchor="x", scaleratio=1, **FIXED_AXIS))
    return figure([t for name, t in zip(TOY_LAYERS, layer_traces) if name in layers], layout)


def _polylines(name: str, lines: np.ndarray, line: dict[str, Any], opacity: float = 1.0) -> dict[str, Any]:
    """``lines`` (L, P, 2), L lines of P points, as one trace: a NaN after each line lifts the pen,
    so the browser draws one path element rather than L."""
    gaps = np.full((len(lines), 1, 2), np.nan)
    xy = np.concatenate([lines, gaps], axis=1).reshape(-1, 2)
    return dict(type="scatter", mode="lines", name=name, hoverinfo="skip", x=xy[:, 0], y=xy[:, 1],
                line=line, opacity=opacity)


def _points(points: np.ndarray, name: str, colour: str) -> dict[str, Any]:
    """Plain dots: an outline is one more style the browser sets on every point at every redraw."""
    return dict(type="scatter", x=points[:, 0], y=points[:, 1], mode="markers", name=name,
                marker=dict(color=colour, size=5, opacity=0.8))


def pattern_figure(history: Sequence[tuple[int, np.ndarray]]) -> Figure:
    """The 6 values G outputs, over time: one column per remembered step."""
    steps = [step for step, _ in history]
    values = np.stack([v for _, v in history], axis=1) if history else np.zeros((6, 0))
    return _pattern_heatmap(values, steps, "step", "G's output over time")


def real_pattern_figure(real: np.ndarray) -> Figure:
    """Real '1010' rows, drawn like G's outputs so the two can be compared at a glance."""
    return _pattern_heatmap(real.T, list(range(1, real.shape[0] + 1)), "real sample", "Real patterns")


def _pattern_heatmap(values: np.ndarray, x: Sequence[int], x_title: str, title: str) -> Figure:
    heat = dict(type="heatmap", z=values, x=x, y=[f"v{i}" for i in range(1, 7)], zmin=0, zmax=1,
                colorscale="Greys", colorbar=dict(title=dict(text="value"), thickness=12))
    return figure([heat], dict(title=dict(text=title), xaxis=dict(title=dict(text=x_title), **FIXED_AXIS),
                               height=250, yaxis=dict(autorange="reversed", **FIXED_AXIS), uirevision=title,
                               margin=dict(COLORBAR_MARGIN, l=40)))


# Okabe and Ito's colour-blind-safe palette: one colour per compared variant.
VARIANT_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7")


def variants_figure(histories: Sequence[dict[str, np.ndarray]], names: Sequence[str],
                    columns: dict[str, str], smoothing: float, title: str, y_title: str,
                    references: Sequence[tuple[float, str]] = ()) -> Figure:
    """Curves of several runs (``names``: "A", "B", ...) on one chart: a colour per run, a line
    style per column (``columns``: history column -> its name in the legend, the first solid, the
    next dashed)."""
    traces: list[dict[str, Any]] = []
    layout: dict[str, Any] = {}
    for history, name, colour in zip(histories, names, VARIANT_COLOURS):
        series = {column: (f"{name} {legend}", colour) for column, legend in columns.items()}
        dashes = {label: dash for (label, _), dash in zip(series.values(), ("solid", "dash", "dot"))}
        new, layout = _line_chart(history, series, smoothing, title, y_title, references)
        for trace in new:     # a raw curve is named by its group, a smoothed one by its name
            trace["line"]["dash"] = dashes[trace.get("name", trace.get("legendgroup"))]
        traces += new
    return figure(traces, layout)
