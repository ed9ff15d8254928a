"""``python -m bench.classroom --quick``: two students on one server, every figure measured and
sane (both render, both runs advance, no run process outlives its tab).  Timings are not asserted."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench import app_server


def test_quick_classroom_benchmark_measures_every_figure(app_url, tmp_path) -> None:
    # A child process: it starts a Playwright of its own (the session's browser fixture may hold
    # this process's only Playwright instance); it measures the session's server.
    if app_server.chromium_path() is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    out = tmp_path / "classroom.json"
    done = subprocess.run([sys.executable, "-m", "bench.classroom", "--quick", "--url", app_url, "--json", str(out)],
                          cwd=app_server.ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| measure (s) | median |" in done.stdout and "per session" in done.stdout
    result = json.loads(out.read_text())
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
