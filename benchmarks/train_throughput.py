"""Training steps/s: ABN-PPO on our env backend against SB3's stock ``PPO("CnnPolicy")``.

The stock agent uses SB3's ``make_atari_env`` + ``VecFrameStack``; both use the RL
Zoo's Atari PPO hyperparameters, the same n_envs and device, back to back.

    python benchmarks/train_throughput.py --steps 8192
    python benchmarks/train_throughput.py --steps 8192 --attention softmax --heads 8
    python benchmarks/train_throughput.py --steps 8192 --attention softmax --heads 8 --motion
    python benchmarks/train_throughput.py --steps 8192 --attention softmax --heads 8 --motion \
        --contiguous
"""

from __future__ import annotations

import argparse
import time

import ale_py
import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.vec_env import VecFrameStack

from agents import HYPERPARAMETERS, make_agent
from agents.attention import saved_attention_spec
from envs import make_vec_env

gym.register_envs(ale_py)


def timed_learn(model, steps: int) -> float:
    model.learn(model.n_steps * model.n_envs)  # warm-up: one rollout and update
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8192)
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backbone", default="nature")
    parser.add_argument("--attention", default="abn", help="attention design")
    parser.add_argument("--heads", type=int, default=4, help="softmax heads")
    parser.add_argument("--map-size", type=int, default=None)
    parser.add_argument("--motion", action="store_true", help="softmax's motion channel")
    parser.add_argument(
        "--contiguous", action="store_true", help="ours without channels-last conv weights on CPU"
    )
    args = parser.parse_args()

    options = {"heads": args.heads, "motion": args.motion}
    ours = make_agent(
        make_vec_env("breakout", args.n_envs, seed=0),
        backbone=args.backbone,
        attention=saved_attention_spec(args.attention, options),
        map_size=args.map_size,
        seed=0,
        device=args.device,
    )
    if args.contiguous:
        ours.policy.to(memory_format=torch.contiguous_format)
    ours_rate = timed_learn(ours, args.steps)
    stock_env = VecFrameStack(make_atari_env("BreakoutNoFrameskip-v4", args.n_envs, seed=0), 4)
    stock = PPO("CnnPolicy", stock_env, seed=0, device=args.device, **HYPERPARAMETERS["ppo"])
    stock_rate = timed_learn(stock, args.steps)

    device = torch.cuda.get_device_name() if ours.device.type == "cuda" else "CPU"
    print(f"device {device}, n_envs {args.n_envs}, {args.steps} steps each")
    layout = "contiguous" if args.contiguous else "channels-last on CPU"
    design = f"{args.backbone}, {args.attention}{' + motion' * args.motion}, {layout}, ale backend"
    print(f"ABN-PPO ({design}): {ours_rate:,.0f} steps/s")
    print(f"SB3 PPO CnnPolicy (make_atari_env):  {stock_rate:,.0f} steps/s")
    print(f"ratio: {ours_rate / stock_rate:.2f}x")


if __name__ == "__main__":
    main()
