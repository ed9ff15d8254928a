"""Slow motion in a real browser: the page shows each iteration as two frames, the one after D's
update and the one after G's, each long enough for the page's refreshes to catch."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from bench.live_page import press, stat

WAIT = 60_000
# Every slow-motion caption the page shows, in order, noted by the page itself.
CAPTIONS = """() => {
    window.__frames = [];
    new MutationObserver(() => {
        const caption = [...document.querySelectorAll("[data-testid='stCaptionContainer']")]
            .map(c => c.textContent.match(/Slow motion, iteration .*?update/)).find(Boolean)?.[0];
        if (caption && caption !== window.__frames.at(-1)) window.__frames.push(caption);
    }).observe(document, {subtree: true, childList: true, characterData: true});
}"""


def test_slow_motion_shows_d_and_g_updates_as_frames_of_their_own(page: Page):
    expect(stat(page, "Status")).to_have_text("paused", timeout=WAIT)
    page.locator(".st-key-speed").get_by_role("combobox").click()
    page.get_by_role("option", name="slow motion (D and G apart)").click()
    page.evaluate(CAPTIONS)
    press(page, "play")
    page.wait_for_function("() => window.__frames.length >= 4", timeout=WAIT)
    press(page, "pause")
    expect(stat(page, "Status")).to_have_text("paused", timeout=WAIT)
    frames = [(int(n), side) for n, side in (re.match(r"Slow motion, iteration (\d+): after (\w)'s update", f).groups()
                                             for f in page.evaluate("() => window.__frames"))]
    assert frames == sorted(frames), "iterations go forward, D's frame before G's"
    # A loaded machine may refresh too late for a frame now and then; most are seen apart.
    assert any((n, "G") in frames for n, side in frames if side == "D"), f"no iteration shown as two frames: {frames}"
    expect(page.get_by_text(re.compile("Slow motion, iteration"))).to_have_count(0, timeout=WAIT)
