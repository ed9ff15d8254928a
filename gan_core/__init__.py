"""GAN Playground's engine: plain PyTorch, no UI.

    from gan_core import preset, Trainer
    trainer = Trainer(preset("dcgan-small", steps=500))
    for _ in range(500):
        trainer.step()
    images = trainer.sample(16)       # (16, 1, 28, 28) in [-1, 1]
    trainer.save("runs/dcgan.pt")
"""
from .config import ConfigError, TrainConfig
from .data import DataError
from .errors import CheckpointError, DivergenceError, GanCoreError
from .presets import PRESETS, preset
from .trainer import History, Trainer

__all__ = ["TrainConfig", "Trainer", "History", "preset", "PRESETS", "ConfigError",
           "CheckpointError", "DataError", "DivergenceError", "GanCoreError"]
