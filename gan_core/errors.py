"""Typed errors of the engine.  Each carries one human sentence that a page can show as is."""
from __future__ import annotations


class GanCoreError(Exception):
    """Base of every error gan_core raises on purpose."""


class DataError(GanCoreError):
    """A data source cannot be loaded; the message is one human sentence."""


class CheckpointError(GanCoreError):
    """A checkpoint file is missing, truncated, corrupt, foreign or unsafe."""


class DivergenceError(GanCoreError):
    """A loss became NaN or infinite; the trainer has rolled back to its last good state."""

    def __init__(self, message: str, step: int, rolled_back_to: int):
        super().__init__(message)
        self.step = step
        self.rolled_back_to = rolled_back_to
