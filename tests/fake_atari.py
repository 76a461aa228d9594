"""A stand-in for the Atari vector envs, for tests of agents and training code that do not
need the emulator: the spaces of ``envs.make_vec_env`` (uint8 stacks of 4 84x84 frames,
channels first; Breakout's 4 actions), seeded random frames, and short games that score
when the agent fires."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor

from agents.policy import OBSERVATION_SHAPE


class FakeAtari(gym.Env):
    """Random frames; a game lasts ``game_length`` steps; action 1 (FIRE) scores 1."""

    observation_space = gym.spaces.Box(0, 255, OBSERVATION_SHAPE, np.uint8)
    action_space = gym.spaces.Discrete(4)

    def __init__(self, game_length: int = 25) -> None:
        self.game_length = game_length
        self.steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.steps = 0
        return self._frames(), {"lives": 5}

    def step(self, action):
        self.steps += 1
        reward = float(action == 1)
        over = self.steps >= self.game_length
        return self._frames(), reward, over, False, {"lives": 0 if over else 5}

    def _frames(self) -> np.ndarray:
        return self.np_random.integers(0, 256, OBSERVATION_SHAPE, dtype=np.uint8)


def fake_vec_env(n_envs: int = 2, seed: int = 0) -> VecEnv:
    """``n_envs`` fake games, seeded ``seed``, ``seed + 1``, ..., with episode statistics."""
    env = VecMonitor(DummyVecEnv([FakeAtari] * n_envs))
    env.seed(seed)
    return env
