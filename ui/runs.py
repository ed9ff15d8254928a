"""The session's run: made, replaced and resumed in one place.

Every run of the app is made by ``make_runner``, so how runs train (in a process of their own,
with the refresh setting below) is decided once for all of them.
"""
from __future__ import annotations

from gan_core.checkpoint import trainer_bytes
from gan_core.config import TrainConfig
from gan_core.presets import preset
from gan_core.run_process import RunProcess, start_forkserver
from gan_core.trainer import Trainer
from ui.session import run_holder

# A 2D toy first: it trains fast on any CPU, and in its first minute it shows the whole game
# (D's landscape, G's gradient arrows, points finding the modes), while digits need minutes.
DEFAULT_PRESET = "toy-ring"
READY = ("paused", "running", "queued", "diverged")   # statuses in which a run takes commands


# The page refreshes twice a second; publishing snapshots more often would only cost training time.
PUBLISH_SECONDS = 0.5

# While the first page loads, not when its run starts.  Every run's process imports the server's
# main script again (multiprocessing's rule): `streamlit`'s imports Streamlit, 0.46 s a run.
start_forkserver(also_preload=("streamlit.web.cli",))


def make_runner(config: TrainConfig, checkpoint: bytes | None = None) -> RunProcess:
    """A run in its own process: it shares no GIL with the server's page refreshes."""
    return RunProcess(config, checkpoint=checkpoint, refresh_seconds=PUBLISH_SECONDS)


def session_runner() -> RunProcess:
    """This browser session's Runner, started on the default preset at the first visit."""
    holder = run_holder()
    if holder.runner is None:
        holder.replace(make_runner(preset(DEFAULT_PRESET)))
    return holder.runner


def start_run(config: TrainConfig) -> RunProcess:
    """A fresh run of ``config``; the session's previous run stops and frees its model."""
    run_holder().replace(make_runner(config))
    return run_holder().runner


def resume_run(trainer: Trainer) -> RunProcess:
    """Continue ``trainer`` (loaded from a checkpoint, which proved the file good) as the
    session's run: its process gets the trainer's state."""
    run_holder().replace(make_runner(trainer.config, trainer_bytes(trainer)))
    return run_holder().runner
