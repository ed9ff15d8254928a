"""Plotly figure builders for the Train page: pure functions from snapshot data to figures.

Histories can hold millions of steps, so every curve is bucketed to at most ``MAX_POINTS`` points
before it is smoothed and drawn: a refresh then costs the same at step 100 and at step 1,000,000.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from gan_core.visuals import ToyView

MAX_POINTS = 2000
LN2 = math.log(2)
# GAN Lab's palette: green is "real", purple is "fake"; D's heatmap runs from one to the other.
REAL, FAKE, G_COLOUR, D_COLOUR = "#1a9850", "#7b3294", "#7b3294", "#e66101"
D_SCALE = [[0.0, "#c2a5cf"], [0.5, "#f7f7f7"], [1.0, "#a6dba0"]]
TOY_LAYERS = ("D(x) heatmap", "real", "generated", "G's gradient")


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


def _curves(history: dict[str, np.ndarray], names: Sequence[str], smoothing: float):
    """Downsampled steps, and per column (raw, smoothed) values with the smoothing's time
    constant kept in steps (a bucket of s steps decays like s single steps)."""
    data, size = downsample({"step": history["step"], **{n: history[n] for n in names}})
    weight = smoothing ** size if smoothing > 0 else 0.0
    return data["step"], {n: (data[n], ema(data[n], weight)) for n in names}


def _line_chart(history: dict[str, np.ndarray], series: dict[str, tuple[str, str]], smoothing: float,
                title: str, y_title: str) -> go.Figure:
    steps, curves = _curves(history, list(series), smoothing)
    fig = go.Figure()
    for name, (label, colour) in series.items():
        raw, smooth = curves[name]
        if smoothing > 0:   # the raw curve stays visible, faint, behind the smoothed one
            fig.add_trace(go.Scatter(x=steps, y=raw, mode="lines", line=dict(color=colour, width=1),
                                     opacity=0.25, hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=steps, y=smooth, mode="lines", name=label,
                                 line=dict(color=colour, width=2), connectgaps=True))
    fig.update_layout(title=title, xaxis_title="step", yaxis_title=y_title, height=340,
                      margin=dict(l=10, r=10, t=40, b=10), uirevision=title,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    return fig


def loss_figure(history: dict[str, np.ndarray], smoothing: float) -> go.Figure:
    """D's and G's losses with the equilibrium references ln 2 and 2 ln 2."""
    fig = _line_chart(history, {"loss_d": ("D loss", D_COLOUR), "loss_g": ("G loss", G_COLOUR)},
                      smoothing, "Losses", "loss")
    for value, text in ((LN2, "ln 2 ≈ 0.693"), (2 * LN2, "2·ln 2 ≈ 1.386")):
        fig.add_hline(y=value, line=dict(color="grey", dash="dot", width=1),
                      annotation_text=text, annotation_position="top left")
    return fig


def d_output_figure(history: dict[str, np.ndarray], evals: Sequence[dict[str, float]],
                    smoothing: float) -> go.Figure:
    """Mean D(x_real) and D(G(z)) over time, the 0.5 equilibrium, and held-out evaluations."""
    fig = _line_chart(history, {"d_real": ("D(x) real", REAL), "d_fake": ("D(G(z)) fake", FAKE)},
                      smoothing, "What D says", "mean D output")
    fig.add_hline(y=0.5, line=dict(color="grey", dash="dot", width=1),
                  annotation_text="equilibrium ½", annotation_position="top left")
    if evals:
        steps = [e["step"] for e in evals]
        for name, label, colour in (("d_real", "held-out D(x)", REAL), ("d_fake", "held-out D(G(z))", FAKE)):
            fig.add_trace(go.Scatter(x=steps, y=[e[name] for e in evals], mode="markers", name=label,
                                     marker=dict(color=colour, symbol="diamond", size=8,
                                                 line=dict(color="white", width=1))))
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def toy_figure(toy: ToyView, layers: Sequence[str]) -> go.Figure:
    """GAN Lab's layered view: D's output over the plane, real and generated points, and the
    direction G's loss pushes each generated point."""
    fig = go.Figure()
    axis = np.linspace(-toy.extent, toy.extent, toy.heatmap.shape[0])
    if TOY_LAYERS[0] in layers:
        fig.add_trace(go.Heatmap(x=axis, y=axis, z=toy.heatmap, zmin=0, zmax=1, colorscale=D_SCALE,
                                 colorbar=dict(title="D(x)", thickness=12), name="D(x)",
                                 hovertemplate="x %{x:.2f}, y %{y:.2f}: D = %{z:.2f}<extra></extra>"))
    if TOY_LAYERS[1] in layers:
        fig.add_trace(_points(toy.real, "real", REAL))
    if TOY_LAYERS[2] in layers:
        fig.add_trace(_points(toy.fake, "generated", FAKE))
    if TOY_LAYERS[3] in layers:
        fig.add_trace(_arrows(toy.fake, toy.arrows))
    fig.update_xaxes(range=[-toy.extent, toy.extent], constrain="domain")
    fig.update_yaxes(range=[-toy.extent, toy.extent], scaleanchor="x", scaleratio=1)
    fig.update_layout(height=520, margin=dict(l=10, r=10, t=30, b=10), uirevision="toy",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    return fig


def _points(points: np.ndarray, name: str, colour: str) -> go.Scatter:
    return go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name=name,
                      marker=dict(color=colour, size=5, opacity=0.8, line=dict(color="white", width=0.5)))


def _arrows(starts: np.ndarray, pushes: np.ndarray) -> go.Scatter:
    """One trace of segments (start -> start + push, separated by gaps): cheap to draw."""
    ends = starts + pushes
    xs = np.stack([starts[:, 0], ends[:, 0], np.full(len(starts), np.nan)], axis=1).ravel()
    ys = np.stack([starts[:, 1], ends[:, 1], np.full(len(starts), np.nan)], axis=1).ravel()
    return go.Scatter(x=xs, y=ys, mode="lines", name="G's gradient", hoverinfo="skip",
                      line=dict(color="#333333", width=1))


def pattern_figure(history: Sequence[tuple[int, np.ndarray]]) -> go.Figure:
    """The 6 values G outputs, over time: one column per remembered step."""
    steps = [step for step, _ in history]
    values = np.stack([v for _, v in history], axis=1) if history else np.zeros((6, 0))
    return _pattern_heatmap(values, steps, "step", "G's output over time")


def real_pattern_figure(real: np.ndarray) -> go.Figure:
    """Real '1010' rows, drawn like G's outputs so the two can be compared at a glance."""
    return _pattern_heatmap(real.T, list(range(1, real.shape[0] + 1)), "real sample", "Real patterns")


def _pattern_heatmap(values: np.ndarray, x: Sequence[int], x_title: str, title: str) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=values, x=x, y=[f"v{i}" for i in range(1, 7)], zmin=0, zmax=1,
                               colorscale="Greys",
                               colorbar=dict(title="value", thickness=12)))
    fig.update_layout(title=title, xaxis_title=x_title, height=300, uirevision=title,
                      margin=dict(l=10, r=10, t=40, b=10))
    fig.update_yaxes(autorange="reversed")
    return fig
