"""Env steps/s: ``make_vec_env(backend="ale")`` vs SB3's ``make_atari_env`` + ``VecFrameStack``.

Same game (Breakout), same preprocessing, same n_envs, random actions, back to back.

    python benchmarks/env_throughput.py --seconds 10
"""

from __future__ import annotations

import argparse
import time

import ale_py
import gymnasium as gym
import numpy as np
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecFrameStack

from envs import make_vec_env

gym.register_envs(ale_py)


def steps_per_second(venv, seconds: float) -> float:
    rng = np.random.default_rng(0)
    venv.reset()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        venv.step(rng.integers(0, venv.action_space.n, venv.num_envs))
        steps += venv.num_envs
    rate = steps / (time.perf_counter() - start)
    venv.close()
    return rate


def sb3_env(n_envs: int, vec_env_cls):
    return VecFrameStack(
        make_atari_env("BreakoutNoFrameskip-v4", n_envs, seed=0, vec_env_cls=vec_env_cls), 4
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--n-envs", type=int, nargs="+", default=[8, 16])
    args = parser.parse_args()
    print("| n_envs | ours (ale) | SB3 Dummy | SB3 Subproc | ours/Dummy | ours/Subproc |")
    print("|---|---|---|---|---|---|")
    for n in args.n_envs:
        ours = steps_per_second(make_vec_env("breakout", n, seed=0), args.seconds)
        dummy = steps_per_second(sb3_env(n, DummyVecEnv), args.seconds)
        subproc = steps_per_second(sb3_env(n, SubprocVecEnv), args.seconds)
        print(
            f"| {n} | {ours:,.0f} | {dummy:,.0f} | {subproc:,.0f} | "
            f"{ours / dummy:.2f}x | {ours / subproc:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
