"""ale-py's threaded C++ vector environment as a Stable-Baselines3 ``VecEnv``.

The C++ side does frame skipping, max-pooling, grayscale, resizing and frame
stacking for all games in parallel threads. It is asked for raw rewards and no
life-loss endings: the protocol (clipping, life loss) is applied on top by
``envs.protocol.ProtocolVecEnv``, the same code for every backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ale_py.vector_env import AtariVectorEnv
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from envs.games import FRAME_SKIP, MAX_EPISODE_FRAMES, Protocol


class ALEVecEnv(VecEnv):
    """``n_envs`` copies of one game stepped by ale-py's ``AtariVectorEnv``.

    Each ``info`` holds ``lives``; finished games carry ``terminal_observation``
    and ``TimeLimit.truncated`` as SB3 expects, and the env resets in the same step.
    """

    def __init__(self, game: str, n_envs: int, *, protocol: Protocol, num_threads: int = 0) -> None:
        self._ale = AtariVectorEnv(
            game,
            n_envs,
            num_threads=num_threads,
            max_num_frames_per_episode=MAX_EPISODE_FRAMES,
            repeat_action_probability=protocol.sticky_action_probability,
            autoreset_mode=AutoresetMode.SAME_STEP,
            frameskip=FRAME_SKIP,
            noop_max=protocol.noop_max,
            episodic_life=False,
            reward_clipping=False,
            use_fire_reset=False,
        )
        self.render_mode = None
        super().__init__(n_envs, self._ale.single_observation_space, self._ale.single_action_space)
        self._actions = np.zeros(n_envs, dtype=np.int64)

    def reset(self) -> np.ndarray:
        seeds = None if self._seeds[0] is None else np.asarray(self._seeds, dtype=np.int64)
        obs, info = self._ale.reset(seed=seeds)
        self.reset_infos = [{"lives": int(lives)} for lives in info["lives"]]
        self._reset_seeds()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, terminated, truncated, info = self._ale.step(self._actions)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{"lives": int(lives)} for lives in info["lives"]]
        for i in np.flatnonzero(dones):
            infos[i]["terminal_observation"] = info["final_obs"][i].copy()
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self._ale.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        if attr_name == "render_mode":
            return [None for _ in self._get_indices(indices)]
        raise AttributeError(f"ALEVecEnv's games have no attribute {attr_name!r}.")

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(f"ALEVecEnv's games have no settable attribute {attr_name!r}.")

    def env_method(self, method_name: str, *args, indices: VecEnvIndices = None, **kwargs):
        raise AttributeError(f"ALEVecEnv's games have no method {method_name!r}.")

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]
