"""Images uploaded in the browser become an image folder in the session's workspace, which the
'folder' dataset reads."""
from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

from gan_core.data import images_from_files
from ui.workspace import Workspace, folder_size


def store_images(files: list[tuple[str, bytes]], size: int, channels: int,
                 workspace: Workspace) -> tuple[Path, list[str]]:
    """Write the files that are images to a new folder of the workspace; return it and the names
    skipped as non-images.  Raises DataError when none is an image, QuotaError when they do not
    fit the workspace.

    A new folder per upload matters: datasets are cached by folder path, so reusing one would
    keep training on the previous upload.  Earlier uploads are removed.
    """
    _, skipped = images_from_files(files, size, channels)
    kept = [(name, data) for name, data in files if name not in skipped]
    previous = list(workspace.uploads.iterdir())
    workspace.make_room(sum(len(data) for _, data in kept) - sum(folder_size(p) for p in previous))
    for old in previous:
        shutil.rmtree(old, ignore_errors=True)
    folder = workspace.uploads / uuid.uuid4().hex[:12]
    folder.mkdir()
    for index, (name, data) in enumerate(kept):
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name) or "image"
        (folder / f"{index:05d}-{safe}").write_bytes(data)
    return folder, skipped


def current_upload(workspace: Workspace) -> Path | None:
    """The session's uploaded image folder, if it has one."""
    return next((p for p in workspace.uploads.iterdir() if p.is_dir()), None)

