"""The game protocol on top of any Atari ``VecEnv``: true scores, life loss, reward clipping.

One wrapper for every backend, so training on ``"ale"`` and on ``"gymnasium"``
follows the same rules (Mnih et al., 2015):

* every finished game (all lives) reports its true, unclipped score, its
  length in agent steps and the seconds since the wrapper started as
  ``info["episode"] = {"r", "l", "t"}`` (SB3's Monitor form), and the game's score
  at each life it lost before its last as ``info["episode"]["lives_lost_at"]``;
* when training, a lost life ends the learning episode (the game itself goes
  on; the next transition starts from the same observation) and rewards are
  clipped to their sign;
* when evaluating, neither happens.
"""

from __future__ import annotations

import time
from typing import cast

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvObs,
    VecEnvStepReturn,
    VecEnvWrapper,
)

_UNKNOWN_LIVES = -1  # compares as "no life lost"


class ProtocolVecEnv(VecEnvWrapper):
    """Scores games and applies the training or evaluation rules.

    The wrapped env must put ``lives`` into every step's info and reset finished
    games itself, as SB3 vector envs do.

    Args:
        venv: the raw env (unclipped rewards, games end only when over).
        training: end learning episodes on life loss and clip rewards.
    """

    def __init__(self, venv: VecEnv, *, training: bool) -> None:
        super().__init__(venv)
        self.training = training
        self._scores = np.zeros(self.num_envs, dtype=np.float64)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)
        self._lives = np.full(self.num_envs, _UNKNOWN_LIVES, dtype=np.int64)
        self._lives_lost_at: list[list[float]] = [[] for _ in range(self.num_envs)]
        self._t_start = time.time()

    def reset(self) -> VecEnvObs:
        obs = self.venv.reset()
        self._scores[:] = 0.0
        self._lengths[:] = 0
        self._lives[:] = _UNKNOWN_LIVES
        self._lives_lost_at = [[] for _ in range(self.num_envs)]
        return obs

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, game_over, infos = self.venv.step_wait()
        self._scores += rewards
        self._lengths += 1
        lives = np.array([info["lives"] for info in infos], dtype=np.int64)
        # A new game's lives are only known one step later; it cannot lose one in between.
        # The last life reaches 0 a few frames before the game reports its end: not a loss.
        life_lost = (lives < self._lives) & (lives > 0) & ~game_over
        self._lives = np.where(game_over, _UNKNOWN_LIVES, lives)
        for i in np.flatnonzero(life_lost):
            self._lives_lost_at[i].append(float(self._scores[i]))
        for i in np.flatnonzero(game_over):
            infos[i]["episode"] = {
                "r": float(self._scores[i]),
                "l": int(self._lengths[i]),
                "t": round(time.time() - self._t_start, 6),
                "lives_lost_at": self._lives_lost_at[i],
            }
            self._scores[i] = 0.0
            self._lengths[i] = 0
            self._lives_lost_at[i] = []
        if not self.training:
            return obs, rewards, game_over, infos
        for i in np.flatnonzero(life_lost):
            infos[i]["terminal_observation"] = cast(np.ndarray, obs)[i].copy()  # Atari frames
            infos[i]["TimeLimit.truncated"] = False
        return obs, np.sign(rewards).astype(np.float32), game_over | life_lost, infos
