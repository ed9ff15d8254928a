"""Each browser session's private folder for its saves, uploads and parked run.

Workspaces live under ``<workspaces>/server-<pid>/<session>``: a session sees only its own, the
folder goes when the session ends, and a starting server removes what servers no longer running
left behind (several servers may share the disk behind one load balancer).
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import streamlit as st

from gan_core.errors import GanCoreError
from ui.deployment import MB, deployment


class QuotaError(GanCoreError):
    """Saving or uploading would exceed the session's or the server's disk quota."""


def folder_size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass   # removed meanwhile
    return total


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def server_folder() -> Path:
    return deployment().workspaces / f"server-{os.getpid()}"


def remove_leftovers() -> list[Path]:
    """Remove the workspaces of servers that are no longer running; return what was removed."""
    root, removed = deployment().workspaces, []
    if not root.is_dir():
        return removed
    for folder in root.glob("server-*"):
        pid = folder.name.removeprefix("server-")
        if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


class Workspace:
    """One session's folder: ``saves/`` (checkpoints the student saved), ``uploads/`` (images),
    ``points/`` (a CSV of 2D points) and a parked run."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.saves = folder / "saves"
        self.uploads = folder / "uploads"
        self.points = folder / "points"
        for sub in (self.saves, self.uploads, self.points):
            sub.mkdir(parents=True, exist_ok=True)

    @classmethod
    def new(cls) -> "Workspace":
        return cls(server_folder() / uuid.uuid4().hex)

    @property
    def parked(self) -> Path:
        return self.folder / "parked.pt"

    @property
    def parked_comparison(self) -> Path:
        return self.folder / "parked-comparison.pt"

    def used(self) -> int:
        return folder_size(self.folder)

    def make_room(self, size: int, replacing: Path | None = None) -> None:
        """Raise QuotaError when ``size`` more bytes (less the file they replace) do not fit."""
        size -= replacing.stat().st_size if replacing is not None and replacing.is_file() else 0
        settings = deployment()
        if self.used() + size > settings.session_quota_bytes:
            raise QuotaError(f"this needs {size / MB:.1f} MB more, and your workspace holds "
                             f"{self.used() / MB:.1f} of its {settings.session_quota_bytes / MB:.0f} MB: "
                             "delete a save first.")
        if folder_size(settings.workspaces) + size > settings.server_quota_bytes:
            raise QuotaError("the server's disk space for students' files is full: ask your teacher.")

    def saved(self) -> list[Path]:
        return sorted(self.saves.glob("*.pt"))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@st.cache_resource(show_spinner=False)
def clean_at_start() -> list[Path]:
    """Once per server process, before its first workspace: remove what earlier servers left."""
    return remove_leftovers()


@st.cache_resource(scope="session", on_release=Workspace.remove, show_spinner=False)
def session_workspace() -> Workspace:
    """This browser session's workspace; Streamlit removes it when the session ends."""
    clean_at_start()
    return Workspace.new()
