"""``bench.classroom`` in a quick run (its ``--quick`` sizes): two students on the session's server,
every figure measured and sane (both render, both runs advance, no run process outlives its tab).
Timings are not asserted."""
from __future__ import annotations

from bench import classroom


def test_quick_classroom_benchmark_measures_every_figure(browser, app_url) -> None:
    seconds = classroom.QUICK_SECONDS
    result = classroom.measure_class(browser, app_url, classroom.QUICK_STUDENTS, seconds,
                                     classroom.DEFAULT_PRESETS, fair_span=seconds / 2)
    report = classroom.report(result)
    assert "| measure (s) | median |" in report and "per session" in report
    rows, costs = result["rows"], result["costs"]
    assert len(rows) == result["students"] == 2 and result["failed"] == 0
    for row in rows:
        assert 0 < row["first_render_s"] <= row["play_ready_s"], row
        assert row["play_to_answer_s"] >= 0 and row["first_answer"] in ("running", "queued", "waiting"), row
        assert row["advanced"] and row["fair_steps"] > 0, row
    (pauser,) = [row for row in rows if row["pauser"]]
    assert pauser["pause_to_paused_s"] >= 0 and pauser["replay_to_answer_s"] >= 0
    assert result["advanced"] == 2
    assert result["close"]["left"] == 0 and 0 <= result["close"]["run_processes_gone_s"] < 30
    assert costs["server_cores"] > 0 and 0 < costs["streamlit_share_of_server"] <= 1 and costs["browser_cores"] > 0
    assert costs["run_processes_end"] == 2 and costs["server_pss_end_mb"] > costs["server_pss_before_mb"] > 0
    assert result["machine"]["cores"] >= 1 and result["machine"]["cpu"]
