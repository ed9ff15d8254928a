"""A real `streamlit run app.py` on a free localhost port, driven by Playwright + Debian's Chromium."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

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


@contextmanager
def _tab_in_new_context(browser, url: str) -> Iterator:
    """A tab of a new browser context (its own Streamlit session, no shared state) on ``url``,
    1400x1000, closed afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.goto(url)
        yield tab
    finally:
        context.close()


@pytest.fixture
def fresh_tab(browser):
    """``fresh_tab(url)``: open ``url`` in a browser of its own, as a link handed to someone else;
    closed after the test."""
    with ExitStack() as tabs:
        yield lambda url: tabs.enter_context(_tab_in_new_context(browser, url))


@pytest.fixture
def page(browser, app_url):
    """A fresh browser tab (its own Streamlit session) on the app."""
    with _tab_in_new_context(browser, app_url) as tab:
        tab.get_by_test_id("stApp").wait_for()
        yield tab


def _save_screenshot(tab, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def save_screenshot() -> Callable[[Any, str], Path]:
    """``save_screenshot(tab, name)``: keep a screenshot as a test artefact (artifacts/NAME.png)."""
    return _save_screenshot


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With ``-n`` (pytest-xdist), the browser tests run one after another on one worker, sharing
    one server and one Chromium, while the other tests run beside them (two servers with their
    browsers side by side overload a 2-core machine)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.xdist_group("browser"))
