"""``ABNPolicy``: the ABN actor-critic as a Stable-Baselines3 policy.

Any SB3 on-policy algorithm can train it: ``PPO(ABNPolicy, env)`` or, with this
project's algorithms, ``ABNPPO("ABNCnnPolicy", env)``, which also train the
attention branch's own outputs.
"""

from __future__ import annotations

from functools import partial
from typing import Any, cast

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch.distributions import Categorical

from agents.actor_critic import ABNActorCritic, ABNPolicyOutput
from agents.attention import DEFAULT_ATTENTION, attention_spec

# Observations the backbones read: 4 stacked frames of 84x84 pixels, channels first.
OBSERVATION_SHAPE = (4, 84, 84)


class ABNPolicy(ActorCriticPolicy):
    """SB3 actor-critic policy whose network is an ``ABNActorCritic``.

    Args:
        observation_space: uint8 image stacks, e.g. (4, 84, 84).
        action_space: a ``Discrete`` space.
        lr_schedule: learning-rate schedule (SB3 passes it).
        backbone: ``"nature"`` (Nature CNN, 9x9 attention map) or ``"impala"``
            (IMPALA ResNet, 21x21 map).
        attention: the attention design (``agents.attention.DESIGNS``).
        map_size: the attention map's side (Nature CNN: 9 or 20); the backbone's default
            when None.
        heads, groups, motion, motion_pooling: the design's options
            (``agents.attention.AttentionSpec``); None: the design's default. An option
            the design does not take is refused.
        **kwargs: ``ActorCriticPolicy`` options (``ortho_init``, ``optimizer_class``,
            ``optimizer_kwargs``); the network scales images itself, so
            ``normalize_images`` is always False.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        *,
        backbone: str = "nature",
        attention: str = DEFAULT_ATTENTION,
        map_size: int | None = None,
        heads: int | None = None,
        groups: int | None = None,
        motion: bool | None = None,
        motion_pooling: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"ABNPolicy needs a Discrete action space, got {action_space}.")
        if observation_space.shape != OBSERVATION_SHAPE:
            raise ValueError(
                f"ABNPolicy reads stacks of 4 grey 84x84 frames, channels first (shape "
                f"{OBSERVATION_SHAPE}, as envs.make_vec_env makes them), not observations of "
                f"shape {observation_space.shape}."
            )
        self.n_actions = int(action_space.n)
        self.backbone = backbone
        self.map_size = map_size
        self.spec = attention_spec(
            attention, heads=heads, groups=groups, motion=motion, motion_pooling=motion_pooling
        )
        self.attention = self.spec.design
        self.motion = bool(self.spec.motion)
        kwargs["normalize_images"] = False
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build(self, lr_schedule: Schedule) -> None:
        self.network = ABNActorCritic(
            self.n_actions, self.spec, backbone=self.backbone, map_size=self.map_size
        )
        if self.ortho_init:
            # openai/baselines' gains, as SB3 uses them: sqrt(2) inside, 0.01 policy, 1 value.
            self.network.apply(partial(self.init_weights, gain=np.sqrt(2)))
            self.init_weights(self.network.policy_head, gain=0.01)
            self.init_weights(self.network.value_head, gain=1.0)
        self.optimizer = self.optimizer_class(  # type: ignore[call-arg]  # SB3's optimizers take lr
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {
            **super()._get_constructor_parameters(),
            "backbone": self.backbone,
            "attention": self.spec.design,
            "map_size": self.map_size,
            **self.spec.options(),
        }

    def _distribution(self, action_logits: torch.Tensor) -> CategoricalDistribution:
        # torch checks a distribution's parameters and every value given to log_prob by
        # default: 13 more ops per call, two of which make the host wait for the device.
        # The network's logits and the sampler's (or the rollout's) actions need no check.
        distribution = cast(CategoricalDistribution, self.action_dist)  # a Discrete space's
        distribution.distribution = Categorical(logits=action_logits, validate_args=False)
        return distribution

    def forward(
        self, obs: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        output = self.network(obs)
        distribution = self._distribution(output.action_logits)
        actions = distribution.get_actions(deterministic=deterministic)
        return actions, output.value.unsqueeze(-1), distribution.log_prob(actions)

    def evaluate_actions_with_attention(
        self, obs: PyTorchObs, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, ABNPolicyOutput]:
        """``evaluate_actions`` plus the network's whole output (attention branch included)."""
        output = self.network(obs)
        distribution = self._distribution(output.action_logits)
        log_prob = distribution.log_prob(actions)
        return output.value.unsqueeze(-1), log_prob, distribution.entropy(), output

    def evaluate_actions(
        self, obs: PyTorchObs, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        values, log_prob, entropy, _ = self.evaluate_actions_with_attention(obs, actions)
        return values, log_prob, entropy

    def get_distribution(self, obs: PyTorchObs) -> CategoricalDistribution:
        return self._distribution(self.network(obs).action_logits)

    def predict_values(self, obs: PyTorchObs) -> torch.Tensor:
        return self.network(obs).value.unsqueeze(-1)
