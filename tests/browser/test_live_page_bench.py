"""``python -m bench.live_page`` in a quick run: a real browser trains a preset with the page
open, the CLI trains it headless, and the figures are written.  Timings are not asserted."""
from __future__ import annotations

import json

import pytest

from bench import live_page
from bench.app_server import chromium_path


@pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_quick_live_page_benchmark_writes_every_figure(tmp_path, capsys) -> None:
    out = tmp_path / "live.json"
    assert live_page.main(["--presets", "toy-ring", "--seconds", "2", "--json", str(out)]) == 0
    assert "| toy-ring |" in capsys.readouterr().out
    (row,) = json.loads(out.read_text())["results"]
    assert row["first_chart_update_s"] > 0 and row["window_steps"] > 0
    assert row["page_steps_per_s"] > 0 and row["cli_steps"] >= 20 and row["app_threads"] >= 1
    assert row["cli_same_threads_steps_per_s"] > 0 and row["cli_default_threads_steps_per_s"] > 0
