"""The Compare page: two to four variants of one run, trained in lockstep and shown side by side.

The variants start alike (the same seed, or the same step of the Train page's run) and differ only
in the knobs picked in the sidebar; ``gan_core.compare`` makes that true, this module only sets it
up and draws it.  The set-up lives in the URL, so a teacher can hand out a comparison as a link.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from gan_core.compare import MAX_VARIANTS, NAMES, labels, variant_configs
from gan_core.config import CHOICES, ConfigError, TrainConfig
from gan_core.errors import GanCoreError
from gan_core.presets import PRESETS, preset
from gan_core.render import grid_png
from gan_core.runner import Commands, Snapshot, Status
from ui import charts
from ui.config_form import CHOICE_SET, KNOBS, LIVE, PRESET_NAME, Knob, knob_widget
from ui.links import comparison_from_params, comparison_params, share
from ui.live import chart, drawn, fast_pace, paced, refreshing, run_buttons
from ui.objective import show_objective
from ui.runs import DEFAULT_PRESET, current_comparison, start_comparison, unparked_runner
from ui.train_views import run_stats

SETUP = "compare_setup"           # (preset name, base config, each variant's changes) now compared
FORKED = "compare_forked_step"    # the Train run's step the comparison started from, or None
GENERATION = "compare_generation" # part of the set-up widgets' keys: a new set-up gets new widgets
LINK_PROBLEMS = "compare_link_problems"
FORK_ASKED = "compare_fork_asked"  # the Train page's "Compare from this step" was pressed
COMPARE_PAGE = "app_pages/compare.py"
FRESH, FORK = "step 0 (fresh weights)", "my Train run, at its current step"
# Knobs a comparison can vary: any but those that must be the same (seed) or are the server's.
COMPARABLE = tuple(k for k in KNOBS if k.field not in {"seed", "device", "image_folder", "points_file"})
SMOOTHING = 0.8


def compare_page() -> None:
    _open_link()
    with st.sidebar:
        _setup_form()
    runner = current_comparison()
    if runner is None:
        st.info("Pick the knobs to compare in the sidebar, give each variant its values, and press "
                "**Start comparison**.", icon=":material/tune:")
        return
    _share()
    snap = runner.snapshot
    _controls(runner, snap)
    _objectives(runner.configs)
    # What the set-up fixes is worked out once a page run, not at every refresh of the views.
    names, shared = labels(runner.configs), _shared_lines(runner.configs)
    refreshing(lambda moving: _views(moving, names, shared), fast_pace(runner, snap))


def _objectives(configs: list[TrainConfig]) -> None:
    """Each variant's objectives, drawn by full reruns only: they change only with a new set-up."""
    with st.expander("The objectives", icon=":material/function:"):
        for column, config, label in zip(st.columns(len(configs)), configs, labels(configs)):
            with column:
                st.markdown(f"**{label}**")
                show_objective(config)


def open_comparison(preset_name: str, base: TrainConfig, changes: list[dict[str, Any]]) -> None:
    """Start the comparison of ``changes`` to ``base`` (from step 0) as the session's, as a link or
    a lesson asks.  Raises GanCoreError when it does not fit."""
    start_comparison(variant_configs(base, changes))
    _remember(preset_name, base, changes, forked_at=None)


def fork_button(runner: Commands) -> None:
    """On the Train page: continue its run as a comparison, from the step it is at."""
    snap = runner.snapshot
    if st.button("Compare from this step", key="fork_to_compare", icon=":material/call_split:",
                 disabled=snap.step == 0 or not snap.status.ready,
                 help="Open the Compare page with this run, at its current step, as the start of every "
                      "variant: then pick the live knobs that differ (say saturating vs non-saturating G loss)."):
        st.session_state[FORK_ASKED] = True
        st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1   # the form starts on it
        st.switch_page(COMPARE_PAGE)


def _remember(preset_name: str, base: TrainConfig, changes: list[dict[str, Any]], forked_at: int | None) -> None:
    st.session_state[SETUP] = (preset_name, base, changes)
    st.session_state[FORKED] = forked_at
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1   # the form shows it


def _open_link() -> None:
    """On the page's first visit in a session, start the comparison its link describes."""
    if LINK_PROBLEMS in st.session_state:
        return
    params = st.query_params.to_dict()
    problems: list[str] = []
    if params and SETUP not in st.session_state:
        name, base, changes, problems = comparison_from_params(params, DEFAULT_PRESET)
        try:
            open_comparison(name, base, changes)
        except GanCoreError as exc:
            problems.append(str(exc))
    st.session_state[LINK_PROBLEMS] = problems


def _share() -> None:
    """Keep the URL on the comparison shown, and offer it to copy."""
    name, base, changes = st.session_state[SETUP]
    forked = st.session_state.get(FORKED) is not None
    with st.sidebar:
        share(comparison_params(name, base, changes), "Share this comparison",
              "This link opens the same variants, from step 0" + (" (not from your Train run's step)." if forked
                                                                  else "."))


# ---------------------------------------------------------------------------------- set-up
def _setup_form() -> None:
    for problem in st.session_state.get(LINK_PROBLEMS, ()):
        st.warning(f"Ignored from the link: {problem}")
    name, base, changes = st.session_state.get(SETUP) or (DEFAULT_PRESET, preset(DEFAULT_PRESET), [{"loss": "bce"},
                                                                                                  {"loss": "log"}])
    key = f"cmp{st.session_state.get(GENERATION, 0)}"
    train = unparked_runner()
    forkable = train is not None and train.snapshot.step > 0 and train.snapshot.status.ready
    wants_fork = st.session_state.pop(FORK_ASKED, False) or st.session_state.get(FORKED) is not None
    source = st.radio("Start from", [FRESH, FORK] if forkable else [FRESH], key=f"{key}_source",
                      index=1 if forkable and wants_fork else 0,
                      help="Step 0: every variant gets the same fresh weights, data order and z (same seed). "
                           "Your Train run: every variant continues it from its current step.")
    if source == FORK:
        name, base = st.session_state.get(PRESET_NAME, DEFAULT_PRESET), train.config
        st.caption(f"From your Train run at step {train.snapshot.step:,}. A trained model keeps its "
                   "shape, so only live knobs can differ.")
    else:
        names = list(PRESETS)
        name = st.selectbox("Preset", names, index=names.index(name) if name in names else 0, key=f"{key}_preset")
        base = base if st.session_state.get(SETUP, (None,))[0] == name else preset(name)
    choices = [k for k in COMPARABLE if source == FRESH or k.field in LIVE]
    varied = {k for change in changes for k in change}
    picked = st.multiselect("Knobs to compare", [k.label for k in choices],
                            default=[k.label for k in choices if k.field in varied] or ["Loss form"],
                            key=f"{key}_knobs", max_selections=3,
                            help="What sets the variants apart; everything else is the same in all of them.")
    knobs = [k for k in choices if k.label in picked]
    count = st.number_input("Variants", 2, MAX_VARIANTS, max(2, len(changes)), key=f"{key}_count")
    new_changes = [_variant_widgets(key, i, knobs, base, changes[i] if i < len(changes) else {})
                   for i in range(int(count))]
    if st.button("Start comparison", type="primary", icon=":material/compare:", key="compare_start",
                 width="stretch", disabled=None in new_changes,
                 help="Start the variants (the comparison shown now stops)."):
        _start(name, base, new_changes, train if source == FORK else None)


def _variant_widgets(key: str, index: int, knobs: list[Knob], base: TrainConfig,
                     change: dict[str, Any]) -> dict[str, Any] | None:
    """Variant ``index``'s widgets, one per knob; returns its changes to ``base``, or None while a
    value typed into one is not a value of its knob (said under it)."""
    st.markdown(f"**Variant {NAMES[index]}**")
    values, valid = {}, True
    for knob in knobs:
        value = change.get(knob.field, _suggested(knob, base, index))
        widget_value = knob_widget(knob, knob.to_widget(value), key=f"{key}_{NAMES[index]}_{knob.field}")
        try:
            values[knob.field] = knob.from_widget(widget_value)
        except ConfigError as exc:
            st.error(str(exc))
            valid = False
    return values if valid else None


def _suggested(knob: Knob, base: TrainConfig, index: int) -> Any:
    """A first value for a new variant: the next option of a choice, so the variants differ."""
    value = getattr(base, knob.field)
    if knob.kind == "choice":
        options = list(CHOICES[CHOICE_SET.get(knob.field, knob.field)])
        return options[(options.index(value) + index) % len(options)]
    return value


def _start(name: str, base: TrainConfig, changes: list[dict[str, Any]], fork: Commands | None) -> None:
    try:
        checkpoint = fork.checkpoint_bytes() if fork is not None else None
        start_comparison(variant_configs(base, changes), checkpoint)
    except (GanCoreError, TimeoutError) as exc:
        st.error(str(exc))
        return
    _remember(name, base, changes, fork.snapshot.step if fork is not None else None)
    st.session_state[LINK_PROBLEMS] = []
    st.rerun()


# ---------------------------------------------------------------------------------- controls
def _controls(runner: Commands, snap: Snapshot) -> None:
    ready = snap.status.ready
    cols = st.columns(4)
    run_buttons(cols, (
        ("Play", "compare_play", "play_arrow", lambda r: r.play(), not ready or snap.playing, "Train every variant."),
        ("Pause", "compare_pause", "pause", lambda r: r.pause(), not snap.playing, "Pause every variant."),
        ("Step", "compare_step", "skip_next", lambda r: r.step("step"), not ready, "One iteration of every variant."),
    ), current_comparison)
    cols[3].button("Reset", key="compare_reset", icon=":material/restart_alt:", width="stretch",
                   disabled=snap.status is Status.LOADING or st.session_state.get(FORKED) is not None,
                   on_click=_reset, help="Start the variants again from step 0.")


def _reset() -> None:
    name, base, changes = st.session_state[SETUP]
    open_comparison(name, base, changes)


# ---------------------------------------------------------------------------------- views
def _shared_lines(configs: list[TrainConfig]) -> list[tuple[float, str]]:
    """The equilibrium lines of the loss chart when every variant has the same ones, else none:
    lines that differ by variant would mislead."""
    lines = {tuple(charts.equilibrium_lines(config)) for config in configs}
    return list(lines.pop()) if len(lines) == 1 else []


def _views(moving: bool, names: list[str], shared: list[tuple[float, str]]) -> None:
    snap = paced(current_comparison(), moving)
    if snap is None:
        return
    run_stats(snap)
    if snap.status is Status.FAILED:
        st.error(snap.message)
    elif snap.status is Status.QUEUED:
        st.warning(snap.message, icon=":material/schedule:")
    if len(snap.variants) != len(names):   # loading, or replaced since the page ran
        return
    for variant, label in zip(snap.variants, names):
        if variant.status is Status.DIVERGED:
            st.error(variant.message, icon=":material/error:")
    st.caption("Variants: " + " · ".join(names))
    _curves(snap, names, shared, moving)
    _quality(snap, names)
    _pictures(snap, names, moving)


def _curves(snap: Snapshot, names: list[str], shared: list[tuple[float, str]], moving: bool) -> None:
    histories, letters = [v.history for v in snap.variants], NAMES[:len(names)]
    left, right = st.columns(2)
    with left.container(key="compare_loss"):
        chart("compare_loss_plot", snap, lambda: charts.variants_figure(
            histories, letters, {"loss_d": "D loss", "loss_g": "G loss"}, SMOOTHING, "Losses", "loss", shared),
            moving, caption="One colour per variant: D's loss solid, G's dashed."
                            + (" Dotted: the equilibrium losses, the same for every variant." if shared else
                               " The variants' equilibrium losses differ: see their objectives above."))
    with right.container(key="compare_d"):
        chart("compare_d_plot", snap, lambda: charts.variants_figure(
            histories, letters, {"d_real": "D(x)", "d_fake": "D(G(z))"}, SMOOTHING, "What D says",
            "mean D output", ((0.5, "equilibrium ½"),)), moving,
            caption="One colour per variant: D's verdict on real samples solid, on generated ones dashed.")


def _quality(snap: Snapshot, names: list[str]) -> None:
    """Each variant's quality figures, one row each."""
    rows = {label: {name: entry["value"] for name, entry in v.metrics.items()
                    if isinstance(entry["value"], (int, float))}
            for label, v in zip(names, snap.variants)}
    if any(rows.values()):
        st.markdown("**Quality** (measured every few hundred steps on each variant)")
        st.table({label: {name: f"{value:.3g}" for name, value in row.items()} for label, row in rows.items()})


def _pictures(snap: Snapshot, names: list[str], moving: bool) -> None:
    kind = snap.config.data_kind
    for index, (column, variant, label) in enumerate(zip(st.columns(len(names)), snap.variants, names)):
        with column.container(key=f"compare_view_{index}"):
            st.markdown(f"**{label}**")
            if kind == "image" and variant.samples is not None:
                picture, _ = drawn(f"compare_samples_{index}", variant.samples,
                                   lambda s=variant.samples: grid_png(s))
                st.image(picture, output_format="PNG", width="stretch",
                         caption=f"G(z) for the shared fixed z, step {variant.step:,}")
            elif kind == "points" and variant.toy is not None:
                chart(f"compare_toy_{index}", variant.toy,
                      lambda v=variant: charts.toy_figure(v.toy, charts.TOY_DEFAULT_LAYERS), moving)
            elif kind == "pattern":
                chart(f"compare_pattern_{index}", variant,
                      lambda v=variant: charts.pattern_figure(v.pattern_history), moving)
