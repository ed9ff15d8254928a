"""GAN Playground's engine: plain PyTorch, no UI.

    from gan_core import preset, Trainer
    trainer = Trainer(preset("dcgan-small", steps=500))
    for _ in range(500):
        trainer.step()
    images = trainer.sample(16)       # (16, 1, 28, 28) in [-1, 1]
    trainer.save("runs/dcgan.pt")
"""
from importlib import import_module
from typing import Any

# Name -> its module.  Loaded on first use, so the package's torch-free parts (the forkserver a
# server starts first of all, the config) can be imported without loading PyTorch.
_HOMES = {"TrainConfig": "config", "ConfigError": "config", "DataError": "data", "CheckpointError": "errors",
          "DivergenceError": "errors", "GanCoreError": "errors", "PRESETS": "presets", "preset": "presets",
          "History": "trainer", "Trainer": "trainer"}
__all__ = list(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOMES[name]}", __name__), name)
