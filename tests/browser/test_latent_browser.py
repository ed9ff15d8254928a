"""The latent explorer in Chromium against a real `streamlit run app.py`: find it from the Train
page, pick the shipped DCGAN, move a slider with the keyboard and see G(z) change; upload broken
files and read the messages; open a view's link in a fresh browser and see the same seed and slider."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from gan_core.paths import CHECKPOINTS

WAIT = 60_000   # ms: the first render imports torch and loads a model on a busy 2-core CPU


def open_explorer(page: Page) -> None:
    """From the Train page, as a student finds the explorer: by the sidebar's link."""
    expect(page.get_by_role("heading", name="Train")).to_be_visible(timeout=WAIT)
    page.get_by_role("link", name="Latent explorer").click()
    pick_model(page)


def pick_model(page: Page, model: str = "DCGAN on MNIST digits") -> None:
    expect(page.get_by_role("heading", name="Latent explorer")).to_be_visible(timeout=WAIT)
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Shipped model")
    expect(picker).to_be_visible(timeout=WAIT)
    for _ in range(5):   # a rerun that lands while the list is open closes it: open it again
        picker.click()
        try:
            page.get_by_role("option", name=model).click(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    expect(page.get_by_text("trained", exact=False).first).to_be_visible(timeout=WAIT)


@pytest.fixture
def explorer(fresh_tab, app_url: str) -> Page:
    """A fresh tab opened on the explorer's own address, the shipped DCGAN picked (no Train page,
    and so no run, first)."""
    tab = fresh_tab(f"{app_url}/latent")
    pick_model(tab)
    return tab


def generated_image(page: Page):
    return page.get_by_test_id("stImage").filter(has_text="G(z)").locator("img")


def test_moving_a_slider_changes_the_generated_digit(page: Page, save_screenshot):
    open_explorer(page)
    image = generated_image(page)
    expect(image).to_be_visible(timeout=WAIT)
    before = image.get_attribute("src")
    thumb = page.get_by_test_id("stSlider").filter(has_text="Direction 1").get_by_role("slider")
    thumb.focus()
    thumb.press("End")                      # to the slider's maximum, as a keyboard user would
    expect(thumb).to_have_value("3", timeout=WAIT)
    expect(image).not_to_have_attribute("src", before, timeout=WAIT)
    page.get_by_text("Show the nearest real images").click()
    expect(page.get_by_text("a held-out real image is typically")).to_be_visible(timeout=WAIT)
    save_screenshot(page, "latent_page")


def test_broken_uploads_are_refused_with_their_message(explorer: Page, tmp_path: Path):
    page = explorer
    page.get_by_test_id("stButtonGroup").get_by_text("Upload a checkpoint").click()
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    truncated = (CHECKPOINTS / "dcgan-small.pt").read_bytes()[:100_000]
    uploader.set_input_files(files=[{"name": "half.pt", "mimeType": "application/octet-stream",
                                     "buffer": truncated}])
    error = page.get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("Cannot open half.pt: the file is truncated or corrupt", timeout=WAIT)
    uploader.set_input_files(files=[{"name": "notes.txt", "mimeType": "text/plain",
                                     "buffer": b"these are my notes, not a model\n"}])
    expect(error).to_contain_text("Cannot open notes.txt: not a checkpoint", timeout=WAIT)
    expect(generated_image(page)).to_have_count(0, timeout=WAIT)


def test_a_view_opens_the_same_from_its_link(explorer: Page, fresh_tab):
    page = explorer
    seed = page.get_by_role("spinbutton", name="Seed", exact=True)
    seed.fill("42")
    seed.press("Enter")
    page.wait_for_function("() => location.search.includes('seed=42')", timeout=WAIT)
    thumb = page.get_by_test_id("stSlider").filter(has_text="Direction 1").get_by_role("slider")
    thumb.focus()
    thumb.press("End")
    page.wait_for_function("() => location.search.includes('dir1=3')", timeout=WAIT)

    tab = fresh_tab(page.url)
    expect(tab.get_by_role("spinbutton", name="Seed", exact=True)).to_have_value("42", timeout=WAIT)
    expect(tab.get_by_test_id("stSlider").filter(has_text="Direction 1").get_by_role("slider")
           ).to_have_value("3", timeout=WAIT)
    expect(tab.get_by_text("DCGAN on MNIST digits").first).to_be_visible(timeout=WAIT)
