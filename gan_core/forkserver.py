"""The forkserver every run's process is forked from.

Torch-free on purpose: a server starts it before it imports PyTorch itself, so the forkserver's
imports and the server's overlap, and a cold server's first page is ready seconds sooner.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import threading

CONTEXT = multiprocessing.get_context("forkserver")
# Imported once by the forkserver, not again by each run (torch._dynamo: by its first optimiser).
PRELOAD = ("gan_core.run_process", "torch._dynamo")
CONTEXT.set_forkserver_preload(list(PRELOAD))
_started = threading.Event()


def start_forkserver(also_preload: tuple[str, ...] = ()) -> None:
    """Start the forkserver in the background, once, so the first run need not wait for its
    imports.  ``also_preload``: modules every child imports anyway (such as the server's main
    script's).  Without this, the first run starts it."""
    if _started.is_set():
        return
    _started.set()
    CONTEXT.set_forkserver_preload([*PRELOAD, *also_preload])
    threading.Thread(target=multiprocessing.forkserver.ensure_running, name="forkserver-start",
                     daemon=True).start()
