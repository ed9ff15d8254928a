"""A set-up is a link: what one browser set up opens the same in a fresh browser."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from bench.live_page import choose_preset
from gan_core.presets import describe

WAIT = 60_000


def lr_d_input(page: Page):
    return page.get_by_role("spinbutton", name="Learning rate D")


def test_a_set_up_opens_the_same_from_its_link(page: Page, fresh_tab):
    choose_preset(page, "seed-001-mlp")
    page.wait_for_function("() => location.search.includes('preset=seed-001-mlp')", timeout=WAIT)
    lr_d = lr_d_input(page)
    lr_d.fill("0.0005")
    lr_d.press("Enter")
    page.wait_for_function("() => location.search.includes('lr_d=0.0005')", timeout=WAIT)

    tab = fresh_tab(page.url)
    expect(tab.get_by_test_id("stSidebar").get_by_text(describe("seed-001-mlp")[:60])).to_be_visible(
        timeout=WAIT)
    expect(lr_d_input(tab)).to_have_value("0.0005", timeout=WAIT)
    tab.get_by_text("Share this set-up").click()
    expect(tab.get_by_test_id("stPopoverBody").get_by_test_id("stCode")).to_contain_text(
        "lr_d=0.0005", timeout=WAIT)
