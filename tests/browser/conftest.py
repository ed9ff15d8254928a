"""A real `streamlit run app.py` on a free localhost port, driven by Playwright + Debian's Chromium."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.app_server import ROOT, AppDidNotStart, chromium_path, launched_chromium, running_app

ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Start the app once per test session (see bench.app_server)."""
    try:
        with running_app(tmp_path_factory.mktemp("streamlit") / "server.log") as url:
            yield url
    except AppDidNotStart as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def browser():
    if chromium_path() is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser, app_url):
    """A fresh browser tab (its own Streamlit session) on the app, 1400x1000."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.goto(app_url)
    tab.get_by_test_id("stApp").wait_for()
    yield tab
    context.close()


def save_screenshot(tab, name: str) -> Path:
    """Keep a screenshot as a test artefact (artifacts/NAME.png)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path
