"""Every set-up is a link: what a link holds, what a bad one does, and the page opened from one."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gan_core.presets import PRESETS, preset
from ui.config_form import GENERATION, MIRRORS
from ui.links import comparison_from_params, from_params, hidden, to_params

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_link_holds_the_preset_and_only_the_changed_knobs(name: str):
    config = preset(name, lr_d=0.0031, seed=5, g_hidden=[64, 32] if preset(name).arch == "mlp" else preset(name).g_hidden)
    params = to_params(name, config)
    assert {"preset", "lr_d", "seed"} <= set(params) and "batch_size" not in params
    assert from_params(params, "toy-ring") == (name, config, [])


def test_bad_and_stale_parameters_are_reported_and_ignored():
    name, config, problems = from_params({"preset": "toy-gone", "lr_d": "fast", "nonsense": "1",
                                          "data_dir": "/etc", "image_folder": "/etc", "seed": "9"},
                                         "toy-ring")
    assert name == "toy-ring" and config == preset("toy-ring", seed=9)
    assert len(problems) == 5 and any("toy-gone" in p for p in problems)
    assert any(p.startswith("data_dir: chosen by the server") for p in problems)
    assert hidden({"hide": "Model, lr_g,"}) == ("Model", "lr_g")


def test_a_hostile_link_value_is_one_short_problem():
    """Text that json, int() or a digit test would choke on: each is a problem of its own, quoted
    cut short, and the rest of the link still applies."""
    name, base, changes, problems = comparison_from_params(
        {"variants": "\u00b2", "A.lr_d": "[" * 5000, "B.seed": "1" * 5000, "B.lr_g": "9" * 80, "lr_d": "1" * 5000,
         "A.loss": "mse"}, "toy-ring")
    assert (name, base, changes) == ("toy-ring", preset("toy-ring"), [{"loss": "mse"}, {}])
    assert len(problems) == 5 and all(len(p) < 120 for p in problems), problems


def test_a_link_cannot_name_a_points_file():
    name, config, problems = from_params({"preset": "toy-ring", "points_file": "/etc/passwd",
                                          "dataset": "points-file"}, "toy-ring")
    assert config == preset("toy-ring") and config.points_file == ""
    assert problems == ["points_file: chosen by the server, not by a link",
                        "points_file: dataset 'points-file' needs a CSV file of 2D points, x and y on each line"]
    assert "points_file" not in to_params("toy-ring", config.replace(dataset="points-file", points_file="/srv/p.csv"))


def open_link(params: dict[str, str]) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    app.session_state[MIRRORS].wait_for(lambda s: s.status == "paused", timeout=60)
    return app.run()


def test_a_link_opens_its_set_up_with_chosen_controls_hidden():
    app = open_link({"preset": "toy-grid", "lr_d": "0.003", "seed": "5", "hide": "Model,lr_g"})
    run = app.session_state[MIRRORS]
    assert run.config == preset("toy-grid", lr_d=0.003, seed=5).replace(data_dir=run.config.data_dir)
    assert app.selectbox(key="preset").value == "toy-grid"
    assert "Model" not in [e.label for e in app.expander]
    generation = app.session_state[GENERATION]
    assert all(w.key != f"cfg{generation}_lr_g" for w in app.number_input), "lr_g is hidden"
    assert any(w.key == f"cfg{generation}_lr_d" for w in app.number_input), "lr_d is not"
    assert app.query_params["lr_d"] == "0.003" and app.query_params["hide"] == "Model,lr_g"


def test_a_broken_link_still_opens_the_page_and_says_what_it_ignored():
    app = open_link({"preset": "toy-ring", "batch_size": "-4", "g_hidden": "16384,16384,16384,16384"})
    assert not app.exception
    warnings = [w.value for w in app.warning]
    assert any("Ignored from the link: batch_size" in w for w in warnings)
    assert any("Ignored from the link: g_hidden: this run needs" in w for w in warnings)
    assert app.session_state[MIRRORS].config == app.session_state[MIRRORS].config.replace(**{
        **preset("toy-ring").to_dict(), "data_dir": app.session_state[MIRRORS].config.data_dir})
