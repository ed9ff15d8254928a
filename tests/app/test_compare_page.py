"""The Compare page: a link or a lesson opens variants in lockstep; the page trains and shows them."""
from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from gan_core.lessons import lesson
from ui.compare_views import SETUP
from ui.config_form import MIRRORS
from ui.session import _HOLDERS

APP = str(Path(__file__).resolve().parents[2] / "app.py")
WAIT = 60


def compare_app(params: dict[str, str] | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=WAIT)
    for key, value in (params or {}).items():
        app.query_params[key] = value
    app.switch_page("app_pages/compare.py")
    return app.run()


def until_ready(app: AppTest) -> AppTest:
    """Rerun the page until its comparison has loaded (its Step button is enabled)."""
    deadline = time.monotonic() + WAIT
    while app.button(key="compare_step").disabled:
        assert time.monotonic() < deadline, "the comparison did not load"
        time.sleep(0.2)
        app.run()
    return app


def test_a_link_opens_its_variants_and_step_trains_both(press, figures):
    app = compare_app({"preset": "toy-ring", "variants": "2", "A.loss": "bce", "B.loss": "mse", "seed": "4"})
    assert not app.exception
    name, base, changes = app.session_state[SETUP]
    assert (name, base.seed, changes) == ("toy-ring", 4, [{"loss": "bce"}, {"loss": "mse"}])
    until_ready(app)
    press(app, "compare_step")
    press(app, "compare_step")
    assert not app.exception
    assert figures(app)["Step"] == "2"
    assert any("A: loss=bce · B: loss=mse" in c.value for c in app.caption)
    assert app.query_params["B.loss"] == "mse" and app.query_params["variants"] == "2"


def test_a_bad_link_is_reported_and_the_page_still_works():
    app = compare_app({"preset": "toy-ring", "variants": "7", "A.loss": "nope", "B.seed": "2"})
    assert not app.exception
    warnings = " ".join(w.value for w in app.warning)
    assert "variants: '7'" in warnings and "variant A: loss" in warnings and "variant B: seed" in warnings
    assert len(app.session_state[SETUP][2]) == 2


def test_a_variant_value_that_is_none_is_said_under_it_and_nothing_starts():
    app = compare_app()
    [knobs] = [m for m in app.multiselect if m.label == "Knobs to compare"]
    knobs.set_value(["G hidden widths"]).run()
    [width_b] = [t for t in app.text_input if t.key.endswith("_B_g_hidden")]
    width_b.set_value("64, many").run()
    assert not app.exception
    assert [e.value for e in app.error] == ["g_hidden: '64, many' is not a valid value"]
    assert app.button(key="compare_start").disabled


def test_the_compare_page_leaves_a_parked_train_run_parked():
    """Asking whether the Train run can be forked is no look at it: a parked run stays parked."""
    app = AppTest.from_file(APP, default_timeout=WAIT).run()
    train = app.session_state[MIRRORS]
    train.wait_for(lambda s: s.status == "paused", WAIT)
    (holder,) = [h for h in list(_HOLDERS) if h.runner is train]
    assert holder.park_if_unwatched(after_seconds=0)
    app.switch_page("app_pages/compare.py").run()
    assert not app.exception and holder.parked is not None and holder.runner is None


def test_a_comparison_lesson_opens_on_the_compare_page():
    item = lesson("bce-vs-log")
    app = AppTest.from_file(APP, default_timeout=WAIT)
    app.switch_page("app_pages/lessons.py")
    app.run()
    app.radio(key="lesson").set_value(item.slug).run()
    app.button(key=f"open:{item.slug}").click().run()
    assert not app.exception
    name, base, changes = app.session_state[SETUP]
    assert name == item.preset and changes == list(item.variants.values())
    assert base.lr_d == item.changes["lr_d"] and base.steps == item.steps


def test_a_train_run_forks_into_a_comparison_at_its_step(press, figures):
    app = AppTest.from_file(APP, default_timeout=WAIT).run()
    train = app.session_state[MIRRORS]
    train.wait_for(lambda s: s.status == "paused", WAIT)
    app.run()
    for _ in range(3):
        press(app, "step")
    train.wait_for(lambda s: s.step == 3, WAIT)
    app.button(key="fork_to_compare").click().run()
    assert not app.exception
    [source] = [r for r in app.radio if r.label == "Start from"]
    assert source.value.startswith("my Train run")
    [loss_b] = [s for s in app.selectbox if s.key.endswith("_B_loss")]
    assert loss_b.value != [s for s in app.selectbox if s.key.endswith("_A_loss")][0].value
    app.button(key="compare_start").click().run()
    until_ready(app)
    press(app, "compare_step")
    assert figures(app)["Step"] == "4", "the variants go on from the Train run's step 3"
    assert train.alive and train.snapshot.step == 3, "the Train run is still there, untouched"
