"""Any of our agents' policies as a plain module ``observations -> named output``.

Explainers and videos call this module: for an ``ABNPolicy`` it is the ABN
network itself (its output carries the attention map), for SB3's stock
``ActorCriticPolicy`` a thin wrapper with the same field names.
"""

from __future__ import annotations

from typing import NamedTuple

from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from torch import Tensor, nn

from agents.policy import ABNPolicy


class PolicyOutput(NamedTuple):
    """Action logits and value of a policy without attention branch."""

    action_logits: Tensor
    """(B, A) action logits."""
    value: Tensor
    """(B,) state value."""


class SB3PolicyNetwork(nn.Module):
    """An SB3 ``ActorCriticPolicy`` (e.g. ``CnnPolicy``) as ``observations -> PolicyOutput``.

    Observations are uint8 or float in [0, 255], as the policy receives them.
    """

    def __init__(self, policy: ActorCriticPolicy) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, observations: Tensor) -> PolicyOutput:
        features = self.policy.extract_features(observations.float())  # scales images itself
        latent_pi, latent_vf = self.policy.mlp_extractor(features)
        return PolicyOutput(
            self.policy.action_net(latent_pi), self.policy.value_net(latent_vf).squeeze(-1)
        )


def policy_network(policy: BasePolicy) -> nn.Module:
    """The module to explain or watch for ``policy`` (an actor-critic: ours or SB3's)."""
    if isinstance(policy, ABNPolicy):
        return policy.network
    if not isinstance(policy, ActorCriticPolicy):
        raise TypeError(f"Expected an actor-critic policy, got {type(policy).__name__}.")
    return SB3PolicyNetwork(policy)
