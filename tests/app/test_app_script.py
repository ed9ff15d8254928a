"""app.py, run again in each training process."""
from __future__ import annotations

import subprocess
import sys

from bench.app_server import ROOT


def test_the_app_script_draws_nothing_when_a_run_process_runs_it_again():
    """multiprocessing runs the server's main script (app.py, under Streamlit) again in every run's
    process, as __mp_main__.  Drawing there logged five 'missing ScriptRunContext' warnings into
    the user's terminal per run."""
    rerun = subprocess.run([sys.executable, "-c", "import runpy; runpy.run_path('app.py', run_name='__mp_main__')"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "ScriptRunContext" not in rerun.stderr
