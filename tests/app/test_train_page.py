"""Train page logic through Streamlit's AppTest: settings, validation, live changes, rebuilds,
checkpoints.  The page runs for real (real Runner threads, real checkpoint files in a temp dir).
"""
from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path, PurePosixPath

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image
from streamlit.runtime.caching import clear_session_resource_cache
from streamlit.testing.v1 import AppTest

from gan_core.config import TrainConfig
from gan_core.presets import PRESETS
from gan_core.runner import SLOW_MOTION, Runner
from gan_core.visuals import ToyView
from gan_core.paths import ROOT
from ui import charts
from gan_core.visuals import TIMELINE_LENGTH
from ui.config_form import GENERATION, KNOBS, LIVE, MIRRORS, REBUILDS
from ui.runs import DEFAULT_PRESET
from ui.train_views import TIMELINE_MAX_WIDTH, rate_text


APP = str(ROOT / "app.py")
CHECKPOINTS = ROOT / "checkpoints"
LOADED = ("paused", "failed")
APPTEST_SESSION = "test session id"   # every AppTest runs in this one Streamlit session


@pytest.fixture
def at():
    """The app on its Train page, with its first run loaded.  Afterwards the session ends the
    way a closed tab ends it (its session cache is released), which must stop the run."""
    app = AppTest.from_file(APP, default_timeout=60)
    ready(app.run())
    yield app
    clear_session_resource_cache(APPTEST_SESSION)
    assert not runner(app).alive, "the session's end stops its run"


def runner(app: AppTest) -> Runner:
    return app.session_state[MIRRORS]


def ready(app: AppTest) -> AppTest:
    """Wait until the session's run has loaded (its thread publishes), then render once more."""
    assert not app.exception, app.exception
    runner(app).wait_for(lambda s: s.status in LOADED, timeout=60)
    return app.run()


def knob(app: AppTest, field: str):
    """The settings widget of a config field (its key changes each time the form is refilled)."""
    return app.get_by_key(f"cfg{app.session_state[GENERATION]}_{field}")


def component_data(app: AppTest, name: str) -> list[dict]:
    """What each of the page's ``name`` components was given, as the browser receives it."""
    return [json.loads(element.proto.json) for element in app.get("bidi_component")
            if element.proto.component_name == name]


def live_figures(app: AppTest) -> list[dict]:
    """The figures the page's live charts were given."""
    return [json.loads(chart["figure"]) for chart in component_data(app, "live_chart")]


def errors(app: AppTest) -> list[str]:
    return [e.value for e in app.error]


def test_default_preset_renders_its_live_views(at, figures):
    assert not at.exception
    assert at.selectbox(key="preset").value == DEFAULT_PRESET
    stats = figures(at)
    assert stats["Step"] == "0" and stats["Status"] == "paused" and stats["Device"] == "cpu"
    assert at.slider(key="smoothing").value == 0.8
    names = [{trace.get("name") for trace in figure["data"]} for figure in live_figures(at)]
    assert len(names) == 3 and {"D loss", "G loss"} <= names[0] and "D(x) real" in names[1] and "D(x)" in names[2], \
        "the loss, D-output and toy charts are drawn"
    assert not errors(at)


def one_preset_per_kind_of_page() -> list[str]:
    """The first preset of each kind of page there is (data, architecture, image size): presets
    of one kind differ only in numbers, and every preset trains in tests/core/test_trainer.py."""
    kinds: dict[tuple, str] = {}
    for name in PRESETS:
        config = TrainConfig(**PRESETS[name][1])
        kinds.setdefault((config.data_kind, config.arch, config.image_size), name)
    return [name for name in kinds.values() if name != DEFAULT_PRESET]


def test_each_kind_of_preset_loads_and_renders(at, figures):
    for name in one_preset_per_kind_of_page():
        ready(at.selectbox(key="preset").set_value(name).run())
        run = runner(at)
        assert run.config.to_dict() == {**run.config.to_dict(), **PRESETS[name][1]}, name
        assert run.snapshot.status == "paused", (name, run.snapshot.message)
        assert not at.exception and not errors(at), name
        assert PRESETS[name][0] in [c.value for c in at.caption], "the preset's description is shown"
        shown = list(figures(at)) + [c.value for c in at.caption]
        assert any(text.startswith(("modes covered", "classes covered", "pattern learned", "Quality metrics:"))
                   for text in shown), f"{name}: the quality panel (figures, or why there are none)"


def test_invalid_values_show_the_config_message_and_change_nothing(at):
    before = runner(at).config
    for field, bad, good, message in (
        ("lr_g", 20.0, 1e-3, "lr_g: 20.0 is outside the allowed range [1e-08, 10]"),
        ("pack", 3, 1, "pack: batch_size 256 must be a multiple of pack 3"),
        ("g_hidden", "128, many", "128, 128, 128", "g_hidden: '128, many' is not a valid value"),
    ):
        knob(at, field).set_value(bad).run()
        assert not at.exception
        assert errors(at) == [message]
        assert runner(at).config == before, "nothing is applied while a value is invalid"
        knob(at, field).set_value(good).run()
        assert not errors(at)


def test_live_knob_reaches_the_running_model(at):
    run = runner(at)
    knob(at, "lr_d").set_value(5e-4).run()
    knob(at, "loss").set_value("mse").run()
    assert runner(at) is run, "a live change keeps the model"
    assert run.config.lr_d == 5e-4 and run.config.loss == "mse"
    published = run.wait_for(lambda s: s.config.lr_d == 5e-4 and s.config.loss == "mse", timeout=30)
    assert published.step == 0
    assert not at.warning, "no rebuild is asked for"


def test_structural_change_asks_before_discarding_a_trained_run(at, press):
    run = runner(at)
    press(at, "step")
    run.wait_for(lambda s: s.step == 1)
    knob(at, "latent_dim").set_value(3).run()
    assert runner(at) is run and run.config.latent_dim == 2, "nothing rebuilt before confirming"
    assert any("Pending changes need a new model" in w.value and "latent_dim: 2 → 3" in w.value
               for w in at.warning)
    at.button(key="apply_rebuild").click().run()
    new = runner(at)
    assert new is not run and new.config.latent_dim == 3 and new.snapshot.step == 0
    assert not run.alive, "the discarded run's thread has stopped"
    assert not at.warning


def test_structural_change_before_training_rebuilds_at_once(at):
    run = runner(at)
    knob(at, "dataset").set_value("moons").run()
    assert runner(at) is not run and runner(at).config.dataset == "moons"
    assert not at.warning


def test_divergence_is_explained_and_the_last_good_state_stays_usable(at, press):
    run = runner(at)
    knob(at, "loss").set_value("log").run()
    knob(at, "lr_d").set_value(10.0).run()
    knob(at, "lr_g").set_value(10.0).run()
    press(at, "step")
    press(at, "step")
    assert run.wait_for(lambda s: s.status == "diverged").step == 1, "rolled back to the last good step"
    at.run()
    assert any("log(0) = -inf" in e for e in errors(at))
    assert any("last good state (step 1)" in i.value and "library BCE" in i.value for i in at.info)
    knob(at, "loss").set_value("bce").run()
    press(at, "step")
    assert run.wait_for(lambda s: s.step == 2).status == "paused"


def test_discard_puts_the_settings_back(at, press):
    press(at, "step")
    runner(at).wait_for(lambda s: s.step == 1)
    knob(at, "seed").set_value(7).run()
    at.button(key="discard_changes").click().run()
    assert knob(at, "seed").value == 0 and not at.warning


def blocks_around(app: AppTest, key: str) -> list[str]:
    """The kinds of the blocks (columns, containers, ...) that hold the sidebar element ``key``."""
    def search(node, kinds: list[str]) -> list[str] | None:
        for child in getattr(node, "children", {}).values():
            if getattr(child, "key", None) == key:
                return kinds
            found = search(child, [*kinds, type(child).__name__])
            if found is not None:
                return found
        return None
    return search(app.sidebar, [])


def test_the_rebuild_question_stacks_its_buttons_to_fit_the_sidebar(at, press):
    press(at, "step")
    runner(at).wait_for(lambda s: s.step == 1)
    knob(at, "seed").set_value(7).run()
    for key in ("apply_rebuild", "discard_changes"):
        assert "Column" not in blocks_around(at, key), f"{key} shares a row: its label gets cut off"


def test_every_knob_that_rebuilds_the_model_is_marked_in_every_section(at):
    for k in KNOBS:
        assert knob(at, k.field).label.endswith(REBUILDS) == (k.field not in LIVE), k.field
    assert any(REBUILDS in c.value for c in at.sidebar.caption), "the mark is explained"


def test_a_64_pixel_run_shows_a_small_timeline(press, media):
    app = AppTest.from_file(APP, default_timeout=60)
    for field, value in {"preset": "seed-004-dcgan", "ngf": "4", "ndf": "4", "batch_size": "4"}.items():
        app.query_params[field] = value
    ready(app.run())
    assert runner(app).config.image_size == 64
    for _ in range(3):
        press(app, "step")
    runner(app).wait_for(lambda s: s.step == 3)
    app.run()
    [timeline] = [i for i in app.image if i.captions[0].startswith("step")]
    widths = [Image.open(io.BytesIO(media[PurePosixPath(url).stem])).width for url in timeline.value]
    assert 2 <= len(widths) <= TIMELINE_LENGTH and max(widths) <= TIMELINE_MAX_WIDTH, widths


def session_folders(classroom) -> list[Path]:
    return list(classroom.workspaces.glob("server-*/*"))


def test_saves_go_to_the_sessions_workspace_and_resume_from_there(at, classroom, press):
    press(at, "step")
    runner(at).wait_for(lambda s: s.step == 1)
    at.text_input(key="ckpt_name").set_value("../my run!").run()
    at.button(key="save_ckpt").click().run()
    [workspace] = session_folders(classroom)
    assert [p.name for p in (workspace / "saves").iterdir()] == ["my-run.pt"], "the name is sanitised"
    assert any("Saved my-run.pt at step 1" in s.value for s in at.success)

    at.button(key="save_ckpt").click().run()
    assert "You already saved my-run.pt: pick another name or tick 'Replace'." in errors(at)

    at.file_uploader(key="resume_upload").set_value(("notes.txt", b"not a checkpoint", "text/plain")).run()
    at.button(key="resume_upload_button").click().run()
    assert any("Cannot resume notes.txt" in e and "not a checkpoint" in e for e in errors(at))

    at.button(key="reset").click().run()
    assert ready(at) and runner(at).snapshot.step == 0
    at.selectbox(key="resume_file").set_value("my-run.pt").run()
    at.button(key="resume_file_button").click().run()
    assert runner(at).wait_for(lambda s: s.status == "paused").step == 1
    assert any("Resumed my-run.pt at step 1" in s.value for s in at.success)

    clear_session_resource_cache(APPTEST_SESSION)
    assert not workspace.exists(), "the session's files go with the session"


def test_a_save_cannot_replace_a_shipped_file(at, classroom):
    shipped = {path: path.read_bytes() for path in CHECKPOINTS.glob("*.pt")}
    for name in ("dcgan-small", "digit_classifier", "../checkpoints/toy-ring"):
        at.text_input(key="ckpt_name").set_value(name).run()
        at.checkbox(key="ckpt_replace").check().run()
        at.button(key="save_ckpt").click().run()
    assert {path: path.read_bytes() for path in CHECKPOINTS.glob("*.pt")} == shipped
    assert not any("classifier" in name for name in at.selectbox(key="resume_file").options
                   if name.startswith("shipped")), "the classifier is no model to resume"


def test_an_oversized_config_is_refused_under_its_knob_before_anything_is_built(at):
    run = runner(at)
    knob(at, "g_hidden").set_value("16384, 16384, 16384, 16384, 16384, 16384").run()
    assert any(e.startswith("g_hidden: this run needs") for e in errors(at))
    assert runner(at) is run and run.alive, "the current run goes on"


def test_folder_upload_refuses_non_images(at):
    knob(at, "dataset").set_value("folder").run()
    assert "image_folder: name the folder that holds your images" in errors(at)
    at.file_uploader(key="image_upload").set_value(("notes.txt", b"hello", "text/plain")).run()
    assert any("None of the 1 files is an image that can be read (notes.txt)." in e for e in errors(at))


def test_uploading_a_points_csv_switches_the_run_to_it(at):
    knob(at, "dataset").set_value("points-file").run()
    assert any(e.startswith("points_file: dataset 'points-file' needs a CSV file") for e in errors(at))
    run = runner(at)
    rows = "".join(f"{100 + 10 * np.cos(t):.3f},{5 * np.sin(t):.3f}\n" for t in np.linspace(0, 6.2, 300))
    at.file_uploader(key="points_upload").set_value(("my ellipse.csv", f"x,y\n{rows}".encode(), "text/csv")).run()
    ready(at)
    new = runner(at)
    assert new is not run and new.config.dataset == "points-file" and not errors(at)
    assert new.config.points_file.endswith("my_ellipse.csv") and new.snapshot.status == "paused"
    assert knob(at, "points_file").value == "my uploaded points (my_ellipse.csv)"
    assert "points_file" not in at.query_params, "the link never carries the file's path"
    assert any(i.value.startswith("Your 300 points from my_ellipse.csv, centred on their mean (99.9, ") for i in at.info)
    toy = [f for f in live_figures(at) if any(t.get("name") == "D(x)" for t in f["data"])]
    assert len(toy) == 1 and {t["name"] for t in toy[0]["data"]} == {"D(x)", "real", "generated", "G's gradient"}


def test_a_bad_points_csv_shows_one_error_line(at):
    knob(at, "dataset").set_value("points-file").run()
    run = runner(at)
    at.file_uploader(key="points_upload").set_value(("bad.csv", b"x,y\n1,2\n3,oops\n", "text/csv")).run()
    assert errors(at).count("bad.csv, line 3: 'oops' is not a number.") == 1
    assert not at.exception and runner(at) is run and run.alive


def test_chart_builders_give_valid_figures_and_cap_their_points():
    """The builders skip Plotly's validation for speed, so validate their output here."""
    n = 5000
    rng = np.random.default_rng(0)
    history = {"step": np.arange(1, n + 1), **{c: rng.random(n) for c in ("loss_d", "loss_g", "d_real", "d_fake")}}
    history["loss_g"][::2] = np.nan   # D-only steps have no G loss
    toy = ToyView(2.0, rng.random((48, 48)), rng.random((512, 2)), rng.random((512, 2)), rng.random((512, 2)),
                  rng.random((20, 20, 2)))
    figures = [charts.loss_figure(history, 0.9, TrainConfig()), charts.d_output_figure(history, [{"step": 9, "d_real": 0.6,
               "d_fake": 0.4, "loss_d": 1.3, "loss_g": 0.9}], 0.0), charts.toy_figure(toy, charts.TOY_LAYERS),
               charts.pattern_figure([(1, rng.random(6)), (2, rng.random(6))]), charts.real_pattern_figure(rng.random((12, 6)))]
    for fig in figures:
        go.Figure(fig)   # raises on any invalid property
    loss = go.Figure(figures[0])
    assert [s["label"]["text"] for s in loss.layout.shapes] == ["D and G at equilibrium 0.693"]
    assert all(len(t.x) <= charts.MAX_POINTS for t in loss.data)
    raw_g, smoothed_g = loss.data[2].y, loss.data[3].y
    assert np.array_equal(np.isfinite(raw_g), np.isfinite(smoothed_g)), "smoothing skips missing G losses"
    assert len(charts.toy_figure(toy, ["real"])["data"]) == 1
    (mesh,) = charts.toy_figure(toy, ["G's manifold"])["data"]
    assert len(mesh["x"]) == 40 * 21 and np.isnan(mesh["x"][20::21]).all(), \
        "one trace: the grid's 20 rows and 20 columns, each ended by a gap"


def reference_lines(config: TrainConfig) -> dict[str, float]:
    """The loss chart's dotted lines under ``config``: label -> height."""
    history = {name: np.zeros(0) for name in ("step", "loss_d", "loss_g")}
    return {s["label"]["text"]: s["y0"] for s in charts.loss_figure(history, 0.0, config)["layout"]["shapes"]}


def test_loss_chart_marks_the_equilibrium_of_the_chosen_loss_and_d_update():
    ln2 = math.log(2)
    assert reference_lines(TrainConfig(loss="mse", d_update="sum")) == {
        "D at equilibrium 0.5": pytest.approx(0.5), "G at equilibrium 0.25": pytest.approx(0.25)}
    assert reference_lines(TrainConfig(g_loss="saturating")) == {
        "D at equilibrium 0.693": pytest.approx(ln2), "G at equilibrium -0.693": pytest.approx(-ln2)}
    assert "(D's 0.5, G's 0.25 under" in charts.loss_caption(TrainConfig(loss="mse", d_update="sum"))


def test_the_objective_and_the_loss_chart_follow_the_loss_knobs(at):
    def shown_after(field: str, value: str) -> tuple[list[str], list[str]]:
        knob(at, field).set_value(value).run()
        runner(at).wait_for(lambda s: getattr(s.config, field) == value, timeout=30)
        at.run()
        return [e.body for e in at.latex], [s["label"]["text"] for s in live_figures(at)[0]["layout"]["shapes"]]

    (d_text, g_text), lines = shown_after("loss", "mse")
    assert r"\big(D(x) - 1\big)^2" in d_text and r"\big(D(G(z)) - 1\big)^2" in g_text
    assert lines == ["D and G at equilibrium 0.25"]
    (_, g_text), lines = shown_after("g_loss", "saturating")
    assert r"\min_G\; -\mathbb{E}_{z}\big[D(G(z))^2\big]" in g_text
    assert lines == ["D at equilibrium 0.25", "G at equilibrium -0.25"]


def test_steps_per_second_keep_a_decimal_while_slow():
    assert [rate_text(r) for r in (0.5, 3.26, 9.94, 12.4, 1234.4)] == ["0.5", "3.3", "9.9", "12", "1,234"]


def test_a_moving_run_shows_still_charts_and_a_waiting_one_interactive_charts(at, press):
    press(at, "play")
    assert runner(at).snapshot.status == "running"
    charts = component_data(at, "live_chart")
    assert len(charts) == 3 and all(chart["config"]["staticPlot"] for chart in charts)
    assert charts[2]["caption"].endswith("Pause to hover over the points or zoom in.")
    press(at, "pause")
    assert runner(at).snapshot.status == "paused"
    assert not any(chart["config"]["staticPlot"] for chart in component_data(at, "live_chart"))


def test_slow_motion_says_which_update_the_views_show(at, press):
    at.selectbox(key="speed").set_value(SLOW_MOTION).run()
    press(at, "play")
    frame = runner(at).wait_for(lambda s: s.phase.startswith("iteration 2: after"))
    at.run()
    shown = [c.value for c in at.caption if "Slow motion" in c.value]
    assert len(shown) == 1 and re.search(r"\*\*Slow motion, iteration \d+: after [DG]'s update\.\*\*", shown[0]), shown
    press(at, "pause")
    paused = runner(at).wait_for(lambda s: s.status == "paused")
    at.run()
    assert not [c.value for c in at.caption if "Slow motion" in c.value], "a paused run shows whole steps"
    assert paused.step >= frame.step and set(paused.history["kind"]) == {"step"}


def test_a_resumed_run_shows_where_it_came_from_and_a_preset_starts_afresh(at):
    at.selectbox(key="resume_file").set_value("shipped: toy-ring").run()
    at.button(key="resume_file_button").click().run()
    resumed = runner(at).wait_for(lambda s: s.status == "paused")
    assert resumed.step > 0
    at.run()
    assert at.selectbox(key="preset").value == "custom, from toy-ring.pt"
    assert any("resumed checkpoint's own settings" in c.value for c in at.caption)
    at.selectbox(key="preset").set_value(DEFAULT_PRESET).run()   # the preset it was trained with
    assert ready(at) and runner(at).snapshot.step == 0, "picking a preset starts it afresh"
    assert at.selectbox(key="preset").value == DEFAULT_PRESET


def test_a_preset_over_a_resumed_run_that_trained_on_asks_first(at, press):
    at.selectbox(key="resume_file").set_value("shipped: toy-ring").run()
    at.button(key="resume_file_button").click().run()
    resumed_at = runner(at).wait_for(lambda s: s.status == "paused").step
    press(at.run(), "step")
    trained = runner(at).wait_for(lambda s: s.step > resumed_at).step
    at.selectbox(key="preset").set_value(DEFAULT_PRESET).run()
    assert any("need a new model" in w.value for w in at.warning), "the rebuild question"
    assert runner(at).snapshot.step == trained, "nothing is lost before the answer"
    at.button(key="discard_changes").click().run()
    assert at.selectbox(key="preset").value == "custom, from toy-ring.pt" and not at.warning
    assert runner(at).snapshot.step == trained
    at.selectbox(key="preset").set_value(DEFAULT_PRESET).run()
    at.button(key="apply_rebuild").click().run()
    assert ready(at) and runner(at).snapshot.step == 0, "rebuilt afresh"
    assert at.selectbox(key="preset").value == DEFAULT_PRESET and not at.warning


def test_pause_redraws_the_buttons_at_once(at):
    """Pause changes which buttons may be pressed, so its click reruns the whole page (a views-only
    rerun would leave Play disabled); a moving run's own steps are no answer to it."""
    at.button(key="play").click().run()
    runner(at).wait_for(lambda s: s.status == "running" and s.step > 0)
    at.button(key="pause").click().run()
    assert runner(at).snapshot.status == "paused"
    assert not at.button(key="play").disabled and at.button(key="pause").disabled
