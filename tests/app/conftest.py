"""App tests run with their own deployment settings: workspaces in a temp folder, an image folder
the 'teacher' allows, and the other settings at their defaults."""
from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.runtime.caching import clear_session_resource_cache
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from ui import deployment

APPTEST_SESSION = "test session id"   # every AppTest runs in this one Streamlit session


@pytest.fixture(autouse=True)
def classroom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[deployment.Deployment]:
    """This test's deployment: workspaces under tmp_path/workspaces, one allowed folder 'class'."""
    allowed = tmp_path / "class-images"
    allowed.mkdir()
    monkeypatch.setenv("GAN_PLAYGROUND_WORKSPACES", str(tmp_path / "workspaces"))
    monkeypatch.setenv("GAN_PLAYGROUND_IMAGE_FOLDERS", f"class={allowed}")
    deployment.deployment.cache_clear()
    yield deployment.deployment()
    clear_session_resource_cache(APPTEST_SESSION)   # the session ends: its run stops, its files go
    deployment.deployment.cache_clear()


def _press(app: AppTest, key: str) -> AppTest:
    app.button(key=key).click().run()
    return app.run()


@pytest.fixture
def press() -> Callable[[AppTest, str], AppTest]:
    """Click a run button, then draw the whole page: a step of a paused run reruns the live views
    alone (in a browser the rest of the page stays), and AppTest then holds only those."""
    return _press


_FIGURE = re.compile(r'data-figure="([^"]*)".*?class="figure-value">([^<]*)<')


def _figures(app: AppTest) -> dict[str, str]:
    return {html.unescape(label): html.unescape(value) for row in app.html for label, value in _FIGURE.findall(row.value)}


@pytest.fixture
def figures() -> Callable[[AppTest], dict[str, str]]:
    """The labels and values of the page's rows of figures (the run's, the quality metrics')."""
    return _figures


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every file the page hands the browser (images, downloads), by file id: AppTest shows a
    download button's URL only, so the bytes are noted as they are stored."""
    stored = {}
    keep = MemoryMediaFileStorage.load_and_get_id

    def noting(self, data, mimetype, kind, filename=None):
        file_id = keep(self, data, mimetype, kind, filename)
        stored[file_id] = data
        return file_id
    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", noting)
    return stored
