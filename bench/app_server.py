"""A real ``streamlit run app.py`` on a free localhost port, and Debian's Chromium to look at it.

Shared by the browser tests and ``bench.live_page``: both need the app exactly as a user starts
it, offline, and a headless browser with the flags CI allows."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gan_core.paths import ROOT

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
START_SECONDS = 60


class AppDidNotStart(RuntimeError):
    """The server exited or never answered its health check."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_path() -> str | None:
    """$CHROMIUM, else Debian's chromium on the PATH (``.ci/run`` installs it)."""
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def launched_chromium(core: int | None = None) -> Iterator:
    """Debian's headless Chromium under Playwright; with ``core``, confined to that one CPU core.
    Playwright's driver process is what launches Chromium, so the driver must start on the core
    (a process inherits its parent's cores); the caller's own thread gets every core back."""
    from playwright.sync_api import sync_playwright
    executable = chromium_path()
    if executable is None:
        raise SystemExit("error: no chromium found (apt-get install chromium, or set $CHROMIUM)")
    cores = os.sched_getaffinity(0)
    if core is not None:
        os.sched_setaffinity(0, {core})
    try:
        playwright = sync_playwright().start()
    finally:
        os.sched_setaffinity(0, cores)
    try:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@contextmanager
def running_app(log_path: Path, root: Path = ROOT) -> Iterator[str]:
    """Start the app in ``root`` offline, poll its health endpoint until it answers, yield its
    URL, stop it."""
    port = free_port()
    env = {**os.environ, "GAN_PLAYGROUND_OFFLINE": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
           "PYTHONPATH": str(root)}
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_healthy(server, url, log_path)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_until_healthy(server: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise AppDidNotStart(f"streamlit did not start; see {log_path}")
        time.sleep(0.2)


def server_pid(url: str) -> int:
    """The streamlit process serving ``url`` (found by its port in /proc)."""
    port = url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(args) and port.encode() in args:
            return int(proc.name)
    raise LookupError(f"no streamlit process on port {port}")
