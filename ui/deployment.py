"""The server owner's settings: where data lives, which image folders students may use, how much
memory a run may take, disk quotas.  Read from environment variables when the server starts;
nothing a browser sends can change them.

A student's config passes through ``server_config`` before anything is built from it: the paths
in it are the deployment's, and it must fit the per-run memory budget.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from gan_core.budget import check as check_budget
from gan_core.config import ConfigError, TrainConfig
from gan_core.paths import ROOT
from gan_core.runner import SLOTS

ENV = "GAN_PLAYGROUND_"
MB = 10**6   # decimal, as budget.format_bytes shows sizes
UPLOADS_LABEL = "my uploaded images"
POINTS_LABEL = "my uploaded points"
# A generator explored on the Latent page is built in the web server's process: it gets a budget
# of its own, far below a run's, so nothing large is ever built there.
LATENT_LIMIT_BYTES = 512 * MB


@dataclass(frozen=True)
class Deployment:
    data_dir: Path
    image_folders: dict[str, Path] = field(default_factory=dict)   # name shown -> folder
    run_memory_bytes: int = 1500 * MB
    workspaces: Path = Path(tempfile.gettempdir()) / "gan-playground-workspaces"
    session_quota_bytes: int = 200 * MB
    server_quota_bytes: int = 5000 * MB
    park_seconds: float = 300.0

    @property
    def max_runs(self) -> int:
        return SLOTS.limit


def _machine_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _number(name: str, default: float) -> float:
    raw = os.environ.get(ENV + name)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{ENV}{name}={raw!r} is not a number") from None


def _image_folders(raw: str) -> dict[str, Path]:
    """``name=/path;name=/path`` as the teacher writes it."""
    folders = {}
    for item in filter(None, (part.strip() for part in raw.split(";"))):
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise SystemExit(f"{ENV}IMAGE_FOLDERS: write name=/path;name=/path, not {item!r}")
        folders[name.strip()] = Path(path.strip()).expanduser().resolve()
    return folders


@cache
def deployment() -> Deployment:
    """This server's settings (read once)."""
    run_default = _machine_memory() / 2 / SLOTS.limit / MB
    return Deployment(
        data_dir=Path(os.environ.get(ENV + "DATA_DIR") or ROOT / "data").expanduser().resolve(),
        image_folders=_image_folders(os.environ.get(ENV + "IMAGE_FOLDERS", "")),
        run_memory_bytes=int(_number("RUN_MEMORY_MB", run_default) * MB),
        workspaces=Path(os.environ.get(ENV + "WORKSPACES") or Deployment.workspaces).expanduser(),
        session_quota_bytes=int(_number("SESSION_QUOTA_MB", 200) * MB),
        server_quota_bytes=int(_number("SERVER_QUOTA_MB", 5000) * MB),
        park_seconds=_number("PARK_SECONDS", 300),
    )


def server_config(config: TrainConfig, uploads: Path | None, limit_bytes: int | None = None,
                  points: Path | None = None) -> TrainConfig:
    """``config`` with the deployment's paths, checked against the run budget.

    The data directory is always the server's; an image folder is kept only when it is one the
    teacher allows or this session's own uploads, and a points file only when it is this
    session's uploaded one (``points``).  Raises ConfigError (a BudgetError for the budget)
    naming the field."""
    allowed = {str(p) for p in deployment().image_folders.values()}
    if uploads is not None:
        allowed.add(str(uploads))
    folder = config.image_folder if config.image_folder in allowed else ""
    if config.dataset == "folder" and not folder:
        raise ConfigError("image_folder", "upload images, or pick one of the class's image folders")
    points_file = config.points_file if points is not None and config.points_file == str(points) else ""
    if config.dataset == "points-file" and not points_file:
        raise ConfigError("points_file", "upload a CSV file of 2D points, x and y on each line")
    placed = config.replace(data_dir=str(deployment().data_dir), image_folder=folder,
                            points_file=points_file)
    check_budget(placed, deployment().run_memory_bytes if limit_bytes is None else limit_bytes)
    return placed


def folder_label(path: str, uploads: Path | None) -> str:
    """How an image folder is shown to students: by the teacher's name for it, never its path."""
    if uploads is not None and path == str(uploads):
        return UPLOADS_LABEL
    names = {str(p): name for name, p in deployment().image_folders.items()}
    return names.get(path, "—")


def points_label(path: str, points: Path | None) -> str:
    """How a points file is shown to students: as their upload, by the name they gave it."""
    return f"{POINTS_LABEL} ({points.name})" if points is not None and path == str(points) else "—"


def public_json(config: TrainConfig, uploads: Path | None, points: Path | None = None) -> str:
    """The config as JSON for the page, with server paths replaced by what students see."""
    shown = config.to_dict() | {"data_dir": "(the server's data directory)"}
    if config.image_folder:
        shown["image_folder"] = folder_label(config.image_folder, uploads)
    if config.points_file:
        shown["points_file"] = points_label(config.points_file, points)
    return json.dumps(shown, indent=2)
