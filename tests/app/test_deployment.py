"""The classroom server's guards outside the browser: paths, the run budget, workspaces, quotas
and parking."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gan_core.budget import BudgetError
from gan_core.checkpoint import load_trainer
from gan_core.config import ConfigError, TrainConfig
from gan_core.presets import preset
from gan_core.runner import Runner, RunSlots
from ui.deployment import folder_label, public_json, server_config
from ui.session import RunHolder
from ui.workspace import QuotaError, Workspace, remove_leftovers


def test_a_browser_path_never_reaches_the_data_loader(classroom, tmp_path: Path):
    hostile = TrainConfig(dataset="folder", image_folder="/etc", data_dir="/")
    with pytest.raises(ConfigError) as refused:
        server_config(hostile, uploads=None)
    assert refused.value.field == "image_folder" and "/etc" not in str(refused.value)
    placed = server_config(preset("seed-001-mlp").replace(data_dir="/", image_folder="/etc"), uploads=None)
    assert placed.data_dir == str(classroom.data_dir) and placed.image_folder == ""


def test_allowed_folders_and_the_sessions_upload_are_shown_by_name_only(classroom, tmp_path: Path):
    allowed = str(classroom.image_folders["class"])
    uploads = tmp_path / "my-upload"
    for folder, label in ((allowed, "class"), (str(uploads), "my uploaded images")):
        config = server_config(TrainConfig(dataset="folder", image_folder=folder), uploads=uploads)
        assert config.image_folder == folder and folder_label(folder, uploads) == label
        shown = json.loads(public_json(config, uploads))
        assert shown["image_folder"] == label and str(tmp_path) not in json.dumps(shown)


def test_only_the_sessions_own_points_file_reaches_the_loader(classroom, tmp_path: Path):
    mine = tmp_path / "points" / "ab12" / "blobs.csv"
    hostile = TrainConfig(dataset="points-file", points_file="/etc/passwd", arch="mlp")
    for points in (None, mine):
        with pytest.raises(ConfigError) as refused:
            server_config(hostile, uploads=None, points=points)
        assert refused.value.field == "points_file" and "/etc" not in str(refused.value)
    placed = server_config(preset("toy-ring").replace(points_file="/etc/passwd"), uploads=None, points=mine)
    assert placed.points_file == ""
    config = server_config(preset("toy-ring", dataset="points-file", points_file=str(mine)), uploads=None, points=mine)
    assert config.points_file == str(mine)
    shown = json.loads(public_json(config, None, mine))
    assert shown["points_file"] == "my uploaded points (blobs.csv)" and str(tmp_path) not in json.dumps(shown)


@pytest.mark.parametrize("changes, field", [
    ({"g_hidden": [16384] * 6}, "g_hidden"),
    ({"d_hidden": [16384, 16384]}, "d_hidden"),
])
def test_an_over_budget_config_is_refused_naming_the_knob(classroom, changes: dict, field: str):
    with pytest.raises(BudgetError) as refused:
        server_config(preset("toy-ring", **changes), uploads=None, limit_bytes=1_500_000_000)
    assert refused.value.field == field and "this server allows 1.5 GB per run" in str(refused.value)


def test_the_session_quota_refuses_what_does_not_fit(classroom, tmp_path: Path):
    workspace = Workspace(tmp_path / "session")
    (workspace.saves / "a.pt").write_bytes(b"x" * 1000)
    workspace.make_room(classroom.session_quota_bytes - 2000)
    with pytest.raises(QuotaError, match="your workspace holds"):
        workspace.make_room(classroom.session_quota_bytes)
    workspace.make_room(classroom.session_quota_bytes - 1000, replacing=workspace.saves / "a.pt")
    workspace.remove()
    assert not workspace.folder.exists()


def test_a_starting_server_removes_what_stopped_servers_left(classroom):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    stale = classroom.workspaces / f"server-{ended.stdout.strip()}" / "abc"
    alive = classroom.workspaces / f"server-{os.getppid()}" / "abc"
    for folder in (stale, alive):
        Workspace(folder)
    assert remove_leftovers() == [stale.parent]
    assert alive.exists()


def in_process_run(config: TrainConfig, checkpoint: bytes | None = None) -> Runner:
    """A run on a thread of this process, as the app's runs are in their own (same behaviour)."""
    trainer = load_trainer(checkpoint) if checkpoint is not None else None
    return Runner(config, trainer=trainer, slots=RunSlots(1), live_metrics=None)


def test_an_unwatched_run_is_parked_and_resumes_where_it_was(tmp_path: Path):
    holder = RunHolder(tmp_path / "parked.pt")
    holder.replace(in_process_run(preset("toy-ring", batch_size=16)))
    runner = holder.current(in_process_run)
    runner.wait_for(lambda s: s.status == "paused")
    runner.play()
    runner.wait_for(lambda s: s.step >= 5)
    assert not holder.park_if_unwatched(after_seconds=60), "a run watched a moment ago stays"
    assert holder.park_if_unwatched(after_seconds=0)
    parked = holder.parked
    assert not runner.alive and parked.path.is_file() and parked.playing and parked.step >= 5
    resumed = holder.current(in_process_run)
    assert resumed is not runner and holder.parked is None and not parked.path.exists()
    snap = resumed.wait_for(lambda s: s.step > parked.step)
    assert snap.status == "running", snap.message
    holder.release()


def test_a_run_whose_browser_session_has_gone_is_stopped(tmp_path: Path):
    """A script run still under way when its tab closed can start a run after Streamlit released
    the session: the attendant's sweep stops it."""
    holder = RunHolder(tmp_path / "parked.pt", session_id="tab-1")
    holder.replace(in_process_run(preset("toy-ring", batch_size=16)))
    runner = holder.runner
    assert not holder.release_if_gone(lambda session: True) and runner.alive, "an open tab keeps its run"
    assert holder.release_if_gone(lambda session: session != "tab-1")
    assert not runner.alive and holder.runner is None
    late = in_process_run(preset("toy-ring", batch_size=16))
    holder.replace(late)       # a script run that had the holder before its release
    assert not late.alive and holder.runner is None


def test_a_run_that_cannot_be_parked_goes_on_playing(tmp_path: Path):
    holder = RunHolder(tmp_path / "gone" / "parked.pt")    # its folder is gone: the save fails
    holder.replace(in_process_run(preset("toy-ring", batch_size=16)))
    runner = holder.current(in_process_run)
    runner.wait_for(lambda s: s.status == "paused")
    runner.play()
    runner.wait_for(lambda s: s.step >= 1)
    with pytest.raises(FileNotFoundError):
        holder.park_if_unwatched(after_seconds=0)
    assert holder.parked is None and holder.current(in_process_run) is runner
    step = runner.snapshot.step
    assert runner.wait_for(lambda s: s.step > step).status == "running"
    holder.release()
