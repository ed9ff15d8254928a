"""Save, resume and export: checkpoints in the session's private workspace and as downloads.

A student saves into their own workspace (gone with their session) and downloads from it; the
shipped checkpoints can be resumed but never replaced.  Files are read with
``gan_core.checkpoint`` only (``weights_only`` loading, every shape checked before anything is
built): an uploaded file is never unpickled, and a wrong, damaged, foreign or oversized file gets
a one-sentence message.
"""
from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from gan_core.errors import GanCoreError
from gan_core.runner import Commands
from gan_core.paths import CHECKPOINTS
from gan_core.ship import SHIPPED
from ui.config_form import show_resumed
from ui.deployment import MB, deployment, public_json
from ui.notices import notify, show_notices
from ui.runs import resume_run
from ui.uploads import current_points, current_upload
from ui.workspace import Workspace, session_workspace

MAX_UPLOAD_MB = 50
SHIPPED_PREFIX = "shipped: "


def checkpoint_name(text: str) -> str:
    """A safe file name from what the user typed: letters, digits, '-', '_' and '.', ending .pt.
    Raises ValueError when nothing usable is left."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-.")[:64].removesuffix(".pt")
    if not stem:
        raise ValueError("Name the checkpoint with letters, digits, '-', '_' or '.'.")
    return f"{stem}.pt"


def checkpoint_panel(runner: Commands) -> None:
    workspace = session_workspace()
    with st.expander("Save, resume and export", icon=":material/save:"):
        show_notices("checkpoint")
        save, resume, export = st.columns(3)
        ready = runner.alive and runner.snapshot.status.ready
        with save:
            _save(runner, ready, workspace)
        with resume:
            _resume(workspace)
        with export:
            st.markdown("**Export**")
            st.download_button("Download history (CSV)", data=runner.history_csv, file_name="history.csv",
                               mime="text/csv", on_click="ignore", disabled=not ready, key="export_csv",
                               help="Every step's losses and D outputs, one row per step.")
            _saved_files(workspace)
    with st.expander("Running config (JSON)", icon=":material/data_object:"):
        st.caption("Exactly what the current run uses: the same fields the CLI takes with --set.")
        st.code(public_json(runner.config, current_upload(workspace), current_points(workspace)),
                language="json")


def _save(runner: Commands, ready: bool, workspace: Workspace) -> None:
    st.markdown("**Save**")
    quota = deployment().session_quota_bytes / MB
    text = st.text_input("Checkpoint name", value="my-run", key="ckpt_name",
                         help=f"Saved in your private workspace (up to {quota:.0f} MB, kept until you "
                              "close the tab): download it to keep it. Letters, digits, - _ . only.")
    replace = st.checkbox("Replace a save of that name", key="ckpt_replace",
                          help="Otherwise an existing save is never overwritten.")
    if st.button("Save checkpoint", key="save_ckpt", disabled=not ready,
                 help="G, D, both optimisers, the config, the history and the RNG state: resuming "
                      "continues exactly where the run is now."):
        try:
            _save_to(runner, workspace, checkpoint_name(text), replace)
        except (ValueError, GanCoreError, OSError) as exc:
            st.error(str(exc))
    try:
        file_name = checkpoint_name(text)
    except ValueError:
        file_name = "checkpoint.pt"
    st.download_button("Download checkpoint", data=runner.checkpoint_bytes, file_name=file_name,
                       mime="application/octet-stream", on_click="ignore", disabled=not ready,
                       key="download_ckpt", help="The run's checkpoint as a file on your computer.")


def _save_to(runner: Commands, workspace: Workspace, name: str, replace: bool) -> None:
    path = workspace.saves / name
    if path.exists() and not replace:
        raise ValueError(f"You already saved {name}: pick another name or tick 'Replace'.")
    data = runner.checkpoint_bytes()
    workspace.make_room(len(data), replacing=path)
    path.write_bytes(data)
    st.success(f"Saved {name} at step {runner.snapshot.step:,} in your workspace.")


def _saved_files(workspace: Workspace) -> None:
    for path in workspace.saved():
        st.download_button(f"Download {path.name}", data=path.read_bytes(), file_name=path.name,
                           mime="application/octet-stream", on_click="ignore", key=f"saved:{path.name}")


def _resume_choices(workspace: Workspace) -> list[str]:
    shipped = [f"{SHIPPED_PREFIX}{name}" for name in SHIPPED if (CHECKPOINTS / f"{name}.pt").is_file()]
    return [*shipped, *(path.name for path in workspace.saved())]


def _resume(workspace: Workspace) -> None:
    st.markdown("**Resume**")
    choices = _resume_choices(workspace)
    chosen = st.selectbox("Checkpoint", choices, index=None, key="resume_file",
                          placeholder="pick a checkpoint",
                          help="The models shipped with the app (read-only) and the ones you saved.")
    st.button("Resume from this checkpoint", key="resume_file_button", disabled=chosen is None,
              on_click=_resume_from, args=("file",),
              help="Replaces the current run with the checkpoint's, exactly where it stopped.")
    upload = st.file_uploader("…or upload a checkpoint", key="resume_upload", max_upload_size=MAX_UPLOAD_MB,
                              help=f"A .pt file saved by GAN Playground, at most {MAX_UPLOAD_MB} MB "
                                   "(it is never unpickled).")
    st.button("Resume from the upload", key="resume_upload_button", disabled=upload is None,
              on_click=_resume_from, args=("upload",))


def _checkpoint_file(choice: str, workspace: Workspace) -> Path:
    """The file behind a resume choice: only ever a shipped model or one of the session's saves."""
    if choice.startswith(SHIPPED_PREFIX):
        name = choice.removeprefix(SHIPPED_PREFIX)
        if name in SHIPPED:
            return CHECKPOINTS / f"{name}.pt"
    saves = {path.name: path for path in workspace.saved()}
    if choice in saves:
        return saves[choice]
    raise ValueError(f"{choice} is no longer there.")


def _resume_from(source: str) -> None:
    try:
        if source == "file":
            name = st.session_state["resume_file"]
            path = _checkpoint_file(name, session_workspace())
            file_name, data = path.name, path.read_bytes()
        else:
            upload = st.session_state["resume_upload"]
            name, data = upload.name, upload.getvalue()
            file_name = name
        _, step = resume_run(data)
    except (GanCoreError, ValueError, OSError) as exc:
        notify("error", f"Cannot resume {name}: {exc}", "checkpoint")
        return
    show_resumed(file_name, step)
    notify("success", f"Resumed {name} at step {step:,}.", "checkpoint")
