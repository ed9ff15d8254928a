"""The Latent page's view is a link: what a link holds, what a bad one does, and the page opened
from one (the model, the seed and the sliders), through Streamlit's AppTest."""
from __future__ import annotations

import pytest
from streamlit.runtime.caching import clear_session_resource_cache
from streamlit.testing.v1 import AppTest

from gan_core.paths import CHECKPOINTS, ROOT
from ui.links import MAX_SEED, fit_sliders, latent_from_params, latent_params

APPTEST_SESSION = "test session id"   # every AppTest runs in this one Streamlit session
SHIPPED = ("dcgan-small", "seed-000-vanilla", "toy-ring", "pattern-1010")
RANGES = {"z0": (-3.0, 3.0), "z1": (-3.0, 3.0), "dir1": (-3.0, 3.0)}


def open_link(params: dict[str, str]) -> AppTest:
    """The Latent page opened in a fresh session from a link."""
    app = AppTest.from_file(str(ROOT / "app_pages" / "latent.py"), default_timeout=90)
    app.query_params.update(params)
    return app.run()


@pytest.fixture(autouse=True)
def _end_session():
    yield
    clear_session_resource_cache(APPTEST_SESSION)


def slider(app: AppTest, label: str):
    return next(s for s in app.slider if s.label.startswith(label))


def seed(app: AppTest):
    return next(n for n in app.number_input if n.label == "Seed")


def test_a_view_link_holds_the_model_the_seed_and_the_moved_sliders():
    params = latent_params("shipped", "toy-ring", 42, {"z1": 0.30000000000000004})
    assert params == {"model": "toy-ring", "seed": "42", "z1": "0.3"}
    link, problems = latent_from_params(params, SHIPPED)
    assert (link.source, link.model, link.seed, problems) == ("shipped", "toy-ring", 42, [])
    assert fit_sliders(link.sliders, RANGES) == ({"z1": 0.3}, [])
    assert latent_params("upload", "toy-ring", None, {}) == {"source": "upload"}, \
        "a session's own model is named by its source only"


def test_bad_view_parameters_are_reported_one_line_each_and_ignored():
    link, problems = latent_from_params({"model": "toy-gone", "seed": "seven", "source": "/etc/passwd"},
                                        SHIPPED)
    assert (link.source, link.model, link.seed) == ("shipped", None, None)
    assert len(problems) == 3 and "'toy-gone' is not a shipped model" in problems[1]
    for bad_seed in ("-1", str(MAX_SEED + 1), "9" * 5000):
        assert latent_from_params({"seed": bad_seed}, SHIPPED)[0].seed is None
    values, problems = fit_sliders({"z0": "99", "z1": "nan", "dir1": "1e999", "dir2": "0",
                                    **{f"z{i}": "0" for i in range(2, 500)}}, RANGES)
    assert values == {} and len(problems) == 4, "one line per bad slider, one for all unknown"
    assert problems[-1].startswith("'dir2', 'z2', 'z3' and 496 more: no such slider")
    assert all(len(p) < 200 for p in problems)


def test_a_link_opens_its_model_seed_and_sliders_and_the_url_follows_the_sliders():
    app = open_link({"model": "seed-000-vanilla", "seed": "42", "z2": "0.5", "dir2": "-1.5"})
    assert not app.exception and not app.warning
    assert app.selectbox(key="lat-shipped").value == "seed-000-vanilla"
    assert seed(app).value == 42
    assert slider(app, "z[2]").value == 0.5 and slider(app, "Direction 2").value == -1.5
    assert slider(app, "Direction 1").value == 0.0
    assert app.query_params == {"model": "seed-000-vanilla", "seed": "42", "z2": "0.5", "dir2": "-1.5"}
    slider(app, "z[0]").set_value(-0.25).run()
    assert app.query_params["z0"] == "-0.25" and app.query_params["seed"] == "42"
    seed(app).set_value(7).run()
    assert app.query_params == {"model": "seed-000-vanilla"}, "a new seed starts from its own z"


def test_a_bad_link_is_reported_and_the_page_still_shows_a_model():
    app = open_link({"model": "toy-gone", "seed": "x", "z0": "1e308", "z7": "1", "zz": "2"})
    assert not app.exception and not app.error
    warnings = [w.value for w in app.warning]
    assert len(warnings) == 4 and all(w.startswith("Ignored from the link: ") for w in warnings)
    assert any("'toy-gone' is not a shipped model" in w for w in warnings)
    assert any(w.endswith("'z7', 'zz': no such slider on this model (it has z0, z1, z2, z3, z4, "
                          "z5, dir1, dir2, dir3, dir4)") for w in warnings)
    assert app.image[0].captions[0].startswith("G(z)"), "the default model is drawn"
    assert seed(app).value == 7
    assert app.query_params == {"model": "dcgan-small"}, "the URL holds only what was taken"


def test_a_link_to_an_upload_waits_for_the_file_then_applies_its_seed():
    app = open_link({"source": "upload", "seed": "5", "z1": "-1"})
    assert not app.exception and not app.warning and "Upload a checkpoint" in app.info[0].value
    assert app.query_params == {"source": "upload"}
    ring = (CHECKPOINTS / "toy-ring.pt").read_bytes()
    app.file_uploader(key="lat-upload").set_value(("ring.pt", ring, "application/octet-stream")).run()
    assert seed(app).value == 5 and slider(app, "z[1]").value == -1.0
    assert app.query_params == {"source": "upload", "seed": "5", "z1": "-1.0"}
