"""The settings sidebar: a preset picker, then one widget per TrainConfig knob.

The form is table-driven: ``KNOBS`` holds one row per field (widget kind, label, section), and the
help text comes from ``gan_core.config.FIELD_HELP`` and ``CHOICES``.  Adding a knob is one row.

The form is filled from a config (a preset, the running run, a checkpoint) by giving it a new
generation of widgets that start from that config's values, rather than by writing widget values
into st.session_state: a browser request still in flight would write its older values back over
them.  The widgets' values are compared with the running config on every rerun:
- invalid values are refused with the config's own message, shown under the offending knob;
- changes to live knobs (``LIVE``) go to the running model at once (``Runner.set``);
- structural changes rebuild the model: at once while the run has not trained yet, otherwise
  only after the user confirms ("Apply & rebuild"), because rebuilding discards the run.
Every knob that rebuilds the model carries the REBUILDS mark in its label, in every section.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st
import torch

from gan_core.config import CHOICES, FIELD_HELP, IMAGE_DATASETS, ConfigError, TrainConfig, parse_value
from gan_core.errors import GanCoreError
from gan_core.point_files import MAX_BYTES, MAX_ROWS
from gan_core.presets import PRESETS, describe, preset
from gan_core.runner import Commands
from gan_core.trainer import LIVE_FIELDS, resolve_device
from ui.deployment import MB, deployment, folder_label, points_label
from ui.links import HIDE, from_params, hidden, share, to_params
from ui.notices import notify, show_notices
from ui.runs import DEFAULT_PRESET, current_runner, placed, session_runner, start_run
from ui.uploads import current_points, current_upload, store_images, store_points
from ui.workspace import session_workspace

# The trainer refuses to move a live run to another device, so the form treats device as structural.
LIVE = LIVE_FIELDS - {"device"}
MIRRORS = "form_mirrors_runner"   # the Runner whose config the widgets were last filled from
BASE = "form_base_config"         # the last valid config of the form: the widgets start from its
                                  # values, and fields without a widget (steps, ...) come from it
GENERATION = "form_generation"    # part of every knob's widget key: a refilled form gets new widgets
PRESET_NAME = "preset_name"       # the preset last loaded into the form (survives page switches)
RESUMED = "resumed_from"          # "custom, from X.pt" while the run is a resumed checkpoint's
RESUMED_AT = "resumed_at_step"    # ... and the step it was resumed at
LEFT_RESUMED = "left_resumed"     # a preset picked over a resumed run that trained on: awaits a rebuild
HIDDEN = "hidden_settings"        # sidebar sections and knobs the session's link hides
LINK_PROBLEMS = "link_problems"   # what the session's link asked for that could not be done
UPLOADED = "uploaded_image_ids"   # the image upload last taken
UPLOADED_POINTS = "uploaded_points_id"   # the points upload last taken
REBUILDS = ":material/restart_alt:"   # after a knob's label: changing it starts a new model

# Friendlier names for some choices; the others show as they are.
OPTION_LABELS: dict[str, dict[str, str]] = {
    "loss": {"bce": "library BCE", "log": "paper's hand-written log loss", "mse": "MSE (least squares)"},
    "g_loss": {"non_saturating": "non-saturating", "saturating": "saturating (minimax)"},
    "d_update": {"mean": "mean of real + fake", "sum": "sum of real + fake", "split": "split (real, then fake)"},
    "order": {"d_first": "D first", "g_first": "G first"},
    "noise": {"uniform_pm1": "uniform [-1, 1)", "uniform01": "uniform [0, 1)", "normal": "normal N(0, 1)",
              "constant": "constant"},
    "optimizer": {"adam": "Adam", "sgd": "SGD"},
    "dataset": {"points-file": "points-file (your CSV)"},
}
CHOICE_SET = {"g_activation": "activation", "d_activation": "activation"}   # field -> CHOICES key


@dataclass(frozen=True)
class Knob:
    """One settings widget: which field, what kind of widget, and when it matters."""

    field: str
    kind: str                       # choice | int | float | widths | bool | path
    label: str
    section: str
    needs: tuple[str, tuple[str, ...]] | None = None   # (field, values) under which it is used
    step: float = 0.01              # +/- step of float inputs
    extra: Callable[[], None] | None = None            # drawn under the widget when enabled

    @property
    def key(self) -> str:
        return knob_key(self.field)

    def help(self) -> str:
        lines = [FIELD_HELP[self.field]]
        if self.kind == "choice" and self.field != "device":
            choices = CHOICES[CHOICE_SET.get(self.field, self.field)]
            lines += [f"- **{_option_label(self.field, v)}**: {text}" for v, text in choices.items()]
        if self.needs:
            lines.append(f"Used when {self.needs[0]} is {' or '.join(self.needs[1])}.")
        lines.append("Applies to the running model at once." if self.field in LIVE
                     else "Changing it rebuilds the model (a new run).")
        return "\n\n".join(lines)

    def to_widget(self, value: Any) -> Any:
        if self.kind == "widths":
            return ", ".join(map(str, value))
        if self.kind == "path":       # the browser sees a file's or folder's name, never its path
            return _shown(self.field, value)
        return float(value) if self.kind == "float" else value

    def from_widget(self, value: Any) -> Any:
        if self.kind == "path":
            return _path_options(self.field).get(value, "")
        return parse_value(self.field, value) if self.kind == "widths" else value


def knob_key(field: str) -> str:
    """The widget key of a field's knob in the current form."""
    return f"cfg{st.session_state.get(GENERATION, 0)}_{field}"


def _image_upload() -> None:
    quota = deployment().session_quota_bytes // MB
    st.file_uploader("…or upload images", accept_multiple_files=True, key="image_upload",
                     max_upload_size=quota,
                     help=f"PNG, JPEG, ... files: they become the real data (kept in your private "
                          f"workspace, up to {quota} MB, until you close the tab). Files that are "
                          "not images are skipped.")


def _points_upload() -> None:
    st.file_uploader("…or upload a CSV of 2D points", type=["csv", "txt"], key="points_upload",
                     max_upload_size=max(1, MAX_BYTES // MB),
                     help=f"x and y on each line, separated by a comma, semicolon or tab (a header "
                          f"line is fine; at most {MAX_ROWS:,} points and {MAX_BYTES // MB} MB). The points become the "
                          "real data, centred on their mean and scaled so the wider axis has a "
                          "standard deviation of 1, the size the toy presets are made for. Kept in "
                          "your private workspace until you close the tab.")


MLP, DCGAN = ("arch", ("mlp",)), ("arch", ("dcgan",))
KNOBS: tuple[Knob, ...] = (
    Knob("dataset", "choice", "Dataset", "Data"),
    Knob("image_folder", "path", "Image folder", "Data", ("dataset", ("folder",)), extra=_image_upload),
    Knob("points_file", "path", "Points file", "Data", ("dataset", ("points-file",)), extra=_points_upload),
    Knob("image_size", "int", "Image size (pixels)", "Data", ("dataset", IMAGE_DATASETS)),
    Knob("channels", "int", "Channels", "Data", ("dataset", IMAGE_DATASETS)),
    Knob("arch", "choice", "Architecture", "Model"),
    Knob("latent_dim", "int", "Latent dim (size of z)", "Model"),
    Knob("g_hidden", "widths", "G hidden widths", "Model", ("arch", ("mlp", "pattern"))),
    Knob("d_hidden", "widths", "D hidden widths", "Model", ("arch", ("mlp", "pattern"))),
    Knob("ngf", "int", "G width (ngf)", "Model", DCGAN),
    Knob("ndf", "int", "D width (ndf)", "Model", DCGAN),
    Knob("g_output", "choice", "G output", "Model"),
    Knob("init", "choice", "Weight init", "Model"),
    Knob("g_activation", "choice", "G activation", "Model details", MLP),
    Knob("d_activation", "choice", "D activation", "Model details", MLP),
    Knob("leaky_slope", "float", "LeakyReLU slope", "Model details"),
    Knob("dropout", "float", "D dropout", "Model details", MLP, step=0.05),
    Knob("g_batchnorm", "bool", "BatchNorm in G", "Model details", MLP),
    Knob("bn_eps", "float", "BatchNorm eps", "Model details", MLP, step=1e-5),
    Knob("d_first_bn", "bool", "BatchNorm on D's first layer", "Model details", DCGAN),
    Knob("pack", "int", "Pack (PacGAN)", "Model details", MLP),
    Knob("loss", "choice", "Loss form", "Loss and noise"),
    Knob("g_loss", "choice", "G loss", "Loss and noise"),
    Knob("d_update", "choice", "D update", "Loss and noise"),
    Knob("noise", "choice", "Noise z", "Loss and noise"),
    Knob("noise_constant", "float", "Constant noise value", "Loss and noise", ("noise", ("constant",)), step=0.1),
    Knob("optimizer", "choice", "Optimiser", "Optimiser"),
    Knob("lr_g", "float", "Learning rate G", "Optimiser", step=1e-4),
    Knob("lr_d", "float", "Learning rate D", "Optimiser", step=1e-4),
    Knob("beta1", "float", "Adam beta1", "Optimiser", ("optimizer", ("adam",)), step=0.05),
    Knob("beta2", "float", "Adam beta2", "Optimiser", ("optimizer", ("adam",)), step=0.001),
    Knob("momentum", "float", "SGD momentum", "Optimiser", ("optimizer", ("sgd",)), step=0.1),
    Knob("batch_size", "int", "Batch size", "Schedule"),
    Knob("d_steps", "int", "k: D steps per G step", "Schedule"),
    Knob("order", "choice", "Update order", "Schedule"),
    Knob("eval_every", "int", "Held-out evaluation every (steps)", "Schedule"),
    Knob("seed", "int", "Seed", "Schedule"),
    Knob("device", "choice", "Device", "Schedule"),
)
SECTIONS = {"Data": False, "Model": False, "Model details": False, "Loss and noise": True,
            "Optimiser": True, "Schedule": True}   # section -> open at first


# ---------------------------------------------------------------------------------- the sidebar
def settings_sidebar() -> Commands:
    """Draw the settings and act on changes; return the session's (possibly new) Runner."""
    _open_link()
    runner = session_runner()
    hide = st.session_state[HIDDEN]
    with st.sidebar:
        _preset_picker()
        if st.session_state.get(MIRRORS) is not runner:
            _fill_form(runner.config)
            st.session_state[MIRRORS] = runner
        left = _take_new_inputs()
        if left and runner.alive and runner.snapshot.step > st.session_state.get(RESUMED_AT, 0):
            st.session_state[LEFT_RESUMED] = left      # it trained since the resume: ask first
        elif left:                 # a preset picked after a resume: a fresh run, even if the same
            runner = start_run(st.session_state[BASE])
            st.session_state[MIRRORS] = runner
        values = form_values()
        runner, error = _apply_form(runner, values)
        show_notices("settings")
        for problem in st.session_state.get(LINK_PROBLEMS, ()):
            st.warning(f"Ignored from the link: {problem}")
        if error is not None and error.field not in {k.field for k in KNOBS}:
            st.error(str(error))
        st.caption(f"Knobs marked {REBUILDS} start a new model; the others act on the running model at once.")
        for section, expanded in SECTIONS.items():
            knobs = [k for k in KNOBS if k.section == section and k.field not in hide]
            if section in hide or not knobs:
                continue
            # Keyed, a section stays as the student left it while the rebuild question comes and goes above.
            with st.expander(section, expanded=expanded, key="section_" + section.lower().replace(" ", "_")):
                for knob in knobs:
                    _widget(knob, values)
                    if error is not None and error.field == knob.field:
                        st.error(str(error))
        _share(runner, hide)
    return runner


def open_setup(preset_name: str, config: TrainConfig) -> None:
    """Make ``config`` (``preset_name`` with some knobs changed) the session's run, as a lesson's
    button does; raises ConfigError when it does not fit this server."""
    start_run(config)
    st.session_state.setdefault(HIDDEN, ())
    st.session_state[PRESET_NAME] = preset_name
    st.session_state[RESUMED] = None
    st.session_state.pop(LEFT_RESUMED, None)
    st.session_state[LINK_PROBLEMS] = ()
    st.session_state.pop("preset", None)   # the picker starts again from PRESET_NAME


def _open_link() -> None:
    """On a session's first page, start the set-up its link describes (if it has one)."""
    if HIDDEN in st.session_state:
        return
    params = st.query_params.to_dict()
    st.session_state[HIDDEN] = hidden(params)
    if set(params) - {HIDE}:
        name, config, problems = from_params(params, DEFAULT_PRESET)
        st.session_state[PRESET_NAME] = name
        try:
            start_run(config)
        except ConfigError as exc:
            problems.append(str(exc))
            start_run(preset(name))
        st.session_state[LINK_PROBLEMS] = problems


def _share(runner: Commands, hide: tuple[str, ...]) -> None:
    """Keep the page's URL on the set-up, and offer it to copy."""
    share(to_params(st.session_state[PRESET_NAME], runner.config, hide), "Share this set-up",
          "This link opens the same preset and knobs (and, with the same seed on a CPU, the same "
          "run). Add `&hide=Model,Schedule` to hide sidebar sections or knobs.")


def _preset_picker() -> None:
    """The picker starts on the preset last loaded, as its own default (``index``) rather than a
    value written into session state: the browser falls back to a widget's default whenever it
    drops the widget's state, and a default of the first preset then sent "seed-000-vanilla"
    with the next click, which rebuilt the run and lost a Play pressed right after the page loaded."""
    resumed = st.session_state.get(RESUMED)
    names = [resumed] * bool(resumed) + list(PRESETS)
    current = resumed or st.session_state.setdefault(PRESET_NAME, DEFAULT_PRESET)
    st.selectbox("Preset", names, index=names.index(current), key="preset",
                 help="A preset sets every knob below to a known recipe: one per seed post, the "
                      "2D toys (GAN Lab style) and a DCGAN sized for a CPU.")
    chosen = st.session_state["preset"]
    st.caption("The resumed checkpoint's own settings; pick a preset to start afresh." if chosen == resumed
               else describe(chosen))


def show_resumed(file_name: str, step: int) -> None:
    """Say in the picker that the run is a resumed checkpoint's (at ``step``): "custom, from X.pt"."""
    st.session_state[RESUMED], st.session_state[RESUMED_AT] = f"custom, from {file_name}", step
    st.session_state.pop(LEFT_RESUMED, None)
    st.session_state.pop("preset", None)   # the picker starts again on that entry


def _take_new_inputs() -> str | None:
    """Load a newly picked preset, or a new image upload, into the form; when the preset replaces
    a resumed checkpoint's settings, the picker's entry for that checkpoint.

    Done here, by comparing with what was last taken, rather than in on_change callbacks: a change
    that reaches the server together with the live fragment's automatic rerun never fires its
    callback (seen with Streamlit 1.67), and the pick would be lost."""
    name, resumed = st.session_state["preset"], st.session_state.get(RESUMED)
    left = resumed if resumed and name != resumed else None
    if name != resumed and (name != st.session_state[PRESET_NAME] or resumed):
        st.session_state[PRESET_NAME], st.session_state[RESUMED] = name, None
        st.session_state[LINK_PROBLEMS] = ()   # the link's set-up is left behind
        _fill_form(preset(name, device=form_values()["device"]))
    if _new_upload("image_upload", UPLOADED):
        _take_images(st.session_state["image_upload"])
    if _new_upload("points_upload", UPLOADED_POINTS):
        _take_points(st.session_state["points_upload"])
    return left


def _new_upload(key: str, taken: str) -> bool:
    """Whether the uploader ``key`` holds files not taken yet; marks them taken."""
    value = st.session_state.get(key)
    ids = [f.file_id for f in (value if isinstance(value, list) else [value] if value else [])]
    if not ids or ids == st.session_state.get(taken):
        return False
    st.session_state[taken] = ids
    return True


def _fill_form(config: TrainConfig) -> None:
    st.session_state[BASE] = config
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1


def form_values() -> dict[str, Any]:
    """What each knob says (a widget not drawn yet shows the value it will start from)."""
    base = st.session_state[BASE]
    return {k.field: st.session_state.get(k.key, k.to_widget(getattr(base, k.field))) for k in KNOBS}


def form_config(values: dict[str, Any]) -> TrainConfig:
    """The config the knobs describe.  Raises ConfigError naming the first bad field."""
    base = st.session_state[BASE]
    return base.replace(**{k.field: k.from_widget(values[k.field]) for k in KNOBS})


def _apply_form(runner: Commands, values: dict[str, Any]) -> tuple[Commands, ConfigError | None]:
    try:
        config = placed(form_config(values))   # the server's paths and budget, before anything is built
    except ConfigError as exc:
        return runner, exc
    st.session_state[BASE] = config   # the widgets' starting values follow what they say
    old = runner.config.to_dict()
    changes = {name: value for name, value in config.to_dict().items() if value != old[name]}
    if set(changes) - LIVE or st.session_state.get(LEFT_RESUMED):
        if runner.snapshot.step == 0 or not runner.alive:   # nothing trained yet: nothing to lose
            runner = start_run(config)
            st.session_state[MIRRORS] = runner
            st.session_state.pop(LEFT_RESUMED, None)
        else:
            _confirm_rebuild(runner, changes)
    elif changes:
        try:
            runner.set(**changes)
        except ConfigError as exc:
            return runner, exc
    return runner, None


def _confirm_rebuild(runner: Commands, changes: dict[str, Any]) -> None:
    old = runner.config.to_dict()
    listing = "; ".join(f"{name}: {_shown(name, old[name])} → {_shown(name, value)}"
                        for name, value in changes.items()) or f"preset {st.session_state[PRESET_NAME]}"
    with st.container(key="pending_rebuild"):
        st.warning(f"**Pending changes need a new model** ({listing}). Rebuilding discards the "
                   f"current run at step {runner.snapshot.step:,}: save a checkpoint first to keep it.")
        # One above the other: side by side, the narrow sidebar cut both labels off.
        st.button("Apply & rebuild", key="apply_rebuild", type="primary", on_click=_rebuild, width="stretch",
                  help="Start a new run with these settings (fresh weights).")
        st.button("Discard changes", key="discard_changes", on_click=_discard, width="stretch",
                  help="Put the settings back to the running model's.")


def _shown(field: str, value: Any) -> Any:
    """A value as the page may show it: a folder or file by its name, never its server path."""
    if field not in PATH_FIELDS:
        return value
    return next((label for label, path in _path_options(field).items() if path == value), "—")


def _rebuild() -> None:
    try:
        start_run(form_config(form_values()))
    except GanCoreError as exc:
        notify("error", str(exc), "settings")
        return
    st.session_state.pop(LEFT_RESUMED, None)


def _discard() -> None:
    _fill_form(current_runner().config)
    if left := st.session_state.pop(LEFT_RESUMED, None):   # back to the resumed checkpoint's settings
        st.session_state[RESUMED] = left
        st.session_state.pop("preset", None)


# ---------------------------------------------------------------------------------- widgets
def _widget(knob: Knob, values: dict[str, Any]) -> None:
    needs = knob.needs
    disabled = needs is not None and values[needs[0]] not in needs[1]
    label = knob.label if knob.field in LIVE else f"{knob.label} {REBUILDS}"
    knob_widget(knob, values[knob.field], knob.key, disabled, label)
    if knob.extra is not None and not disabled:
        knob.extra()


def knob_widget(knob: Knob, value: Any, key: str, disabled: bool = False, label: str | None = None) -> Any:
    """The widget of ``knob`` (labelled ``label``, else the knob's own), starting at ``value``
    (as ``Knob.to_widget`` gives it); returns what it says."""
    label = label or knob.label
    common = dict(key=key, help=knob.help(), disabled=disabled)
    if knob.kind == "choice":
        options = _options(knob.field, value)
        return st.selectbox(label, options, index=options.index(value),
                            format_func=lambda v: _option_label(knob.field, v), **common)
    if knob.kind == "int":
        return st.number_input(label, value=value, step=1, **common)
    if knob.kind == "float":
        return st.number_input(label, value=value, step=knob.step, format="%g", **common)
    if knob.kind == "bool":
        return st.checkbox(label, value=value, **common)
    if knob.kind == "path":
        options = list(_path_options(knob.field))
        return st.selectbox(label, options, index=options.index(value) if value in options else 0, **common)
    return st.text_input(label, value=value, **common)


def _options(field: str, current: Any) -> list[str]:
    if field != "device":
        return list(CHOICES[CHOICE_SET.get(field, field)])
    options = ["auto", "cpu"]
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        options += ["cuda"] + ([f"cuda:{i}" for i in range(count)] if count > 1 else [])
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        options.append("mps")
    return options if current in options else [*options, current]


PATH_FIELDS = ("image_folder", "points_file")


def _path_options(field: str) -> dict[str, str]:
    """What a student may pick for a path field, label -> path: for the image folder the teacher's
    folders and their own upload, for the points file their own upload.  The labels are the ones
    the page shows everywhere (``ui.deployment``)."""
    workspace = session_workspace()
    if field == "points_file":
        points = current_points(workspace)
        paths, label = [points] if points else [], lambda path: points_label(path, points)
    else:
        upload = current_upload(workspace)
        paths = [*deployment().image_folders.values(), *([upload] if upload else [])]
        label = lambda path: folder_label(path, upload)   # noqa: E731
    return {"—": "", **{label(str(path)): str(path) for path in paths}}


def _option_label(field: str, value: str) -> str:
    if field == "device" and value == "auto":
        device = resolve_device("auto")
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
        return f"auto ({name})"
    return OPTION_LABELS.get(field, {}).get(value, value)


def _take_images(files: list) -> None:
    values = form_values()
    try:
        folder, skipped = store_images([(f.name, f.getvalue()) for f in files], values["image_size"],
                                       values["channels"], session_workspace())
        _fill_form(st.session_state[BASE].replace(dataset="folder", image_folder=str(folder)))
    except GanCoreError as exc:
        notify("error", str(exc), "settings")
        return
    if skipped:
        notify("warning", f"Skipped {len(skipped)} file(s) that are not images: {', '.join(skipped[:5])}.",
               "settings")
    notify("success", f"Using {len(files) - len(skipped)} uploaded image(s) as the real data.", "settings")


def _take_points(file: Any) -> None:
    try:
        path, count = store_points(file.name, file.getvalue(), session_workspace())
        _fill_form(st.session_state[BASE].replace(dataset="points-file", points_file=str(path)))
    except GanCoreError as exc:
        notify("error", str(exc), "settings")
        return
    notify("success", f"Using the {count:,} points of {path.name} as the real data.", "settings")
