"""The session's run: made, replaced, resumed and un-parked in one place.

Every run of the app is made by ``make_runner``, so how runs train (in a process of their own,
with the refresh setting below) is decided once for all of them, and every config reaches it
through ``ui.deployment.server_config`` (the server's paths, the run budget) first.
"""
from __future__ import annotations

from typing import Sequence

from gan_core.checkpoint import inspect_checkpoint
from gan_core.config import ConfigError, TrainConfig
from gan_core.presets import preset
from gan_core.run_process import RunProcess
from gan_core.runner import Commands
from gan_core.trainer import resolve_device
from ui.deployment import deployment, server_config
from ui.session import comparison_holder, run_holder, start_attendant
from ui.uploads import current_points, current_upload
from ui.workspace import session_workspace

# A 2D toy first: it trains fast on any CPU, and in its first minute it shows the whole game
# (D's landscape, G's gradient arrows, points finding the modes), while digits need minutes.
DEFAULT_PRESET = "toy-ring"
# The page refreshes twice a second; publishing snapshots more often would only cost training time.
PUBLISH_SECONDS = 0.5


def make_runner(config: TrainConfig | Sequence[TrainConfig], checkpoint: bytes | None = None) -> RunProcess:
    """A run (or a comparison) in its own process: it shares no GIL with the server's page refreshes."""
    return RunProcess(config, checkpoint=checkpoint, refresh_seconds=PUBLISH_SECONDS)


def placed(config: TrainConfig, share: int = 1) -> TrainConfig:
    """``config`` as this server runs it: its paths, within its budget (ConfigError otherwise).
    A comparison's variants each get ``1/share`` of one run's budget: together they are one run."""
    limit = deployment().run_memory_bytes // share
    workspace = session_workspace()
    return server_config(config, current_upload(workspace), limit_bytes=limit,
                         points=current_points(workspace))


def current_runner() -> Commands | None:
    """This session's run, if one was started (resumed first if it was parked)."""
    start_attendant()
    return run_holder().current(make_runner)


def unparked_runner() -> Commands | None:
    """This session's run if it is not parked, without counting as a look at it: another page
    asking about it must not wake a parked run (and make it train unwatched)."""
    return run_holder().runner


def session_runner() -> Commands:
    """This browser session's run, started on the default preset at the first visit."""
    runner = current_runner()
    if runner is None:
        runner = start_run(preset(DEFAULT_PRESET))
    return runner


def start_run(config: TrainConfig) -> Commands:
    """A fresh run of ``config``; the session's previous run stops and frees its model.
    Raises ConfigError when the config does not fit this server."""
    run_holder().replace(make_runner(placed(config)))
    return run_holder().runner


def checkpoint_overrides() -> dict[str, str]:
    """What replaces a checkpoint's stored paths: the server's data directory, this session's
    uploaded images (or its empty upload folder) for an image folder, and its uploaded points
    file (or none) for a points file."""
    workspace = session_workspace()
    return {"data_dir": str(deployment().data_dir),
            "image_folder": str(current_upload(workspace) or workspace.uploads),
            "points_file": str(current_points(workspace) or "")}


def resume_run(data: bytes) -> tuple[Commands, int]:
    """Continue the checkpoint ``data`` as the session's run; return it and its step.

    The file is checked here (its config against the budget, its tensors against that config)
    without building anything; the run's own process builds the model.  Raises GanCoreError."""
    info = inspect_checkpoint(data, overrides=checkpoint_overrides(),
                              limit_bytes=deployment().run_memory_bytes)
    config = placed(info.config)
    try:
        resolve_device(config.device)
    except ConfigError:      # saved on a device this server lacks (say a GPU): the best one here
        config = config.replace(device="auto")
    run_holder().replace(make_runner(config, data))
    return run_holder().runner, info.step


def current_comparison() -> Commands | None:
    """This session's comparison, if one was started (resumed first if it was parked)."""
    start_attendant()
    return comparison_holder().current(make_runner)


def start_comparison(configs: Sequence[TrainConfig], checkpoint: bytes | None = None) -> Commands:
    """A comparison of ``configs`` in lockstep, from step 0 or from ``checkpoint`` (a run's, for a
    fork); the session's previous comparison stops.  Raises GanCoreError when it does not fit."""
    comparison_holder().replace(make_runner([placed(c, share=len(configs)) for c in configs], checkpoint))
    return comparison_holder().runner
