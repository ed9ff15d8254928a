"""``bench.step_latency`` in a quick run: every button is clicked and timed.  Timings are not
asserted."""
from __future__ import annotations

from bench import step_latency
from ui.runs import DEFAULT_PRESET


def test_quick_step_latency_benchmark_times_every_button(browser, app_url) -> None:
    rows = step_latency.measure(browser, app_url, DEFAULT_PRESET, clicks=1)
    assert [row["button"] for row in rows] == list(step_latency.BUTTONS)
    for row in rows:
        assert len(row["latencies_s"]) == 1 and 0 < row["median_s"] <= row["p95_s"] <= row["max_s"]
    assert "| Step D | toy-ring | 1 |" in step_latency.table(rows)
