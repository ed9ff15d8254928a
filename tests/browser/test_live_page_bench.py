"""``bench.live_page`` in a quick run: the browser trains a preset with the page open, the CLI
trains it headless, twice each in turn, and the figures are written.  Timings are not asserted."""
from __future__ import annotations

import json

from bench import live_page


def test_quick_live_page_benchmark_writes_every_figure(browser, app_url, tmp_path, capsys) -> None:
    out = tmp_path / "live.json"
    live_page.report(live_page.measure(browser, app_url, ["toy-ring"], seconds=2, rounds=2), out)
    assert "| toy-ring |" in capsys.readouterr().out
    (row,) = json.loads(out.read_text())["results"]
    assert row["first_chart_update_s"] > 0 and row["window_steps"] > 0
    assert len(row["page_rounds"]) == len(row["cli_rounds"]) == 2 and row["app_threads"] >= 1
    assert min(row["page_rounds"]) > 0 and min(row["cli_rounds"]) > 0
    assert row["page_cost"] == round(1 - row["page_steps_per_s"] / row["cli_same_threads_steps_per_s"], 3)
