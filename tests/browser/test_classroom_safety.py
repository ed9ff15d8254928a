"""A hostile student against a real server: an upload that asks for a huge model is refused
without the server's memory growing, and a session's files go when its tab closes."""
from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

import pytest
import torch
from playwright.sync_api import Page, expect

from bench.app_server import server_pid
from gan_core.checkpoint import trainer_state
from gan_core.presets import preset
from gan_core.trainer import Trainer

WAIT = 60_000
PEAK_GROWTH_LIMIT_MB = 300   # the refused model would take ~6 GB


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM)."""
    line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


@pytest.fixture(scope="module")
def hostile_checkpoint() -> bytes:
    """A real, small checkpoint whose config claims six hidden layers of 16,384 units."""
    state = trainer_state(Trainer(preset("toy-ring")))
    state["config"] = preset("toy-ring", g_hidden=[16384] * 6).to_json()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def upload(page: Page, name: str, data: bytes, index: int = 0) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").nth(index).set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])


def test_a_hostile_upload_is_refused_before_the_server_builds_it(page: Page, app_url: str,
                                                                   hostile_checkpoint: bytes):
    pid = server_pid(app_url)
    page.get_by_role("link", name="Latent explorer").click()
    page.wait_for_url("**/latent?model=*")   # the page writes its link last: it is drawn whole
    page.get_by_test_id("stButtonGroup").get_by_text("Upload a checkpoint").click()
    expect(page.get_by_text("Upload a checkpoint to explore its generator")).to_be_visible(timeout=WAIT)
    before = peak_rss_mb(pid)
    upload(page, "huge.pt", hostile_checkpoint)
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("Cannot open huge.pt: g_hidden",
                                                                       timeout=WAIT)
    page.get_by_role("link", name="Train").click()
    page.get_by_text("Save, resume and export").click()
    upload(page, "huge.pt", hostile_checkpoint, index=-1)
    page.get_by_role("button", name="Resume from the upload").click()
    expect(page.get_by_test_id("stAlertContentError").filter(has_text="Cannot resume huge.pt")).to_contain_text(
        "g_hidden", timeout=WAIT)
    peak = peak_rss_mb(pid)
    print(f"\nserver peak memory (VmHWM) {before:.0f} MB before the hostile uploads, {peak:.0f} MB after")
    assert peak - before < PEAK_GROWTH_LIMIT_MB, f"the server's peak memory grew by {peak - before:.0f} MB"


def test_a_sessions_saves_go_when_its_tab_closes(browser, app_url: str):
    workspaces = Path(tempfile.gettempdir()) / "gan-playground-workspaces" / f"server-{server_pid(app_url)}"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.goto(app_url)
    tab.get_by_text("Save, resume and export").click()
    save = tab.get_by_role("button", name="Save checkpoint")
    expect(save).to_be_enabled(timeout=WAIT)
    before = set(workspaces.glob("*/saves/my-run.pt"))
    save.click()
    expect(tab.get_by_text("Saved my-run.pt")).to_be_visible(timeout=WAIT)
    [saved] = set(workspaces.glob("*/saves/my-run.pt")) - before
    context.close()
    deadline = time.monotonic() + 60
    while saved.parent.parent.exists():
        assert time.monotonic() < deadline, "the closed tab's workspace is still there"
        time.sleep(0.2)
