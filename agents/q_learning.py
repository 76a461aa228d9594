"""Q-learning agents from elsewhere (Stable-Baselines3's DQN, sb3-contrib's QR-DQN): which
algorithm a saved policy belongs to, and its Q-values as the scores to explain."""

from __future__ import annotations

import importlib.util
from typing import Any, cast

from stable_baselines3 import DQN
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.dqn.policies import DQNPolicy
from torch import Tensor, nn


def _qrdqn() -> tuple[type[BaseAlgorithm], type[BasePolicy]] | None:
    if importlib.util.find_spec("sb3_contrib") is None:
        return None
    from sb3_contrib import QRDQN
    from sb3_contrib.qrdqn.policies import QRDQNPolicy

    return QRDQN, QRDQNPolicy


QRDQN_CLASSES = _qrdqn()
"""QR-DQN's algorithm and policy classes where sb3-contrib is installed, else None."""


def q_learning_algorithm(policy_class: Any) -> type[BaseAlgorithm] | None:
    """DQN or QR-DQN for their policy classes; None for any other."""
    if not isinstance(policy_class, type):
        return None
    if issubclass(policy_class, DQNPolicy):
        return DQN
    if QRDQN_CLASSES is not None and issubclass(policy_class, QRDQN_CLASSES[1]):
        return QRDQN_CLASSES[0]
    return None


def is_q_policy(policy: BasePolicy) -> bool:
    """Whether ``policy`` is a Q-learner's (it acts greedily on Q-values)."""
    return q_learning_algorithm(type(policy)) is not None


def q_values(policy: BasePolicy, observations: Tensor) -> Tensor:
    """(B, A) the Q-values of a DQN or QR-DQN policy (QR-DQN: the mean of its quantiles)
    for uint8 or float observations in [0, 255]."""
    if isinstance(policy, DQNPolicy):
        return policy.q_net(observations.float())
    quantile_net = cast(nn.Module, policy.quantile_net)
    return quantile_net(observations.float()).mean(dim=1)  # (B, quantiles, A)
