"""The Compare page in a real browser: a link opens two variants, Play trains both, both are shown."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from bench.live_page import press, step_count, wait_for_step

WAIT = 60_000


def test_the_compare_page_trains_two_variants_and_shows_both(page: Page, app_url: str):
    page.goto(f"{app_url}/compare?preset=toy-ring&variants=2&A.loss=bce&B.loss=mse")
    expect(page.locator(".st-key-compare_play").get_by_role("button")).to_be_enabled(timeout=WAIT)
    press(page, "compare_play")
    wait_for_step(page, 100)
    press(page, "compare_pause")
    for index, label in enumerate(("A: loss=bce", "B: loss=mse")):
        view = page.locator(f".st-key-compare_view_{index}")
        expect(view.get_by_text(label)).to_be_visible(timeout=WAIT)
        expect(view.locator(".js-plotly-plot")).to_be_visible(timeout=WAIT)
    legend = page.locator(".st-key-compare_loss .live-chart-head")
    for entry in ("A D loss", "A G loss", "B D loss", "B G loss"):
        expect(legend.get_by_role("button", name=entry)).to_be_visible(timeout=WAIT)
    assert step_count(page) >= 100
