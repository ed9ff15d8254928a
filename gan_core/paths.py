"""Where the project's own files live: one home for the folders every module finds them in."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]       # the checkout: app.py, gan_core/, checkpoints/
CHECKPOINTS = ROOT / "checkpoints"                # the shipped models and the digit classifier
