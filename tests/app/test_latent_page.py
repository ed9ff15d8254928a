"""The latent explorer through Streamlit's AppTest: every shipped checkpoint renders, sliders and
seeds change z as promised, the session's training run and uploads load, and bad uploads are
refused with their message.  Real checkpoint files, a real Runner, no mocks."""
from __future__ import annotations

import io
from pathlib import PurePosixPath

import pytest
from PIL import Image
from streamlit.runtime.caching import clear_session_resource_cache
from streamlit.testing.v1 import AppTest

from gan_core.errors import CheckpointError
from gan_core.ship import CHECKPOINTS, read_index, train_command
from gan_core.paths import ROOT
from ui.latent_views import MAX_UPLOAD_MB, model_from_upload, upload_error


APPTEST_SESSION = "test session id"   # every AppTest runs in this one Streamlit session
SHIPPED = {entry["name"]: entry for entry in read_index()}
SERVER_PATHS = {"data_dir": str(ROOT / "data"), "image_folder": ""}   # what the page passes


@pytest.fixture
def at():
    """The latent explorer page on its own (the default shipped model is showing)."""
    app = AppTest.from_file(str(ROOT / "app_pages" / "latent.py"), default_timeout=90)
    yield app.run()
    clear_session_resource_cache(APPTEST_SESSION)


@pytest.fixture
def app():
    """The whole app, switched from the Train page (which starts a run in this session) to the
    explorer.  Releasing the session's cache afterwards stops that run."""
    whole = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    whole.run()
    whole.switch_page("app_pages/latent.py")
    yield whole.run()
    clear_session_resource_cache(APPTEST_SESSION)


def main_image_url(app: AppTest) -> str:
    return app.image[0].value[0]


def shown(app: AppTest) -> str:
    """All captions, infos and markdown of the page as one text (for 'is it said' checks)."""
    return " ".join(e.value for kind in ("caption", "info", "markdown") for e in getattr(app, kind))


def test_the_four_required_models_are_shipped_small_and_documented():
    kinds = {}
    for name, entry in SHIPPED.items():
        path = CHECKPOINTS / entry["file"]
        assert path.stat().st_size < 10 * 2**20, f"{name} is over 10 MB"
        assert entry["command"] == "OMP_NUM_THREADS=1 " + " ".join(train_command(name))
        assert (ROOT / entry["grid"]).is_file(), "the README's sample grid exists"
        assert entry["steps"] > 0 and entry["train_seconds"] > 0 and entry["device"] == "cpu"
        kinds[name] = (entry["config"]["arch"], entry["config"]["dataset"])
    assert sum((CHECKPOINTS / e["file"]).stat().st_size for e in SHIPPED.values()) < 30 * 2**20
    assert ("mlp", "mnist-offline") in kinds.values() and ("dcgan", "mnist-offline") in kinds.values()
    assert kinds["toy-ring"] == ("mlp", "ring") and kinds["pattern-1010"] == ("mlp", "pattern")


@pytest.mark.parametrize("name", list(SHIPPED))
def test_page_renders_each_shipped_checkpoint(at, name):
    at.selectbox(key="lat-shipped").select(name).run()
    assert not at.exception and not at.error
    kind = {"ring": "points", "pattern": "pattern"}.get(SHIPPED[name]["config"]["dataset"], "image")
    assert f"trained {SHIPPED[name]['steps']:,} steps" in shown(at)
    if kind == "image":
        assert at.image[0].captions[0].startswith("G(z)"), "G(z) is drawn"
        assert any(s.label.startswith("Direction 1") for s in at.slider)
    else:
        assert at.get("plotly_chart"), "the folded grid (toy) or the 6 output bars (pattern)"
    assert len(at.get("download_button")) == 4, "PNG and GIF for interpolation and walk"


@pytest.mark.parametrize("name, size", [("toy-ring", (480, 480)), ("pattern-1010", (144, 24))])
def test_toy_and_pattern_paths_download_as_png_and_gif(at, media, name, size):
    """A toy's path is a scatter plot over the real data (one frame per point, the point marked);
    a pattern's is a strip, one row of six grey cells per frame."""
    at.selectbox(key="lat-shipped").select(name).run()
    assert not at.exception and not at.error
    downloads = {(b.label, b.proto.id.split(":")[-1]): b.proto.url for b in at.get("download_button")}
    assert set(downloads) == {(label, f"{path}-{ext}") for label, ext in (("PNG frames", "png"),
                              ("Animated GIF", "gif")) for path in ("interpolate", "walk")}
    for (label, _), url in downloads.items():
        picture = Image.open(io.BytesIO(media[PurePosixPath(url).stem]))
        if label == "Animated GIF":
            assert picture.format == "GIF" and picture.size == size and picture.n_frames > 2
        else:
            assert picture.format == "PNG" and picture.size[0] == size[0]


def test_moving_a_slider_changes_the_image_and_seeds_reproduce_z(at):
    at.selectbox(key="lat-shipped").select("dcgan-small").run()
    direction = next(s for s in at.slider if s.label.startswith("Direction 1"))
    z0 = next(s for s in at.slider if s.label == "z[0]")
    seed_z0, before = z0.value, main_image_url(at)
    direction.set_value(2.0).run()
    assert main_image_url(at) != before
    at.button(key=next(b.key for b in at.button if b.label == "Randomise")).click().run()
    randomised = next(s for s in at.slider if s.label == "z[0]").value
    assert next(n for n in at.number_input if n.label == "Seed").value != 7
    next(n for n in at.number_input if n.label == "Seed").set_value(7).run()
    assert next(s for s in at.slider if s.label == "z[0]").value == seed_z0 != randomised
    assert next(s for s in at.slider if s.label.startswith("Direction 1")).value == 0.0
    assert main_image_url(at) == before, "same seed, same z, same picture"


def test_nearest_neighbours_compare_with_real_digits(at):
    at.selectbox(key="lat-shipped").select("dcgan-small").run()
    next(t for t in at.toggle if "nearest" in t.label).set_value(True).run()
    assert not at.exception and not at.error
    assert len(at.image[1].value) == 8
    assert "a held-out real image is typically" in shown(at)


def test_the_session_training_run_can_be_explored(app):
    """The Train page started a run in this session; the explorer takes its current weights."""
    assert not app.exception and app.image, "the app navigates to the explorer and draws G(z)"
    app.segmented_control(key="lat-source").set_value("run").run()
    assert not app.exception and not app.error
    assert "this session's run at step" in shown(app)
    app.button(key="lat-run-refresh").click().run()
    assert not app.error and "this session's run at step" in shown(app)


def test_upload_source_waits_for_a_file_then_loads_one(at):
    at.segmented_control(key="lat-source").set_value("upload").run()
    assert "Upload a checkpoint" in shown(at) and not at.error
    ring = (CHECKPOINTS / SHIPPED["toy-ring"]["file"]).read_bytes()
    at.file_uploader(key="lat-upload").set_value(("ring.pt", ring, "application/octet-stream")).run()
    assert not at.error and not at.exception and at.get("plotly_chart")


@pytest.mark.parametrize("content, message", [
    (None, "truncated or corrupt"),
    (b"just some text, no checkpoint\n" * 40, "not a checkpoint"),
], ids=["truncated", "text"])
def test_bad_uploads_show_their_message_on_the_page(at, content, message):
    content = content or (CHECKPOINTS / SHIPPED["toy-ring"]["file"]).read_bytes()[:50_000]
    at.segmented_control(key="lat-source").set_value("upload").run()
    at.file_uploader(key="lat-upload").set_value(("bad.pt", content, "application/octet-stream")).run()
    assert not at.exception
    assert [e.value for e in at.error] and message in at.error[0].value
    assert at.error[0].value.startswith("Cannot open bad.pt: ")
    assert not at.image, "nothing half-loaded is shown"


def test_upload_handler_refuses_bad_bytes_with_one_sentence():
    whole = (CHECKPOINTS / SHIPPED["dcgan-small"]["file"]).read_bytes()
    cases = {whole[: len(whole) // 2]: "truncated or corrupt",
             b"hello, I am a text file": "not a checkpoint",
             b"\0" * (MAX_UPLOAD_MB * 2**20 + 1): f"the limit is {MAX_UPLOAD_MB} MB"}
    for data, reason in cases.items():
        with pytest.raises(CheckpointError, match=reason) as caught:
            model_from_upload(data, SERVER_PATHS)
        assert "Traceback" not in upload_error("x.pt", caught.value)
    digest, model = model_from_upload(whole, SERVER_PATHS)
    assert len(digest) == 64 and model.kind == "image"
