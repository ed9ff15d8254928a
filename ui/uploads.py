"""Files uploaded in the browser, kept in the session's workspace: images become an image folder
(which the 'folder' dataset reads), a CSV of 2D points becomes the 'points-file' dataset's file.

Each upload replaces the previous one of its kind, in a new folder: datasets are cached by path,
so reusing one would keep training on the previous upload."""
from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

from gan_core.data import images_from_files
from gan_core.point_files import read_points
from ui.workspace import Workspace, folder_size


def store_images(files: list[tuple[str, bytes]], size: int, channels: int,
                 workspace: Workspace) -> tuple[Path, list[str]]:
    """Write the files that are images to a new folder of the workspace; return it and the names
    skipped as non-images.  Raises DataError when none is an image, QuotaError when they do not
    fit the workspace."""
    _, skipped = images_from_files(files, size, channels)
    kept = [(name, data) for name, data in files if name not in skipped]
    folder = _fresh_folder(workspace.uploads, sum(len(data) for _, data in kept), workspace)
    for index, (name, data) in enumerate(kept):
        (folder / f"{index:05d}-{safe_name(name, 'image')}").write_bytes(data)
    return folder, skipped


def store_points(name: str, data: bytes, workspace: Workspace) -> tuple[Path, int]:
    """Keep a CSV of 2D points as the session's points file; return its path and how many points
    it holds.  Raises DataError (naming the file and the line) when it is not one, QuotaError
    when it does not fit the workspace."""
    name = safe_name(name, "points.csv")
    points, _ = read_points(data, name)   # refused here, before it takes any room
    path = _fresh_folder(workspace.points, len(data), workspace) / name
    path.write_bytes(data)
    return path, len(points)


def _fresh_folder(parent: Path, size: int, workspace: Workspace) -> Path:
    """A new, empty folder under ``parent`` for ``size`` bytes, in place of the ones there."""
    previous = list(parent.iterdir())
    workspace.make_room(size - sum(folder_size(p) for p in previous))
    for old in previous:
        shutil.rmtree(old, ignore_errors=True)
    folder = parent / uuid.uuid4().hex[:12]
    folder.mkdir()
    return folder


def safe_name(name: str, default: str) -> str:
    """An uploaded file's own name, reduced to characters safe in a path and in a message."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).lstrip(".") or default


def current_upload(workspace: Workspace) -> Path | None:
    """The session's uploaded image folder, if it has one."""
    return next((p for p in workspace.uploads.iterdir() if p.is_dir()), None)


def current_points(workspace: Workspace) -> Path | None:
    """The session's uploaded points file, if it has one."""
    return next(workspace.points.glob("*/*"), None)
