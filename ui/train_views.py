"""The Train page's live part: run controls, then status, figures and samples refreshed in a fragment.

Everything here reads ``runner.snapshot`` only; the training thread is never touched.  The views
refresh in one fragment (``ui.live``) at the pace the run's state needs.  The run controls and the
view settings stay outside the fragment: they change only with a click.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from gan_core.render import grid_png, thumbnail_png
from gan_core.metrics import METRICS_EVERY, METRICS_SHARE
from gan_core.runner import SLOW_MOTION, Commands, Snapshot, Status
from gan_core.visuals import MANIFOLD_LINES, MANIFOLD_MASS
from ui import charts
from ui.live import Figure, chart, drawn, figure_row, fast_pace, paced, refreshing, run_buttons
from ui.objective import show_objective
from ui.runs import current_runner, start_run

SPEEDS: tuple[Any, ...] = ("auto", SLOW_MOTION, 1, 10, 100, 1000)
PICTURE_WIDTH = 360          # sample grids are shown at least this wide, enlarged by the browser
TIMELINE_WIDTH = 120
# A timeline grid holds as many samples a row as fit this many pixels (a square of them): all 36
# 28x28 digits, 3x3 of seed-004's 64x64 images, whose full grids made the page very long.
TIMELINE_MAX_WIDTH = 200
PAGE_STYLE = ("<style>.st-key-samples img, .st-key-timeline img "
              "{image-rendering: pixelated;}</style>")   # enlarge pixels as squares, not blurred
_TIMELINE = "_train_views_timeline"
SMOOTHING, TOY_LAYERS = "smoothing", "toy_layers"   # view settings' widget keys
DEFAULT_SMOOTHING = 0.8


def live_panel() -> None:
    """Controls and views of the session's run, refreshed at the pace that suits its state."""
    st.html(PAGE_STYLE)
    runner = current_runner()
    snap = runner.snapshot if runner is not None else None   # read once: the two must agree
    if snap is not None:
        _controls(runner, snap)
        _view_settings(snap)
        with st.expander("The objective", icon=":material/functions:"):   # outside the fragment: it
            show_objective(runner.config)                                    # changes only with a knob
    refreshing(_views, snap is not None and fast_pace(runner, snap))


def _views(moving: bool) -> None:
    snap = paced(current_runner(), moving)
    if snap is None:
        return
    _status(snap)
    run_stats(snap)
    if snap.config is None:
        return
    if snap.phase:
        st.caption(f":material/slow_motion_video: **Slow motion, {snap.phase}.** Each iteration is "
                   "shown as two frames, one after each network's update.")
    if snap.data_note:
        st.info(snap.data_note)
    _live_metrics(snap)
    _curves(snap, moving)
    {"image": _images, "points": _toy, "pattern": _pattern}[snap.config.data_kind](snap, moving)


# ---------------------------------------------------------------------------------- controls
def _reset() -> None:
    start_run(current_runner().config)


def _controls(runner: Commands, snap: Snapshot) -> None:
    """The run's buttons and the refresh speed, drawn by full reruns only."""
    ready = snap.status.ready
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
    run_buttons(cols, buttons, current_runner)
    cols[5].button("Reset", key="reset", icon=":material/restart_alt:", on_click=_reset,
                   disabled=snap.status is Status.LOADING, width="stretch",
                   help="Start this config again from fresh weights (step 0).")
    cols[6].selectbox("Steps between refreshes", SPEEDS, key="speed", format_func=_speed_label,
                      help="auto: the views follow training about twice a second. slow motion: one "
                           "iteration at a time, D's update and G's update each shown as a frame of its "
                           "own for a moment (the numbers are those of ordinary steps). A number: the "
                           "run publishes after exactly that many steps.")
    speed = st.session_state["speed"]
    runner.set_speed(None if speed == "auto" else speed)


def _speed_label(speed: Any) -> str:
    if speed == "auto":
        return "auto (by time)"
    return "slow motion (D and G apart)" if speed == SLOW_MOTION else f"{speed} step(s)"


def _view_settings(snap: Snapshot) -> None:
    left, right = st.columns(2, vertical_alignment="bottom")
    left.slider("Smoothing", 0.0, 0.99, DEFAULT_SMOOTHING, 0.01, key=SMOOTHING,
                help="Exponential moving average of the curves (0 = raw); the raw curve stays faint behind.")
    if snap.config is not None and snap.config.data_kind == "points":
        right.pills("Layers", charts.TOY_LAYERS, selection_mode="multi", default=list(charts.TOY_DEFAULT_LAYERS),
                    key=TOY_LAYERS, help="GAN Lab's layered view: D's verdict over the plane (green = "
                    "'real', purple = 'fake'), real and generated points, and the direction G's loss "
                    f"pushes each generated point. **G's manifold**: a regular {MANIFOLD_LINES} × "
                    f"{MANIFOLD_LINES} grid over z, spanning the central {MANIFOLD_MASS:.0%} of each "
                    "coordinate, drawn where G maps it: it shows how G stretches and folds its noise "
                    "onto the data (where G squeezes the mesh, its samples crowd). With more than two "
                    "z coordinates it is a slice: the first two vary, the others stay at the middle "
                    "of their range.")


# ---------------------------------------------------------------------------------- status
def _status(snap: Snapshot) -> None:
    if snap.status is Status.LOADING:
        st.info(snap.message or "Preparing data and models ...", icon=":material/hourglass_top:")
    elif snap.status is Status.QUEUED:
        st.warning(snap.message, icon=":material/schedule:")
    elif snap.status is Status.DIVERGED:
        st.error(snap.message, icon=":material/error:")   # the engine's message says why
        hint = ("Switch **Loss form** to *library BCE* or lower the learning rates"
                if snap.config and snap.config.loss == "log" else "Lower the learning rates or change the loss")
        st.info(f"The model is back at its last good state (step {snap.step:,}) and still usable: "
                f"you can save it, sample from it, or train on. {hint}, then press Play.")
    elif snap.status is Status.FAILED:
        st.error(f"{snap.message} Change the settings in the sidebar to start a new run.")
    elif snap.message:
        st.warning(snap.message)


def run_stats(snap: Snapshot) -> None:
    """The run's step, speed, training time, device and status, as a row of figures."""
    minutes, seconds = divmod(int(snap.elapsed), 60)
    figure_row("stats", (
        Figure("Step", f"{snap.step:,}", "Iterations done (a Step D or Step G counts as one)."),
        Figure("Steps/s", rate_text(snap.steps_per_second) if snap.status is Status.RUNNING else "–",
               "Training speed while running."),
        Figure("Training time", f"{minutes}:{seconds:02d}", "Time spent training (not paused)."),
        Figure("Device", snap.device or "…", "Where the model trains.", width=2),
        Figure("Status", str(snap.status), "loading, paused, running, queued, diverged or failed.")))


def rate_text(steps_per_second: float) -> str:
    """Steps/s with a decimal while below 10, so a slow run (a large model on a CPU) never reads 0."""
    return f"{steps_per_second:,.0f}" if steps_per_second >= 10 else f"{steps_per_second:.1f}"


def _live_metrics(snap: Snapshot) -> None:
    """Quality metrics, if the runner computes any: numbers as a row of figures, texts as lines."""
    if not snap.metrics:
        return
    items = list(snap.metrics.items())
    if all(entry["value"] == "n/a" for _, entry in items):   # no metric fits this data
        st.caption(" ".join(f"Quality metrics: {entry['help']}" for _, entry in items))
        return
    numbers = [(name, e) for name, e in items if isinstance(e["value"], (int, float))]
    with st.container(key="quality_metrics"):
        st.caption(f"Quality, measured on a fixed set of samples soon after Play, then every {METRICS_EVERY:,} "
                   f"steps or more, on a copy of G while training goes on (after the first seconds never more "
                   f"than {METRICS_SHARE:.0%} of the time; hover a label for what it means): losses alone do not "
                   "say whether a GAN is good.")
        figure_row("quality", [Figure(name, f"{e['value']:.3g}" if isinstance(e["value"], float) else str(e["value"]),
                                      e.get("help") or "") for name, e in numbers])
        for name, e in items:
            if not isinstance(e["value"], (int, float)):
                st.caption(f"{name}: {e['value']}", help=e.get("help") or None)


# ---------------------------------------------------------------------------------- figures
def _curves(snap: Snapshot, moving: bool) -> None:
    smoothing = st.session_state.get(SMOOTHING, DEFAULT_SMOOTHING)
    left, right = st.columns(2)
    with left.container(key="loss_chart"):
        caption = drawn("loss_caption", snap.config, lambda: charts.loss_caption(snap.config))
        chart("loss_plot", snap, lambda: charts.loss_figure(snap.history, smoothing, snap.config), moving,
               smoothing, caption=caption)
    with right.container(key="d_chart"):
        chart("d_plot", snap, lambda: charts.d_output_figure(snap.history, snap.evals, smoothing), moving,
               smoothing, caption="D's mean verdict on real and generated samples; diamonds are held-out "
                                  "evaluations (set an evaluation interval to get them)."
                                  + (" Pause to hover over the charts or zoom in." if moving else ""))


def _images(snap: Snapshot, moving: bool) -> None:
    """G's grid and a real one, and the timeline of earlier grids.  Shown with output_format="PNG":
    Streamlit's "auto" would re-encode each as JPEG on every rerun and smear the pixels."""
    (generated, width), (real, _) = (drawn(name, samples, lambda s=samples: grid_png(s))
                                     for name, samples in (("samples", snap.samples), ("real", snap.real)))
    with st.container(key="samples"):
        st.image([generated, real], width=max(PICTURE_WIDTH, width), output_format="PNG",
                 caption=[f"G(z) for a fixed z, step {snap.step:,}", "Real held-out images"])
    if len(snap.timeline) < 2:
        return
    # Each grid is encoded once: the runner keeps one array per entry, and an entry drawn before
    # keeps its picture (entries thinned out of the timeline go).
    kept = st.session_state.get(_TIMELINE, {})
    encoded = {step: kept[step] if step in kept and kept[step][0] is samples
               else (samples, thumbnail_png(samples, TIMELINE_MAX_WIDTH)) for step, samples in snap.timeline}
    st.session_state[_TIMELINE] = encoded
    pictures = [picture for _, picture in encoded.values()]
    st.markdown("**Timeline**: the same fixed z at earlier steps")
    with st.container(key="timeline"):
        st.image([png for png, _ in pictures], caption=[f"step {step:,}" for step, _ in snap.timeline],
                 width=max(TIMELINE_WIDTH, pictures[0][1]), output_format="PNG")


def _toy(snap: Snapshot, moving: bool) -> None:
    """GAN Lab's layered view of a 2D run."""
    if snap.toy is None:
        return
    layers = tuple(st.session_state.get(TOY_LAYERS, charts.TOY_DEFAULT_LAYERS))
    with st.container(key="toy_chart"):
        chart("toy_plot", snap.toy, lambda: charts.toy_figure(snap.toy, layers), moving, layers,
               caption=f"Step {snap.step:,}." + (" Pause to hover over the points or zoom in." if moving else ""))


def _pattern(snap: Snapshot, moving: bool) -> None:
    generated, real = st.columns([3, 2])
    with generated.container(key="pattern_chart"):
        chart("pattern_plot", snap, lambda: charts.pattern_figure(snap.pattern_history), moving)
    with real.container(key="pattern_real"):
        chart("pattern_real_plot", snap.real, lambda: charts.real_pattern_figure(snap.real[:12]), moving)
    if snap.samples is not None:
        values = "  ".join(f"{v:.2f}" for v in snap.samples[0])
        st.caption(f"G's output now: {values} (the real pattern is high, low, high, low, high, low)")
