"""How many CPU threads torch may use: the one place this is decided, for the app and the CLI.

On a small shared CPU, more OpenMP threads than free cores is the worst choice there is: the
threads wait for each other at every op, and a toy run on 2 cores with one core busy trained ~40x
slower at torch's default of 2 threads than at 1 (docs/performance.md).  So every caller keeps
one core free, for the web server or for whatever else runs on the machine, and shares the rest.
"""
from __future__ import annotations

import os

OMP_ENV = "OMP_NUM_THREADS"


def cpu_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one, else all)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:            # macOS and Windows have no affinity mask
        return os.cpu_count() or 1


def training_threads(runs_at_once: int = 1) -> int:
    """Threads for each of ``runs_at_once`` runs training side by side: one core stays free and
    the runs share the others, at least one thread each."""
    return max(1, (cpu_cores() - 1) // max(1, runs_at_once))


def cli_threads(requested: int | None = None) -> int:
    """The command line's thread count: ``--threads`` when given, else OMP_NUM_THREADS when the
    user set it, else ``training_threads()``."""
    if requested:
        return requested
    from_env = os.environ.get(OMP_ENV, "")
    return int(from_env) if from_env.isdigit() and int(from_env) > 0 else training_threads()
