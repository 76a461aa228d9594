"""``abnrl train``: train an agent on an Atari game, resumable, with logs and evaluations."""

from abnrl.training.config import TrainConfig
from abnrl.training.trainer import run

__all__ = ["TrainConfig", "run"]
