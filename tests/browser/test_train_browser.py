"""The Train page in a real browser against a real `streamlit run app.py`: Play, Pause, Step and
the live charts, then a 2D toy's heatmap.  Prints the time from pressing Play to the first chart
update and the steps/s seen with the page open.
"""
from __future__ import annotations

import math
import re
import time

from playwright.sync_api import Page, expect

from bench.live_page import (charted_step, choose_preset, press, stat, step_count,
                             wait_for_chart_beyond, wait_for_step)

WAIT = 60_000   # ms: generous, CI boxes are small and shared
TOY_HEATMAP_DRAWN = """() => {
    const chart = document.querySelector('.st-key-toy_chart .js-plotly-plot');
    return !!chart && chart._fullData.some(t => t.type === 'heatmap')
        && !!chart.querySelector('.hm image');
}"""
G_LOSS_HIDDEN = """hidden => document.querySelector('.st-key-loss_chart .js-plotly-plot').data
    .filter(t => (t.legendgroup ?? t.name) === 'G loss').every(t => (t.visible === false) === hidden)"""


def test_play_pause_step_and_the_toy_heatmap(page: Page, save_screenshot):
    expect(stat(page, "Status")).to_have_text("paused", timeout=WAIT)
    choose_preset(page, "seed-001-mlp")
    expect(page.locator(".st-key-samples img")).to_have_count(2, timeout=WAIT)   # an image preset now:
    expect(page.locator(".st-key-samples img").first).to_be_visible()            # G's grid, a real one
    expect(stat(page, "Status")).to_have_text("paused", timeout=WAIT)
    # the live quality panel: the digit classifier's view of the untrained G, at step 0
    expect(page.locator(".st-key-quality_metrics")).to_contain_text("classes covered", timeout=WAIT)
    before = charted_step(page)

    started = time.perf_counter()
    press(page, "play")
    wait_for_chart_beyond(page, before)
    first_update = time.perf_counter() - started
    expect(stat(page, "Status")).to_have_text("running")
    zoom_layer = page.locator(".st-key-loss_chart .js-plotly-plot .nsewdrag")
    expect(zoom_layer).to_have_count(0)            # a still picture while training ...
    shown = charted_step(page)
    wait_for_chart_beyond(page, shown)   # and again
    counted, counted_at = step_count(page), time.perf_counter()
    expect(stat(page, "Step")).not_to_have_text(re.compile(rf"^{counted:,}$"), timeout=WAIT)
    rate_shown = stat(page, "Steps/s").inner_text()
    rate_seen = (step_count(page) - counted) / (time.perf_counter() - counted_at)
    print(f"\nPlay -> first chart update: {first_update:.2f} s; seed-001-mlp with the page open: "
          f"{rate_shown} steps/s shown, about {rate_seen:.1f} steps/s seen by the page")

    press(page, "pause")
    expect(stat(page, "Status")).to_have_text("paused", timeout=WAIT)
    expect(zoom_layer).to_have_count(1, timeout=WAIT)   # ... interactive (hover, zoom) once paused
    legend = page.locator(".st-key-loss_chart .live-chart-head button")
    expect(legend).to_have_text(["D loss", "G loss"])
    legend.last.click()                                # a legend entry hides its curve, raw and smoothed
    page.wait_for_function(G_LOSS_HIDDEN, arg=True, timeout=WAIT)
    legend.last.click()                                # and shows it again
    page.wait_for_function(G_LOSS_HIDDEN, arg=False, timeout=WAIT)
    paused_at = step_count(page)
    # Not synchronisation: a window of three refresh periods in which the counter must not move.
    page.wait_for_timeout(1500)
    expect(stat(page, "Step")).to_have_text(f"{paused_at:,}")
    for key, expected in (("step", 1), ("step_d", 2), ("step_g", 3)):
        press(page, key)
        expect(stat(page, "Step")).to_have_text(f"{paused_at + expected:,}", timeout=WAIT)
    expect(page.locator(".st-key-samples img").first).to_be_visible()

    model_section = page.get_by_test_id("stSidebar").locator("details", has=page.get_by_text("Model", exact=True))
    model_section.locator("summary").click()          # a student opens a closed section of the sidebar
    expect(model_section).to_have_js_property("open", True)
    choose_preset(page, "toy-grid")   # the run has trained: switching asks first
    expect(page.locator(".st-key-pending_rebuild")).to_contain_text("Pending changes need a new model")
    expect(model_section).to_have_js_property("open", True)   # the question above it left it open
    press(page, "apply_rebuild")
    page.wait_for_function(TOY_HEATMAP_DRAWN, timeout=WAIT)
    expect(model_section).to_have_js_property("open", True)   # and so did its going
    expect(stat(page, "Step")).to_have_text("0")
    expect(page.locator(".st-key-quality_metrics")).to_contain_text("modes covered (of 25)")
    press(page, "play")
    expect(stat(page, "Step")).not_to_have_text("0", timeout=WAIT)
    press(page, "pause")
    expect(stat(page, "Status")).to_have_text("paused", timeout=WAIT)
    page.set_viewport_size({"width": 1400, "height": 2000})   # the app scrolls inside: show it all
    page.wait_for_function(TOY_HEATMAP_DRAWN, timeout=WAIT)
    save_screenshot(page, "train_page")


TOY_TRACES = """() => {
    const chart = document.querySelector('.st-key-toy_chart .js-plotly-plot');
    return chart ? chart.data.map(t => t.name) : [];
}"""


def test_own_points_from_a_csv_with_gs_manifold(page: Page, tmp_path, save_screenshot):
    angles = [i * 6.2832 / 400 for i in range(400)]
    csv = tmp_path / "heart.csv"
    csv.write_text("x,y\n" + "".join(f"{16 * math.sin(a) ** 3:.3f},{13 * math.cos(a) - 5 * math.cos(2 * a) - 2 * math.cos(3 * a) - math.cos(4 * a):.3f}\n"
                                     for a in angles))
    expect(stat(page, "Status")).to_have_text("paused", timeout=WAIT)
    page.get_by_test_id("stSidebar").get_by_text("Data", exact=True).click()
    dataset = page.locator("[class*='st-key-cfg'][class*='_dataset']").get_by_role("combobox")
    dataset.click()
    dataset.press_sequentially("points-file")   # the list is long: filter it, the option may be out of view
    page.get_by_role("option", name="points-file (your CSV)", exact=True).click()
    page.locator(".st-key-points_upload input[type=file]").set_input_files(str(csv))
    expect(page.get_by_text("Your 400 points from heart.csv")).to_be_visible(timeout=WAIT)
    page.wait_for_function(TOY_HEATMAP_DRAWN, timeout=WAIT)
    page.locator(".st-key-toy_layers").get_by_role("button", name="G's manifold").click()
    page.wait_for_function(f"() => ({TOY_TRACES})().includes(\"G's manifold\")", timeout=WAIT)
    press(page, "play")
    wait_for_step(page, 100)   # G has moved
    press(page, "pause")
    expect(stat(page, "Status")).to_have_text("paused", timeout=WAIT)
    page.wait_for_function(f"() => ({TOY_TRACES})().includes(\"G's manifold\")", timeout=WAIT)
    page.set_viewport_size({"width": 1400, "height": 2000})
    save_screenshot(page, "own_points_manifold")
