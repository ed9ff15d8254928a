"""Images uploaded in the browser become an image folder the 'folder' dataset can read."""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from gan_core.data import images_from_files


def store_images(files: list[tuple[str, bytes]], size: int, channels: int,
                 previous: str | None = None) -> tuple[Path, list[str]]:
    """Write the files that are images to a new temporary folder; return it and the names
    skipped as non-images.  Raises DataError when none is an image.

    A new folder per upload matters: datasets are cached by folder path, so reusing one would
    keep training on the previous upload.  The previous upload's folder is removed.
    """
    _, skipped = images_from_files(files, size, channels)
    folder = Path(tempfile.mkdtemp(prefix="gan-playground-upload-"))
    for index, (name, data) in enumerate(files):
        if name not in skipped:
            safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name) or "image"
            (folder / f"{index:05d}-{safe}").write_bytes(data)
    if previous and Path(previous).name.startswith("gan-playground-upload-"):
        shutil.rmtree(previous, ignore_errors=True)
    return folder, skipped
