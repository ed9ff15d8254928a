"""``bench.live_page`` and ``bench.watch_cost`` in quick runs: every figure is measured and
written.  Timings are not asserted."""
from __future__ import annotations

import json

from bench import app_server, live_page, watch_cost


def test_quick_live_page_benchmark_writes_every_figure(browser, app_url, tmp_path, capsys) -> None:
    out = tmp_path / "live.json"
    live_page.report(live_page.measure(browser, app_url, ["toy-ring"], seconds=1, rounds=1), out)
    assert "| toy-ring |" in capsys.readouterr().out
    (row,) = json.loads(out.read_text())["results"]
    assert row["first_chart_update_s"] > 0 and row["window_steps"] > 0
    assert len(row["page_rounds"]) == len(row["cli_rounds"]) == 1 and row["app_threads"] >= 1
    assert min(row["page_rounds"]) > 0 and min(row["cli_rounds"]) > 0
    assert row["page_cost"] == round(1 - row["page_steps_per_s"] / row["cli_same_threads_steps_per_s"], 3)
    for phase in ("page", "cli"):
        assert len(row[f"{phase}_stolen_rounds"]) == 1 and all(0 <= s <= 1 for s in row[f"{phase}_stolen_rounds"])


def test_quick_watch_cost_benchmark_measures_the_server(browser, app_url) -> None:
    servers = {"app": (app_url, app_server.server_pid(app_url))}
    row = watch_cost.measure_preset(browser, servers, "toy-ring", tabs=1, seconds=1, rounds=1)
    (cost,) = row["cpu_per_tab"]["app"]
    assert row["refreshes_per_s"]["app"][0] > 0 and cost >= 0   # a short window may fall within one clock tick
    assert set(row["ratio_to_first"]) == {"app"}
    assert "| toy-ring | " in watch_cost.table([row])

