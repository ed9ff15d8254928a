"""The Lessons page: every lesson renders its question, objective and set-up; one click opens
the set-up on the Train page (a comparison's on the Compare page, tests/app/test_compare_page.py)."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from gan_core.lessons import LESSONS, configs, lesson
from ui.config_form import MIRRORS

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def lessons_app() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page("app_pages/lessons.py")
    return app.run()


def test_every_lesson_shows_its_question_objective_and_set_up():
    app = lessons_app()
    for item in LESSONS:
        app.radio(key="lesson").set_value(item.slug).run()
        assert not app.exception, item.slug
        assert app.header[0].value == item.title
        assert [latex.value.strip("$\n") for latex in app.latex] == [item.objective]
        [opens] = [b for b in app.button if b.key == f"open:{item.slug}"]
        assert opens.label == ("Open the comparison" if item.is_comparison else "Open on the Train page")
        [link] = [code.value for code in app.code]
        assert "preset=" + item.preset in link, "each set-up is a link"
        assert ("/compare?" in link) == item.is_comparison
        assert (f"variants={len(item.variants)}" in link) == item.is_comparison


def test_one_click_opens_the_set_up_on_the_train_page():
    item = lesson("ln2-is-not-a-pattern")
    app = lessons_app()
    app.radio(key="lesson").set_value(item.slug).run()
    app.button(key=f"open:{item.slug}").click().run()
    assert not app.exception
    run = app.session_state[MIRRORS]
    [wanted] = configs(item).values()
    assert run.config == wanted.replace(data_dir=run.config.data_dir)
    assert app.selectbox(key="preset").value == item.preset
