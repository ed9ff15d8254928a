"""The latent explorer's views: pick a generator, then move through its latent space.

The page (app_pages/latent.py) only calls ``pick_model`` and ``explore``.  Each tab is an
``st.fragment``, so moving a slider reruns that tab alone: the path from a slider value to a new
picture is z -> G -> PNG and nothing else (see bench/latency_latent.py).  Loaded generators and
their derived data (directions, real data, the folded toy grid) are ``st.cache_resource`` entries
keyed by a model key: file path + mtime for shipped checkpoints, a content hash for uploads.

The page's URL is its link (ui/links.py): the model, the seed and the moved sliders of the
"Explore z" tab, kept up to date as they change, so a copied address opens the same view.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from gan_core.config import CHOICES
from gan_core.data import load_dataset
from gan_core.errors import CheckpointError, GanCoreError
from gan_core.latent import (INTERPOLATIONS, LatentModel, frame_png, interpolate, latent_grid,
                             nearest_neighbours, principal_directions, random_walk, typical_real_distance)
from gan_core.paths import CHECKPOINTS
from gan_core.render import frame_picture, gif_bytes, png_bytes, strip_png
from gan_core.ship import read_index
from ui.deployment import LATENT_LIMIT_BYTES
from ui.links import (MAX_SEED, LatentLink, fit_sliders, keep_url, latent_from_params, latent_params,
                      share)
from ui.runs import checkpoint_overrides, current_runner

MAX_UPLOAD_MB = 50
DIRECT_DIMS = 6          # sliders over z[0] .. z[5]
DIRECTIONS = 4           # principal-direction sliders
NEIGHBOURS = 8
IMAGE_WIDTH = 280        # pixels: digits are enlarged 10x server-side (crisp, no browser blur)
DEFAULT_SEED = 7
SOURCES = {"shipped": "Shipped model", "run": "This session's training run",
           "upload": "Upload a checkpoint"}
LINK_WRITTEN = "lat-link-written"     # the URL this page last wrote: any other is a link to open
LINK_VIEW = "lat-link-view"           # a link's seed and sliders, for the first model shown
LINK_PROBLEMS = "lat-link-problems"   # what the page's link asked for that could not be done
DIRECTIONS_HELP = ("Directions in z along which G's output varies most: a PCA of 2,000 generated "
                   "samples, each component mapped back to z by linear regression. Dragging one "
                   "typically changes the digit, its stroke width or its slant.")


@dataclass(frozen=True)
class Picked:
    """A generator to explore.  ``key`` names its cached data; ``scope`` (default: the key) names
    its widgets, so a training run keeps its sliders when newer weights are taken."""

    key: str
    model: LatentModel
    label: str
    scope: str = ""

    @property
    def ns(self) -> str:
        return "lat-" + hashlib.sha1((self.scope or self.key).encode()).hexdigest()[:10]


# ------------------------------------------------------------------------------ loading models
def _load(source: str | bytes, overrides: dict[str, str]) -> LatentModel:
    """G from a checkpoint, built in this (the web server's) process only after its config fits
    the Latent page's small budget and its tensors fit that config.  ``overrides`` replace the
    stored paths (they name this session's uploads, so they are part of every cache key)."""
    return LatentModel.load(source, overrides=overrides, limit_bytes=LATENT_LIMIT_BYTES)


@st.cache_resource(max_entries=8, show_spinner="Loading the checkpoint ...")
def _load_file(path: str, mtime: float, overrides: dict[str, str]) -> LatentModel:
    return _load(path, overrides)


@st.cache_resource(max_entries=4, show_spinner="Loading the checkpoint ...")
def _load_bytes(digest: str, overrides: dict[str, str], _data: bytes) -> LatentModel:
    return _load(_data, overrides)


def model_from_upload(data: bytes, overrides: dict[str, str]) -> tuple[str, LatentModel]:
    """(content hash, model) for an uploaded file; CheckpointError with one sentence when the file
    is too big, truncated, corrupt, foreign or not a checkpoint at all."""
    if len(data) > MAX_UPLOAD_MB * 2**20:
        raise CheckpointError(f"the uploaded file is {len(data) / 2**20:.0f} MB; the limit is "
                              f"{MAX_UPLOAD_MB} MB.")
    digest = hashlib.sha256(data).hexdigest()
    return digest, _load_bytes(digest, overrides, data)


def upload_error(file_name: str, error: GanCoreError) -> str:
    """The message shown for a refused upload: the file's name, then the engine's reason."""
    return f"Cannot open {file_name}: {str(error).removeprefix('the uploaded file: ')}"


def pick_model() -> Picked | None:
    """The model chooser; None (after saying why) when there is nothing to explore yet.  A model
    shown for the first time starts on the link's seed and sliders, or on the default seed."""
    _open_link()
    source = st.segmented_control(
        "Model", list(SOURCES), format_func=SOURCES.get, key="lat-source",
        help="Explore a model shipped with the app, the one training on the Train page, or a "
             "checkpoint file saved earlier.") or "shipped"
    picked = {"shipped": _pick_shipped, "run": _pick_run, "upload": _pick_upload}[source]()
    if picked is not None and f"{picked.ns}:seed" not in st.session_state:
        _start_view(picked)
    for problem in st.session_state.get(LINK_PROBLEMS, ()):
        st.warning(f"Ignored from the link: {problem}")
    if picked is None:
        keep_url(_own_link(None))
    return picked


def _open_link() -> None:
    """On entering the page with a link (a URL this page did not write: a pasted address, or none
    after coming from another page), set the model picker from it and keep its seed and sliders
    for the first model shown.  Widgets' values are set here, before they are drawn."""
    params = st.query_params.to_dict()
    if params == st.session_state.get(LINK_WRITTEN):
        return
    try:
        names = [entry["name"] for entry in read_index()]
    except GanCoreError:
        names = []            # the picker says why there is no list
    link, problems = latent_from_params(params, names)
    st.session_state["lat-source"] = link.source
    if link.model is not None:
        st.session_state["lat-shipped"] = link.model
    st.session_state[LINK_VIEW] = link
    st.session_state[LINK_PROBLEMS] = problems
    st.session_state[LINK_WRITTEN] = params


def _own_link(picked: Picked | None) -> dict[str, str]:
    """The link of what the page shows, noted as the URL the page writes: the model, and the seed
    and sliders unless they are at their defaults (the default seed, the seed's own z, directions
    at 0)."""
    seed, moved = None, {}
    if picked is not None:
        seed = st.session_state[f"{picked.ns}:seed"]
        seed = None if seed == DEFAULT_SEED else seed
        moved = {name: st.session_state[s.key] for name, s in _sliders(picked).items()
                 if round(st.session_state[s.key], 4) != round(s.start, 4)}
    params = latent_params(st.session_state.get("lat-source") or "shipped",
                           st.session_state.get("lat-shipped"), seed, moved)
    st.session_state[LINK_WRITTEN] = params
    return params


def _share(picked: Picked) -> None:
    """Keep the URL on the view and offer its link; a session's own model travels as its kind only."""
    own = st.session_state.get("lat-source") not in (None, "shipped")
    share(_own_link(picked), "Share this view",
          "This link opens the same model, seed and sliders."
          + (" It cannot carry your own run or upload: whoever opens it picks theirs, and the seed "
             "and sliders then apply to it." if own else ""))


def _pick_shipped() -> Picked | None:
    try:
        entries = {e["name"]: e for e in read_index()}
    except GanCoreError as exc:
        st.error(f"The list of shipped models cannot be read ({exc}). Upload a checkpoint, or "
                 "explore this session's run, instead.")
        return None
    if not entries:
        st.warning("No shipped checkpoints found: build them with `python -m gan_core.ship`.")
        return None
    name = st.selectbox("Shipped model", list(entries), format_func=lambda n: entries[n]["title"],
                        key="lat-shipped", help="Pretrained on this machine's CPU; "
                        "checkpoints/index.json says how each one was made.")
    path = CHECKPOINTS / entries[name]["file"]
    try:
        mtime = path.stat().st_mtime
        model = _load_file(str(path), mtime, checkpoint_overrides())
    except (OSError, GanCoreError) as exc:
        st.error(f"The shipped model {name} cannot be loaded: {exc}")
        return None
    return Picked(f"{path}:{mtime}", model, entries[name]["title"])


def _pick_run() -> Picked | None:
    runner = current_runner()
    if runner is None or runner.snapshot.status.ended:
        st.info("No model is training in this session: start one on the Train page, then come "
                "back here to explore its generator.")
        return None
    held = st.session_state.get("lat-run")
    fresh = st.button("Take the latest weights", key="lat-run-refresh",
                      help="Copy G's weights from the training run as they are now; training "
                           "goes on undisturbed.")
    if fresh or held is None or held[0] != id(runner):
        try:
            with st.spinner("Copying the weights from the training run ..."):
                model = _load(runner.checkpoint_bytes(), checkpoint_overrides())
        except (GanCoreError, TimeoutError, RuntimeError) as exc:
            st.error(f"Could not take the weights from the training run: {exc}")
            return None
        held = (id(runner), model)
        st.session_state["lat-run"] = held
    model = held[1]
    return Picked(f"run:{held[0]}:{model.step}", model, f"this session's run at step {model.step:,}",
                  scope=f"run:{held[0]}")


def _pick_upload() -> Picked | None:
    file = st.file_uploader("Checkpoint file", key="lat-upload", max_upload_size=MAX_UPLOAD_MB,
                            help=f"A .pt file saved by the Train page or `python -m gan_core "
                                 f"train`, at most {MAX_UPLOAD_MB} MB. It is read as plain "
                                 f"tensors and data: no code inside it ever runs.")
    if file is None:
        st.info("Upload a checkpoint to explore its generator.")
        return None
    try:
        digest, model = model_from_upload(file.getvalue(), checkpoint_overrides())
    except GanCoreError as exc:
        st.error(upload_error(file.name, exc))
        return None
    return Picked(digest, model, file.name)


# ------------------------------------------------------------------------------ the explorer
def explore(picked: Picked) -> None:
    """Summary line, then the tabs that fit the model's kind of data."""
    model, c = picked.model, picked.model.config
    st.caption(f"**{picked.label}** · {c.arch.upper()} · trained {model.step:,} steps on "
               f"{c.dataset} · z: {c.latent_dim} entries, {CHOICES['noise'][c.noise]}")
    explore_tab, interpolate_tab, walk_tab = st.tabs(["Explore z", "Interpolate", "Random walk"])
    with explore_tab:
        _explore(picked)
    with interpolate_tab:
        _interpolate(picked)
    with walk_tab:
        _walk(picked)


@st.fragment
def _explore(picked: Picked) -> None:
    controls, view = st.columns([1, 2] if picked.model.kind == "points" else [1, 1], gap="large")
    with controls:
        z = _z_controls(picked)
        _share(picked)
    with view:
        {"image": _show_image, "points": _show_point, "pattern": _show_pattern}[picked.model.kind](picked, z)


class Slider(NamedTuple):
    """A slider of the "Explore z" tab, as a link names it (z0, ..., dir1, ...)."""

    key: str          # its widget key
    low: float
    high: float
    start: float      # its value at the seed's z


def _sliders(picked: Picked) -> dict[str, Slider]:
    """The tab's sliders by link name: one per shown z entry, then the principal directions.
    Needs the seed's z (``_reset_z`` has run)."""
    model, ns = picked.model, picked.ns
    base = st.session_state[f"{ns}:base"]
    low, high = model.z_range()
    sliders = {f"z{i}": Slider(f"{ns}:z{i}", low, high, float(base[i]))
               for i in range(min(model.dim, DIRECT_DIMS))}
    if _has_directions(picked):
        spread = 3 * model.z_spread()
        sliders |= {f"dir{j + 1}": Slider(f"{ns}:dir{j}", -spread, spread, 0.0) for j in range(DIRECTIONS)}
    return sliders


def _start_view(picked: Picked) -> None:
    """A model's first seed and sliders: the link's, whose values are checked against this model's
    sliders (once: the link is then used up), or else the default seed."""
    link = st.session_state.pop(LINK_VIEW, None) or LatentLink()
    _reset_z(picked, DEFAULT_SEED if link.seed is None else link.seed)
    sliders = _sliders(picked)
    values, problems = fit_sliders(link.sliders, {name: (s.low, s.high) for name, s in sliders.items()})
    for name, value in values.items():
        st.session_state[sliders[name].key] = value
    st.session_state[LINK_PROBLEMS] = [*st.session_state.get(LINK_PROBLEMS, ()), *problems]


def _z_controls(picked: Picked) -> torch.Tensor:
    """Seed, randomise, direction and per-entry sliders; returns the z they define."""
    model, ns = picked.model, picked.ns
    if model.config.noise == "constant":
        st.caption("This G was trained on one constant input z = "
                   f"{model.config.noise_constant:g} (seed 002): the slider shows what it makes of "
                   "inputs it never saw.")
    else:
        seed_col, button_col = st.columns(2, vertical_alignment="bottom")
        seed_col.number_input("Seed", min_value=0, max_value=MAX_SEED, step=1, key=f"{ns}:seed",
                              on_change=lambda: _reset_z(picked, st.session_state[f"{ns}:seed"]),
                              help="The seed of z: the same seed always gives the same z.")
        button_col.button("Randomise", key=f"{ns}:random", width="stretch",
                          on_click=lambda: _reset_z(picked, random.randrange(MAX_SEED + 1)),
                          help="Draw a new z from G's training noise (the seed box shows its seed).")
    z = st.session_state[f"{ns}:base"].clone()
    sliders = _sliders(picked)
    directions = _directions(picked)
    if directions is not None:
        st.markdown("**Principal directions**", help=DIRECTIONS_HELP)
        for j, explained in enumerate(directions.explained.tolist()):
            s = sliders[f"dir{j + 1}"]
            amount = st.slider(f"Direction {j + 1} ({explained:.0%} of output variance)", s.low, s.high,
                               step=s.high / 30, key=s.key, format="%.2f",
                               help=f"Move z along direction {j + 1}, in units of z's spread.")
            z += amount * directions.vectors[j]
    dims = min(model.dim, DIRECT_DIMS)
    st.markdown(f"**z entries** (first {dims} of {model.dim})")
    for i in range(dims):
        s = sliders[f"z{i}"]
        z[i] += st.slider(f"z[{i}]", s.low, s.high, step=0.01, key=s.key, format="%.2f",
                          help=f"Set entry {i} of z directly.") - s.start
    return z


def _reset_z(picked: Picked, seed: int) -> None:
    """Set the base z to the seed's z (entries rounded to the sliders' 0.01 step) and centre the
    direction sliders.  Runs as a widget callback, before the widgets are drawn."""
    model, ns = picked.model, picked.ns
    base = model.z_from_seed(int(seed))[0]
    low, high = model.z_range()
    base[:DIRECT_DIMS] = base[:DIRECT_DIMS].clamp(low, high).mul(100).round().div(100)
    st.session_state[f"{ns}:seed"] = int(seed)
    st.session_state[f"{ns}:base"] = base
    for s in _sliders(picked).values():
        st.session_state[s.key] = s.start


def _has_directions(picked: Picked) -> bool:
    """Principal directions are for image models with more than a handful of z entries."""
    return picked.model.kind == "image" and picked.model.dim > DIRECT_DIMS


def _directions(picked: Picked):
    return _cached_directions(picked.key, picked.model) if _has_directions(picked) else None


@st.cache_resource(max_entries=8, show_spinner="Finding the principal directions ...")
def _cached_directions(key: str, _model: LatentModel):
    return principal_directions(_model, DIRECTIONS)


# ------------------------------------------------------------------------------ one sample
def _show_image(picked: Picked, z: torch.Tensor) -> None:
    st.image(frame_png(picked.model, z, scale=10), output_format="PNG", width=IMAGE_WIDTH,
             caption=f"G(z), |z| = {z.norm():.2f}")
    if st.toggle("Show the nearest real images", key=f"{picked.ns}:nn",
                 help="The training images closest to this sample (L2 distance over pixels): a "
                      "near-copy means G memorised rather than generated."):
        _neighbours(picked, picked.model.generate(z))


def _neighbours(picked: Picked, sample: torch.Tensor) -> None:
    try:
        train, labels, typical, note = _real_data(picked.model.config.to_json(), picked.model)
    except GanCoreError as exc:
        st.warning(f"The training data cannot be loaded, so there is nothing to compare with: {exc}")
        return
    if note:
        st.caption(note)
    index, distance = (t[0] for t in nearest_neighbours(sample, train, NEIGHBOURS))
    captions = [f"{d:.1f}" + (f" · a {int(labels[i])}" if labels is not None else "")
                for i, d in zip(index.tolist(), distance.tolist())]
    st.image([png_bytes(frame_picture(train[i][None], "image", 3), compress_level=1) for i in index.tolist()],
             caption=captions, output_format="PNG", width=84)
    verdict = _verdict(float(distance[0]) / typical)
    st.caption(f"Nearest distance {float(distance[0]):.1f}; a held-out real image is typically "
               f"{typical:.1f} from its nearest training image, so this sample is {verdict}.")


def _verdict(ratio: float) -> str:
    """How a nearest distance compares with real images' own (ratio to the typical distance)."""
    if ratio < 0.5:
        return "much closer than real images are to each other: it looks like a copy"
    if ratio < 0.8:
        return "fairly close: a variation of a training image"
    if ratio <= 1.3:
        return "about as far as a new real image would be: not a copy"
    return "farther from every training image than real images are: not a copy, but unlike the data"


@st.cache_resource(max_entries=4, show_spinner="Loading the training data ...")
def _real_data(config_json: str, _model: LatentModel):
    """Training samples (CPU), labels, the typical real-to-real nearest distance, data note.
    Keyed by the whole config, which names the data (an upload folder is one session's own)."""
    data = load_dataset(_model.config, "cpu")
    return data.train, data.train_labels, typical_real_distance(data.train, data.held_out), data.note


def _show_point(picked: Picked, z: torch.Tensor) -> None:
    st.plotly_chart(_fold_figure(picked, marker=z[None]), key=f"{picked.ns}:fold-explore")


def _show_pattern(picked: Picked, z: torch.Tensor) -> None:
    model = picked.model
    values = model.generate(z)[0]
    real = _real_pattern(picked.key, model)
    # The axis stays on the data's [0, 1] scale; each bar is labelled, so a value far off it
    # (a G that failed) is read as a number instead of stretching the axis.
    figure = go.Figure([go.Bar(x=list(range(6)), y=values.tolist(), name="G(z)", marker_color="#1f3c8c",
                               texttemplate="%{y:.3g}", textposition="inside", insidetextanchor="start"),
                        go.Scatter(x=list(range(6)), y=real.tolist(), mode="markers", name="real mean",
                                   marker=dict(symbol="line-ew-open", size=40, color="#d62728"))])
    figure.update_layout(height=320, margin=dict(t=30, b=10), yaxis=dict(range=[-0.3, 1.3]),
                         xaxis=dict(title="output position", dtick=1), title="G's 6 output values")
    st.plotly_chart(figure, key=f"{picked.ns}:bars")
    if not bool(((values > -0.3) & (values < 1.3)).all()):
        st.caption(f"Some values lie off the chart (largest {values.abs().max():.3g}): this G has not "
                   "learnt the pattern, whose values all lie in [0, 1].")
    low, high = model.z_range()
    sweep = model.generate(torch.linspace(low, high, 11)[:, None].expand(11, model.dim))
    st.image(strip_png(sweep, "pattern"), output_format="PNG", width=216,
             caption=f"G's output as z goes from {low:g} (top) to {high:g} (bottom): one row per z")


@st.cache_resource(max_entries=4, show_spinner=False)
def _real_pattern(key: str, _model: LatentModel) -> torch.Tensor:
    return load_dataset(_model.config, "cpu").train.mean(0)


# ------------------------------------------------------------------------------ 2D toys
def _fold_figure(picked: Picked, path: torch.Tensor | None = None,
                 marker: torch.Tensor | None = None) -> go.Figure:
    """Noise plane (left) and its image under G (right): grid lines, real data, a path, a point.

    A few traces of numpy arrays on two hand-placed axes (no make_subplots, one trace per family
    of lines, NaN between lines): Plotly checks arrays at once but lists value by value, so a
    slider move redraws in milliseconds rather than a few hundred.
    """
    grid, folded, real = _fold(picked.key, picked.model)
    traces = [dict(type="scattergl", x=real[:, 0], y=real[:, 1], mode="markers", name="real data",
                   xaxis="x2", yaxis="y2", hoverinfo="skip",
                   marker=dict(size=3, color="rgba(120,120,120,0.35)"))]
    half, centre = len(grid) // 2, len(grid) // 4
    families = ((slice(0, half), "#7fb2e5", 1, "lines z[0] = const"),
                (slice(half, None), "#f5b27a", 1, "lines z[1] = const"),
                (slice(centre, centre + 1), "#1f4e99", 2.5, "centre line z[0]"),
                (slice(half + centre, half + centre + 1), "#b3540b", 2.5, "centre line z[1]"))
    for lines, colour, width, name in families:
        for axes, source in (("", grid), ("2", folded)):
            x, y = _polylines(source[lines])
            traces.append(dict(type="scatter", x=x, y=y, mode="lines", name=name, legendgroup=name,
                               line=dict(width=width, color=colour), showlegend=not axes,
                               hoverinfo="skip", xaxis="x" + axes, yaxis="y" + axes))
    styles = ((path, "path", dict(mode="lines+markers", line=dict(color="#2ca02c", width=2),
                                  marker=dict(size=5))),
              (marker, "z / G(z)", dict(mode="markers", marker=dict(size=14, color="#d62728",
                                                                    symbol="star"))))
    for points, name, style in styles:
        if points is None:
            continue
        for axes, values in (("", points), ("2", picked.model.generate(points))):
            traces.append(dict(type="scatter", x=values[:, 0].numpy(), y=values[:, 1].numpy(),
                               name=name, legendgroup=name, showlegend=not axes, xaxis="x" + axes,
                               yaxis="y" + axes, **style))
    return go.Figure(traces, layout=FOLD_LAYOUT)


FOLD_LAYOUT = dict(
    height=490, margin=dict(t=40, b=10, l=10, r=10), legend=dict(orientation="h", y=-0.18),
    xaxis=dict(domain=[0, 0.45], title="z[0]"), yaxis=dict(title="z[1]", scaleanchor="x"),
    xaxis2=dict(domain=[0.55, 1], title="x"), yaxis2=dict(title="y", anchor="x2", scaleanchor="x2"),
    annotations=[dict(text=text, x=x, y=1.06, xref="paper", yref="paper", showarrow=False,
                      xanchor="center") for text, x in (("noise space: z", 0.225),
                                                        ("data space: G(z)", 0.775))])


def _polylines(lines: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Polylines (L, P, 2) as one trace's x and y, with NaN (a gap) between lines."""
    flat = torch.cat([lines, torch.full((len(lines), 1, 2), float("nan"))], 1).reshape(-1, 2).numpy()
    return flat[:, 0], flat[:, 1]


@st.cache_resource(max_entries=4, show_spinner=False)
def _fold(key: str, _model: LatentModel) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """The z grid, its image under G (same shape) and 2,000 real points, computed once."""
    grid = latent_grid(*_model.z_range())
    folded = _model.generate(grid.reshape(-1, 2)).reshape(grid.shape)
    return grid, folded, load_dataset(_model.config, "cpu").train[:2000].numpy()


# ------------------------------------------------------------------------------ paths
@st.fragment
def _interpolate(picked: Picked) -> None:
    model, ns = picked.model, picked.ns
    a_col, b_col, mode_col, n_col = st.columns(4)
    seed_a = a_col.number_input("Seed A", 0, MAX_SEED, 1, key=f"{ns}:seed-a",
                                help="The seed of the start point z_A.")
    seed_b = b_col.number_input("Seed B", 0, MAX_SEED, 2, key=f"{ns}:seed-b",
                                help="The seed of the end point z_B.")
    mode = mode_col.radio("Path", list(INTERPOLATIONS), index=1, key=f"{ns}:mode", horizontal=True,
                          help="Linear: the straight line, whose middle has a smaller |z| than "
                               "G ever saw. Spherical: along the great circle, |z| stays typical.")
    frames = n_col.slider("Frames", 3, 16, 9, key=f"{ns}:frames", help="Pictures in the strip and GIF.")
    t = st.slider("Position from A (0) to B (1)", 0.0, 1.0, 0.5, 0.05, key=f"{ns}:t",
                  help="Where on the path the large picture is taken.")
    z_a, z_b = model.z_from_seed(seed_a)[0], model.z_from_seed(seed_b)[0]
    z_t = INTERPOLATIONS[mode](z_a, z_b, t)
    st.caption(f"|z| at A: {z_a.norm():.2f} · here: {z_t.norm():.2f} · at B: {z_b.norm():.2f}")
    spec = ("interpolate", seed_a, seed_b, mode, frames)
    if model.kind == "points":
        st.plotly_chart(_fold_figure(picked, path=interpolate(z_a, z_b, frames, mode), marker=z_t[None]),
                        key=f"{ns}:fold-interpolate")
        _path_exports(picked, spec)
        return
    ends = st.columns(3)
    for column, (z, caption) in zip(ends, ((z_a, "A"), (z_t, f"t = {t:.2f}"), (z_b, "B"))):
        column.image(frame_png(model, z, scale=6), output_format="PNG", caption=caption, width=168)
    _path_exports(picked, spec)


@st.fragment
def _walk(picked: Picked) -> None:
    model, ns = picked.model, picked.ns
    seed_col, n_col, step_col = st.columns(3)
    seed = seed_col.number_input("Walk seed", 0, MAX_SEED, 0, key=f"{ns}:walk-seed",
                                 help="The same seed replays the same walk.")
    frames = n_col.slider("Frames", 8, 96, 48, 8, key=f"{ns}:walk-frames",
                          help="Length of the walk (the GIF plays at 10 frames per second).")
    step = step_col.slider("Step size", 0.05, 1.0, 0.2, 0.05, key=f"{ns}:walk-step",
                           help="How far z moves per frame; every frame is still a typical z "
                                "(an Ornstein-Uhlenbeck walk), 1 makes frames independent.")
    spec = ("walk", seed, frames, step)
    if model.kind == "points":
        st.plotly_chart(_fold_figure(picked, path=_path(model, spec)), key=f"{ns}:fold-walk")
    _path_exports(picked, spec, animate=True)


def _path(model: LatentModel, spec: tuple) -> torch.Tensor:
    """The z frames an interpolation or walk spec describes."""
    if spec[0] == "walk":
        _, seed, frames, step = spec
        return random_walk(model.config, frames, seed, step)
    _, seed_a, seed_b, mode, frames = spec
    return interpolate(model.z_from_seed(seed_a)[0], model.z_from_seed(seed_b)[0], frames, mode)


@st.cache_data(max_entries=32, show_spinner="Drawing the frames ...")
def _exports(key: str, spec: tuple, _model: LatentModel, _real: np.ndarray | None) -> tuple[bytes, bytes]:
    """(PNG strip, animated GIF) of a path, cached per model and path settings.  A 2D toy's are
    drawn over its ``_real`` data."""
    samples = _model.generate(_path(_model, spec))
    return (strip_png(samples, _model.kind, real=_real),
            gif_bytes(samples, _model.kind, frame_ms=100, bounce=spec[0] == "interpolate", real=_real))


def _path_exports(picked: Picked, spec: tuple, animate: bool = False) -> None:
    """The path's pictures, shown and offered as PNG and GIF downloads.  A toy's path is already on
    its chart: its pictures (scatter plots over the real data) are only offered."""
    kind = picked.model.kind
    real = _fold(picked.key, picked.model)[2] if kind == "points" else None
    strip, gif = _exports(picked.key, spec, picked.model, real)
    if kind != "points":
        if animate:
            st.image(gif, width=168, caption="The walk, looping")
        st.image(strip, output_format="PNG", **STRIP_VIEWS[kind])
    name = f"{spec[0]}-" + "-".join(str(v) for v in spec[1:])
    png_col, gif_col, _ = st.columns([1, 1, 3])
    png_col.download_button("PNG frames", strip, f"{name}.png", "image/png", on_click="ignore",
                            key=f"{picked.ns}:{spec[0]}-png", help=PNG_HELP.get(kind, PNG_HELP["image"]))
    gif_col.download_button("Animated GIF", gif, f"{name}.gif", "image/gif", on_click="ignore",
                            key=f"{picked.ns}:{spec[0]}-gif", help="The frames as a looping animation.")


# A pattern path is one row per frame: at half size a long walk stays on the screen.
STRIP_VIEWS = {"image": dict(caption="Frames, left to right"),
               "pattern": dict(caption="Frames, top to bottom", width=72)}
PNG_HELP = {"image": "The frames in one picture.",
            "points": "The path's points over the real data, in one picture."}
