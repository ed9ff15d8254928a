"""The session's run: made, replaced and resumed in one place.

Every Runner of the app is made by ``make_runner``, so an engine hook (live metrics, a refresh
setting) is plugged in once for all of them.
"""
from __future__ import annotations

from gan_core.config import TrainConfig
from gan_core.presets import preset
from gan_core.runner import Runner
from gan_core.trainer import Trainer
from ui.session import run_holder

# A 2D toy first: it trains fast on any CPU, and in its first minute it shows the whole game
# (D's landscape, G's gradient arrows, points finding the modes), while digits need minutes.
DEFAULT_PRESET = "toy-ring"
READY = ("paused", "running", "queued", "diverged")   # statuses in which a run takes commands


# The page refreshes twice a second; publishing snapshots more often would only cost training time.
PUBLISH_SECONDS = 0.5


def make_runner(config: TrainConfig | None = None, trainer: Trainer | None = None) -> Runner:
    return Runner(config, trainer=trainer, refresh_seconds=PUBLISH_SECONDS)


def session_runner() -> Runner:
    """This browser session's Runner, started on the default preset at the first visit."""
    holder = run_holder()
    if holder.runner is None:
        holder.replace(make_runner(preset(DEFAULT_PRESET)))
    return holder.runner


def start_run(config: TrainConfig) -> Runner:
    """A fresh run of ``config``; the session's previous run stops and frees its model."""
    run_holder().replace(make_runner(config))
    return run_holder().runner


def resume_run(trainer: Trainer) -> Runner:
    """Continue ``trainer`` (loaded from a checkpoint) as the session's run."""
    run_holder().replace(make_runner(trainer=trainer))
    return run_holder().runner
