"""Agents by name, with the RL Zoo's Atari hyperparameters as defaults."""

from __future__ import annotations

from typing import Any, Literal, TypeVar, get_args

import torch
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import VecEnv

from agents.a2c import ABNA2C
from agents.attention import AttentionSpec, attention_spec
from agents.policy import ABNPolicy
from agents.ppo import ABNPPO

AlgorithmName = Literal["ppo", "a2c"]
PolicyName = Literal["abn", "cnn"]
ALGORITHMS: tuple[str, ...] = get_args(AlgorithmName)
POLICIES: tuple[str, ...] = get_args(PolicyName)

# rl-baselines3-zoo, hyperparams/ppo.yml and a2c.yml, "atari" entries.
HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "ppo": {
        "n_steps": 128,
        "n_epochs": 4,
        "batch_size": 256,
        "learning_rate": LinearSchedule(2.5e-4, 0.0, 1.0),
        "clip_range": LinearSchedule(0.1, 0.0, 1.0),
        "vf_coef": 0.5,
        "ent_coef": 0.01,
    },
    "a2c": {
        "ent_coef": 0.01,
        "vf_coef": 0.25,
        "policy_kwargs": {"optimizer_class": RMSpropTFLike, "optimizer_kwargs": {"eps": 1e-5}},
    },
}
N_ENVS = {"ppo": 8, "a2c": 16}
"""Parallel games per algorithm in the RL Zoo's Atari settings."""


def make_agent(
    env: VecEnv,
    *,
    algo: str = "ppo",
    policy: str = "abn",
    backbone: str = "nature",
    attention: AttentionSpec | None = None,
    map_size: int | None = None,
    attention_coef: float = 1.0,
    map_entropy_coef: float = 0.0,
    map_spread_coef: float = 0.0,
    map_terms_from: int = 0,
    seed: int | None = None,
    device: str = "auto",
    **overrides: Any,
) -> OnPolicyAlgorithm:
    """An agent ready to ``learn``: ABN-PPO by default, or SB3's stock ``CnnPolicy``.

    Args:
        env: the training env (``envs.make_vec_env(..., training=True)``).
        algo: ``"ppo"`` or ``"a2c"``.
        policy: ``"abn"`` (ABN actor-critic, trained by ``ABNPPO``/``ABNA2C``) or
            ``"cnn"`` (SB3's stock Nature-CNN policy and algorithm, no attention).
        backbone: ``"nature"`` or ``"impala"``; ABN only.
        attention: the attention design and its options (``agents.attention.attention_spec``);
            the default design with its defaults when None; ABN only.
        map_size: the attention map's side (Nature CNN: 9 or 20); ABN only.
        attention_coef: weight of the attention branch's loss; ABN only.
        map_entropy_coef: weight of the maps' normalized entropy; ABN only.
        map_spread_coef: weight of the maps' spread over a minibatch, subtracted; ABN only.
        map_terms_from: the maps' two terms count after this many agent steps; ABN only.
        seed: seeds torch, numpy and the env.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        **overrides: SB3 algorithm options replacing the defaults.
    """
    if algo not in ALGORITHMS:
        raise ValueError(f"Unknown algorithm {algo!r}; choose one of {', '.join(ALGORITHMS)}.")
    if policy not in POLICIES:
        raise ValueError(f"Unknown policy {policy!r}; choose one of {', '.join(POLICIES)}.")
    options = {**HYPERPARAMETERS[algo], **overrides}
    options["policy_kwargs"] = dict(options.get("policy_kwargs", {}))
    common: dict[str, Any] = {"seed": seed, "device": device}
    if policy == "cnn":
        stock = PPO if algo == "ppo" else A2C
        return channels_last_on_cpu(stock("CnnPolicy", env, **common, **options))
    spec = attention or attention_spec()
    options["policy_kwargs"].update(
        backbone=backbone, map_size=map_size, attention=spec.design, **spec.options()
    )
    abn = ABNPPO if algo == "ppo" else ABNA2C
    model = abn(
        ABNPolicy,
        env,
        attention_coef=attention_coef,
        map_entropy_coef=map_entropy_coef,
        map_spread_coef=map_spread_coef,
        map_terms_from=map_terms_from,
        **common,
        **options,
    )
    return channels_last_on_cpu(model)


AlgorithmT = TypeVar("AlgorithmT", bound=BaseAlgorithm)


def channels_last_on_cpu(model: AlgorithmT) -> AlgorithmT:
    """``model`` with its policy's conv weights in channels-last layout when it runs on
    the CPU, where oneDNN convolves that layout faster (training steps/s +13% to +32%
    for both policies, docs/results/training.md). Values, checkpoints and results are unchanged
    up to float rounding; the optimizer keeps its parameters (converted in place).
    """
    if model.device.type == "cpu":
        model.policy.to(memory_format=torch.channels_last)
    return model
