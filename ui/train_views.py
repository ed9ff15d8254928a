"""The Train page's live part: run controls, then status, figures and samples refreshed in a fragment.

Everything here reads ``runner.snapshot`` only; the training thread is never touched.  Figures and
pictures are rebuilt only for a new snapshot (or new view settings).  Two fragments draw the same
views: a fast one while the run moves (training, queued or loading) and a slow one while it waits
for the user, so an idle tab costs the server next to nothing.  A change between the two reruns
the page, which swaps them.  The run controls and the view settings (smoothing, toy layers) stay
outside the fragments: what they offer changes only with that pace or a click, and every element
a refresh redraws costs the browser time that, on a small machine, it takes from training.  For
the same reason the figures of a refresh are few elements: a row of tiles (``ui.stat_tiles``),
charts that carry their captions (``ui.live_chart``) and, for a moving 2D toy, one picture.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import streamlit as st

from gan_core.render import image_grid, png_bytes
from gan_core.runner import METRICS_EVERY, METRICS_SHARE, Controls, Snapshot
from ui import charts
from ui.live_chart import live_chart, to_json
from ui.runs import READY, current_runner, start_run
from ui.stat_tiles import Tile, stat_tiles
from ui.toy_picture import toy_png

REFRESH_SECONDS = 0.5        # while the run moves: at least 2 refreshes a second
IDLE_REFRESH_SECONDS = 3.0   # while it waits: only a late answer to a command can change it
MOVING = ("running", "queued", "loading")
SPEEDS: tuple[Any, ...] = ("auto", 1, 10, 100, 1000)
PICTURE_WIDTH = 360          # sample grids are shown this wide, enlarged by the browser (PAGE_STYLE)
TIMELINE_WIDTH = 120
PAGE_STYLE = ("<style>.st-key-samples img, .st-key-timeline img "
              "{image-rendering: pixelated;}"   # enlarge pixels as squares, not blurred
              # the toy's still picture centred, where the interactive chart's plane is
              ".st-key-toy_chart > [data-testid='stElementContainer'] {align-self: center;}</style>")
_MEMO = "_view_memo"
_TIMELINE = "_timeline_pictures"
_FAST = "_live_fast"
SMOOTHING, TOY_LAYERS = "smoothing", "toy_layers"   # view settings' widget keys
DEFAULT_SMOOTHING = 0.8
_IN_FULL_RUN = "_live_in_full_run"


def live_panel() -> None:
    """Controls and views of the session's run, in the fragment that suits its state."""
    st.html(PAGE_STYLE)
    runner = current_runner()
    snap = runner.snapshot if runner is not None else None   # read once: the two must agree
    if snap is not None:
        _controls(runner, snap)
        _view_settings(snap)
    st.session_state[_FAST] = snap is not None and snap.status in MOVING
    st.session_state[_IN_FULL_RUN] = True
    try:
        (_fast if st.session_state[_FAST] else _idle)()
    finally:
        st.session_state[_IN_FULL_RUN] = False


@st.fragment(run_every=REFRESH_SECONDS)
def _fast() -> None:
    _views()


@st.fragment(run_every=IDLE_REFRESH_SECONDS)
def _idle() -> None:
    _views()


def _views() -> None:
    runner = current_runner()
    if runner is None:
        return
    snap = runner.snapshot
    if (snap.status in MOVING) != st.session_state[_FAST] and not st.session_state[_IN_FULL_RUN]:
        # A change of pace: swap the fragments (and redraw the controls).  Never from inside a
        # full run: rerunning that one can replay the widget values it started from.
        st.rerun()
    _status(snap)
    _stats(snap)
    if snap.config is None:
        return
    if snap.data_note:
        st.info(snap.data_note)
    _live_metrics(snap)
    _curves(snap)
    {"image": _images, "points": _toy, "pattern": _pattern}[snap.config.data_kind](snap)


# ---------------------------------------------------------------------------------- controls
def _command(action: Callable[[Controls], None]) -> None:
    """Send a command, then wait (briefly) for the runner to publish its effect, so the rerun
    that follows the click already shows it."""
    runner = current_runner()
    version = runner.snapshot.version
    action(runner)
    try:
        runner.wait_for(lambda s: s.version > version, timeout=2.0)
    except TimeoutError:
        pass   # a busy thread answers at its next chunk; the next refresh shows it


def _reset() -> None:
    start_run(current_runner().config)


def _controls(runner: Controls, snap: Snapshot) -> None:
    """The run's buttons and the refresh speed.  Drawn by full reruns only: a click reruns the
    page, and so does every change between moving and waiting (which is when they change)."""
    ready = snap.status in READY
    cols = st.columns([1, 1, 1, 1, 1, 1, 2], vertical_alignment="bottom")
    buttons = (
        ("Play", "play", "play_arrow", lambda r: r.play(), not ready or snap.playing,
         "Train continuously in the background; the views refresh about twice a second."),
        ("Pause", "pause", "pause", lambda r: r.pause(), not snap.playing, "Stop after the current step."),
        ("Step", "step", "skip_next", lambda r: r.step("step"), not ready,
         "One iteration: k D steps and one G step, in the configured order (pauses first)."),
        ("Step D", "step_d", "gavel", lambda r: r.step("d"), not ready,
         "One D update alone, G frozen: watch D pull ahead."),
        ("Step G", "step_g", "brush", lambda r: r.step("g"), not ready,
         "One G update alone, D frozen: watch G chase D's verdict."),
    )
    for col, (label, key, icon, action, disabled, help_text) in zip(cols, buttons):
        col.button(label, key=key, icon=f":material/{icon}:", on_click=_command, args=(action,),
                   disabled=disabled, help=help_text, type="primary" if key == "play" else "secondary",
                   width="stretch")
    cols[5].button("Reset", key="reset", icon=":material/restart_alt:", on_click=_reset,
                   disabled=snap.status == "loading", width="stretch",
                   help="Start this config again from fresh weights (step 0).")
    cols[6].selectbox("Steps between refreshes", SPEEDS, key="speed",
                      format_func=lambda v: "auto (by time)" if v == "auto" else f"{v} step(s)",
                      help="auto: the views follow training about twice a second. A number: the "
                           "run publishes after exactly that many steps (1 = slow motion).")
    speed = st.session_state["speed"]
    runner.set_speed(None if speed == "auto" else int(speed))


def _status(snap: Snapshot) -> None:
    if snap.status == "loading":
        st.info(snap.message or "Preparing data and models ...", icon=":material/hourglass_top:")
    elif snap.status == "queued":
        st.warning(snap.message, icon=":material/schedule:")
    elif snap.status == "diverged":
        st.error(snap.message, icon=":material/error:")
        hint = ("Switch **Loss form** to *library BCE* (it clamps the log) or lower the learning "
                "rates, then press Play." if snap.config and snap.config.loss == "log"
                else "Lower the learning rates or change the loss, then press Play.")
        st.info(f"The model is back at its last good state (step {snap.step:,}) and still usable: "
                f"you can save it, sample from it, or train on. {hint}")
    elif snap.status == "failed":
        st.error(f"{snap.message} Change the settings in the sidebar to start a new run.")
    elif snap.message:
        st.warning(snap.message)


def _stats(snap: Snapshot) -> None:
    minutes, seconds = divmod(int(snap.elapsed), 60)
    stat_tiles((
        Tile("step", "Step", f"{snap.step:,}", "Iterations done (a Step D or Step G counts as one)."),
        Tile("rate", "Steps/s", f"{snap.steps_per_second:,.0f}" if snap.status == "running" else "–",
             "Training speed while running."),
        Tile("elapsed", "Training time", f"{minutes}:{seconds:02d}", "Time spent training (not paused)."),
        Tile("device", "Device", snap.device or "…", "Where the model trains."),
        Tile("status", "Status", snap.status, "loading, paused, running, queued, diverged or failed."),
    ), key="stats", widths=(1, 1, 1, 2, 1))


def _live_metrics(snap: Snapshot) -> None:
    """Quality metrics, if the runner computes any: shown generically, a tile each."""
    if not snap.metrics:
        return
    items = list(snap.metrics.items())
    if all(entry["value"] == "n/a" for _, entry in items):   # no metric fits this data
        st.caption(" ".join(f"Quality metrics: {entry['help']}" for _, entry in items))
        return
    # Numbers as tiles; texts (a class histogram, the sample sizes) would be cut off in a tile,
    # so they get a line each.
    numbers = [Tile(name, name, f"{e['value']:.3g}" if isinstance(e["value"], float) else str(e["value"]),
                    e.get("help", "")) for name, e in items if isinstance(e["value"], (int, float))]
    texts = [(f"{name}: {e['value']}", e.get("help", "")) for name, e in items
             if not isinstance(e["value"], (int, float))]
    stat_tiles(numbers, key="quality_metrics", notes=texts,
               caption=f"Quality, measured on a fixed set of samples every {METRICS_EVERY:,} steps or more, on "
                       f"a copy of G while training goes on (never more than {METRICS_SHARE:.0%} of the time; "
                       "hover a label for what it means): losses alone do not say whether a GAN is good.")


# ---------------------------------------------------------------------------------- figures
def _memo(name: str, source: Any, build: Callable[[], Any], settings: Any = None) -> Any:
    """Rebuild a view only when its source (a snapshot, or one of its arrays) is a new object
    (identity, not version: versions restart with each run) or its view settings changed.  A
    training refresh must stay cheap: this Python runs beside the training thread."""
    memo = st.session_state.setdefault(_MEMO, {})
    kept = memo.get(name)
    if kept is None or kept[0] is not source or kept[1] != settings:
        memo[name] = kept = (source, settings, build())
    return kept[2]


def _chart(key: str, source: Any, build: Callable[[], charts.Figure], settings: Any = None,
           caption: str = "") -> None:
    """A live Plotly chart, its figure rebuilt (and encoded) only when ``_memo`` says so: a
    still picture while the run moves, interactive (hover, zoom) once it waits.  Plotly rebuilds
    its hover and zoom layers on every redraw: a tenth of the browser's work per refresh, for a
    chart that changes under the pointer twice a second anyway."""
    figure_json = _memo(key, source, lambda: to_json(build()), settings)
    live_chart(figure_json, key, interactive=not st.session_state[_FAST], caption=caption)


def _view_settings(snap: Snapshot) -> None:
    """How the views draw: settings, so drawn by full reruns with the run controls, not by every
    refresh (each element a refresh draws costs the browser time)."""
    left, right = st.columns(2, vertical_alignment="bottom")
    left.slider("Smoothing", 0.0, 0.99, DEFAULT_SMOOTHING, 0.01, key=SMOOTHING,
                help="Exponential moving average of the curves (0 = raw); the raw curve stays faint behind.")
    if snap.config is not None and snap.config.data_kind == "points":
        right.pills("Layers", charts.TOY_LAYERS, selection_mode="multi", default=list(charts.TOY_LAYERS),
                    key=TOY_LAYERS, help="GAN Lab's layered view: D's verdict over the plane (green = "
                    "'real', purple = 'fake'), real and generated points, and the direction G's loss "
                    "pushes each generated point.")


def _curves(snap: Snapshot) -> None:
    smoothing = st.session_state.get(SMOOTHING, DEFAULT_SMOOTHING)
    left, right = st.columns(2)
    with left.container(key="loss_chart"):
        _chart("loss_plot", snap, lambda: charts.loss_figure(snap.history, smoothing), smoothing,
               caption="At the equilibrium (D(x) = ½ everywhere) G's loss is ln 2; D's loss is 2·ln 2 "
                       "summed over real + fake, or ln 2 averaged.")
    with right.container(key="d_chart"):
        _chart("d_plot", snap, lambda: charts.d_output_figure(snap.history, snap.evals, smoothing), smoothing,
               caption="D's mean verdict on real and generated samples; diamonds are held-out evaluations "
                       "(set an evaluation interval to get them)."
                       + (" Pause to hover over the charts or zoom in." if st.session_state[_FAST] else ""))


def _png(samples: np.ndarray) -> bytes:
    """A grid as PNG, grey when the images are (a third of the bytes to encode: this runs on every
    refresh beside the training thread).  Shown with output_format="PNG": Streamlit's "auto"
    re-encodes an opaque PNG as JPEG each time, which costs time and smears the pixels."""
    grid = image_grid(samples, nrow=6)
    return png_bytes(np.ascontiguousarray(grid[:, :, 0]) if samples.shape[1] == 1 else grid)


def _width(pictures: list[bytes], wanted: int) -> int:
    """``wanted``, or the widest picture's own width if that is more.  Asked to show a picture
    narrower than it is, Streamlit resamples and re-encodes it on every rerun (blurring the pixels
    PAGE_STYLE keeps square); the browser only ever enlarges."""
    return max(wanted, *(int.from_bytes(png[16:20], "big") for png in pictures))   # PNG IHDR width


def _images(snap: Snapshot) -> None:
    """G's grid and a real one, side by side in one image list: one element for a refresh to
    redraw, not two in columns.  With dcgan-small's page open, Chromium's page process went from
    0.29-0.38 of a core to 0.28-0.32 (six alternating 12 s windows each; lower in 5 of 6 pairs)."""
    generated = _memo("samples", snap.samples, lambda: _png(snap.samples))
    real = _memo("real", snap.real, lambda: _png(snap.real))
    with st.container(key="samples"):
        st.image([generated, real], width=_width([generated, real], PICTURE_WIDTH), output_format="PNG",
                 caption=[f"G(z) for a fixed z, step {snap.step:,}", "Real held-out images"])
    _timeline(snap)


def _timeline(snap: Snapshot) -> None:
    """Earlier grids, as one image list (one element, not a column each).  Each grid is encoded
    once: the runner keeps one array per entry, so an entry whose array was drawn reuses its PNG."""
    if len(snap.timeline) < 2:
        return
    drawn = st.session_state.get(_TIMELINE, {})
    pictures = {step: drawn[step] if step in drawn and drawn[step][0] is samples else (samples, _png(samples))
                for step, samples in snap.timeline}
    st.session_state[_TIMELINE] = pictures
    st.markdown("**Timeline**: the same fixed z at earlier steps")
    with st.container(key="timeline"):
        pngs = [png for _, png in pictures.values()]
        st.image(pngs, caption=[f"step {step:,}" for step in pictures],
                 width=_width(pngs, TIMELINE_WIDTH), output_format="PNG")


def _toy(snap: Snapshot) -> None:
    """GAN Lab's layered view: a still picture while the run moves (``ui.toy_picture``: the
    browser swaps an image instead of redrawing some 800 chart elements twice a second), the
    interactive chart once it waits."""
    if snap.toy is None:
        return
    layers = tuple(st.session_state.get(TOY_LAYERS, charts.TOY_LAYERS))
    with st.container(key="toy_chart"):
        if st.session_state[_FAST]:
            png = _memo("toy_picture", snap.toy, lambda: toy_png(snap.toy, layers), layers)
            st.image(png, width=_width([png], 0), output_format="PNG",
                     caption=f"Step {snap.step:,}. Pause to hover over the points or zoom in.")
        else:
            _chart("toy_plot", snap, lambda: charts.toy_figure(snap.toy, layers), layers)


def _pattern(snap: Snapshot) -> None:
    generated, real = st.columns([3, 2])
    with generated.container(key="pattern_chart"):
        _chart("pattern_plot", snap, lambda: charts.pattern_figure(snap.pattern_history))
    with real.container(key="pattern_real"):
        _chart("pattern_real_plot", snap.real, lambda: charts.real_pattern_figure(snap.real[:12]))
    if snap.samples is not None:
        values = "  ".join(f"{v:.2f}" for v in snap.samples[0])
        st.caption(f"G's output now: {values} (the real pattern is high, low, high, low, high, low)")
