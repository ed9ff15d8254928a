"""Save, resume and export: checkpoints on the server (checkpoints/) and as downloads.

Files are read with ``gan_core.checkpoint`` only (``weights_only`` loading): an uploaded file is
never unpickled, and a wrong, damaged or foreign file gets the engine's one-sentence message.
"""
from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from gan_core.checkpoint import load_trainer
from gan_core.config import ConfigError
from gan_core.errors import GanCoreError
from gan_core.runner import Controls
from gan_core.trainer import Trainer
from ui.notices import notify, show_notices
from ui.runs import READY, resume_run

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


def checkpoint_name(text: str) -> str:
    """A safe file name from what the user typed: letters, digits, '-', '_' and '.', ending .pt.
    Raises ValueError when nothing usable is left."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-.")[:64].removesuffix(".pt")
    if not stem:
        raise ValueError("Name the checkpoint with letters, digits, '-', '_' or '.'.")
    return f"{stem}.pt"


def checkpoint_panel(runner: Controls) -> None:
    with st.expander("Save, resume and export", icon=":material/save:"):
        show_notices("checkpoint")
        save, resume, export = st.columns(3)
        ready = runner.alive and runner.snapshot.status in READY
        with save:
            _save(runner, ready)
        with resume:
            _resume()
        with export:
            st.markdown("**Export**")
            st.download_button("Download history (CSV)", data=runner.history_csv, file_name="history.csv",
                               mime="text/csv", on_click="ignore", disabled=not ready, key="export_csv",
                               help="Every step's losses and D outputs, one row per step.")
    with st.expander("Running config (JSON)", icon=":material/data_object:"):
        st.caption("Exactly what the current run uses: the same fields the CLI takes with --set.")
        st.code(runner.config.to_json(), language="json")


def _save(runner: Controls, ready: bool) -> None:
    st.markdown("**Save**")
    text = st.text_input("Checkpoint name", value="my-run", key="ckpt_name",
                         help="Saved as checkpoints/NAME.pt on the server (letters, digits, - _ . only).")
    replace = st.checkbox("Replace a file of that name", key="ckpt_replace",
                          help="Otherwise an existing checkpoint is never overwritten.")
    if st.button("Save checkpoint", key="save_ckpt", disabled=not ready,
                 help="G, D, both optimisers, the config, the history and the RNG state: resuming "
                      "continues exactly where the run is now."):
        try:
            path = CHECKPOINTS / checkpoint_name(text)
            if path.exists() and not replace:
                raise ValueError(f"{path.name} exists: pick another name or tick 'Replace'.")
            runner.save(path)
            st.success(f"Saved checkpoints/{path.name} at step {runner.snapshot.step:,}.")
        except (ValueError, GanCoreError, OSError) as exc:
            st.error(str(exc))
    try:
        file_name = checkpoint_name(text)
    except ValueError:
        file_name = "checkpoint.pt"
    st.download_button("Download checkpoint", data=runner.checkpoint_bytes, file_name=file_name,
                       mime="application/octet-stream", on_click="ignore", disabled=not ready,
                       key="download_ckpt", help="The same checkpoint as a file on your computer.")


def _resume() -> None:
    st.markdown("**Resume**")
    files = sorted(p.name for p in CHECKPOINTS.glob("*.pt"))
    chosen = st.selectbox("Checkpoint on the server", files, index=None, key="resume_file",
                          placeholder="pick a file" if files else "no checkpoints saved yet",
                          help="Checkpoints in checkpoints/: the shipped ones and those saved here.")
    st.button("Resume from this file", key="resume_file_button", disabled=chosen is None,
              on_click=_resume_from, args=("file",),
              help="Replaces the current run with the checkpoint's, exactly where it stopped.")
    upload = st.file_uploader("…or upload a checkpoint", key="resume_upload",
                              help="A .pt file saved by GAN Playground (it is never unpickled).")
    st.button("Resume from the upload", key="resume_upload_button", disabled=upload is None,
              on_click=_resume_from, args=("upload",))


def _resume_from(source: str) -> None:
    if source == "file":
        name = st.session_state["resume_file"]
        data: Path | bytes = CHECKPOINTS / name
    else:
        upload = st.session_state["resume_upload"]
        name, data = upload.name, upload.getvalue()
    try:
        trainer = _load(data)
    except GanCoreError as exc:
        notify("error", str(exc), "checkpoint")
        return
    resume_run(trainer)
    notify("success", f"Resumed {name} at step {trainer.step_count:,}.", "checkpoint")


def _load(data: Path | bytes) -> Trainer:
    """The checkpoint's Trainer; one saved for a device this machine lacks (say a GPU) is moved
    to the best device here."""
    try:
        return load_trainer(data)
    except ConfigError as exc:
        if exc.field != "device":
            raise
        return load_trainer(data, device="auto")
