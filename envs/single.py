"""One Atari game as a gymnasium env: the agent's observation plus the full-colour frames.

The preprocessing is gymnasium's ``AtariPreprocessing`` (4-frame skip, max-pool
of the last two frames, grayscale, 84x84) and ``FrameStackObservation`` padded
with zeros, which gives the same observations as ale-py's C++ vector env.
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym
import numpy as np
from ale_py.env import AtariEnv
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

from envs.games import FRAME_SKIP, MAX_EPISODE_FRAMES, Protocol, get_protocol, normalize_game
from envs.spaces import discrete_actions

STACK = 4
SCREEN_SIZE = 84


def make_atari(
    game: str, protocol: Protocol, *, render_mode: Literal["human", "rgb_array"] | None = None
) -> AtariEnv:
    """The bare emulator of ``game``: one frame per step, RGB observations."""
    return AtariEnv(
        game=game,
        obs_type="rgb",
        frameskip=1,
        repeat_action_probability=protocol.sticky_action_probability,
        full_action_space=False,
        max_num_frames_per_episode=MAX_EPISODE_FRAMES,
        render_mode=render_mode,
    )


def action_count(game: str) -> int:
    """Size of ``game``'s minimal action set (4 for Breakout)."""
    return discrete_actions(make_atari(normalize_game(game), get_protocol("classic")).action_space)


def preprocess(env: gym.Env, protocol: Protocol) -> gym.Env:
    """Turn an emulator into the agent's view: uint8 (4, 84, 84) stacks."""
    env = AtariPreprocessing(
        env,
        noop_max=protocol.noop_max,
        frame_skip=FRAME_SKIP,
        screen_size=SCREEN_SIZE,
        terminal_on_life_loss=False,
        grayscale_obs=True,
        scale_obs=False,
    )
    return FrameStackObservation(env, STACK, padding_type="zero")


class _EmulatorFrames(gym.Wrapper):
    """Keeps the colour frame of every emulator step since ``clear()``."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.frames: list[np.ndarray] = []

    def reset(self, **kwargs) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        self.frames.append(obs)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.frames.append(obs)
        return obs, reward, terminated, truncated, info


class WithFrames(gym.Wrapper):
    """Adds ``info["frames"]``: the (k, 210, 160, 3) colour frames of this agent step.

    k is the frame skip (4), fewer when the game ends inside a step; after
    ``reset`` it is the frames of the no-op start.
    """

    def __init__(self, env: gym.Env, recorder: _EmulatorFrames) -> None:
        super().__init__(env)
        self._recorder = recorder

    def reset(self, **kwargs) -> tuple[Any, dict]:
        self._recorder.frames.clear()
        obs, info = self.env.reset(**kwargs)
        return obs, self._with_frames(info)

    def step(self, action):
        self._recorder.frames.clear()
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._with_frames(info)

    def _with_frames(self, info: dict) -> dict:
        return {**info, "frames": np.stack(self._recorder.frames)}


def emulator(env: gym.Env) -> AtariEnv:
    """The ALE env under ``make_env``'s wrappers (its RAM, its action names)."""
    atari = env.unwrapped
    if not isinstance(atari, AtariEnv):
        raise TypeError(f"Expected an Atari game, got {type(atari).__name__}.")
    return atari


def make_env(
    game: str = "breakout", *, protocol: str | Protocol = "classic", seed: int | None = None
) -> gym.Env:
    """One game for evaluation and video: a life loss does not end it, rewards are raw.

    Each step returns the agent's uint8 (4, 84, 84) observation, identical to the
    vector envs', and ``info["frames"]``, the full-colour 210x160 frames the step
    covered; ``info["lives"]`` counts the lives left.

    Args:
        game: an ALE game, e.g. ``"breakout"`` or ``"Breakout"``.
        protocol: ``"classic"`` (no sticky actions, up to 30 no-op starts) or ``"v5"``.
        seed: seeds the emulator and the no-op starts at the first reset.
    """
    protocol = get_protocol(protocol)
    recorder = _EmulatorFrames(make_atari(normalize_game(game), protocol))
    env = WithFrames(preprocess(recorder, protocol), recorder)
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
    return env
