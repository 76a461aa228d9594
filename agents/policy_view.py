"""Any of our agents' policies as a plain module ``observations -> named output``.

Explainers and videos call this module: for an ``ABNPolicy`` it is the ABN
network itself (its output carries the attention map), for SB3's stock
``ActorCriticPolicy`` a thin wrapper with the same field names, for a DQN or QR-DQN
policy its Q-values in place of the logits (and ``acts_greedily``: such an agent takes
the action of the largest Q-value, never a sample).
"""

from __future__ import annotations

from typing import NamedTuple

from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from torch import Tensor, nn

from agents.policy import ABNPolicy
from agents.q_learning import is_q_policy, q_values


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


class QNetwork(nn.Module):
    """A DQN or QR-DQN policy as ``observations -> PolicyOutput``: the Q-values stand for
    the logits (explaining "the chosen action" explains the greedy action's Q-value) and
    the largest of them for the value."""

    acts_greedily = True
    """The agent acts on the largest Q-value (epsilon-greedy when played), not a sample."""

    def __init__(self, policy: BasePolicy) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, observations: Tensor) -> PolicyOutput:
        q = q_values(self.policy, observations)
        return PolicyOutput(q, q.max(dim=-1).values)


def policy_network(policy: BasePolicy) -> nn.Module:
    """The module to explain or watch for ``policy`` (an actor-critic, ours or SB3's, or a
    Q-learner's)."""
    if isinstance(policy, ABNPolicy):
        return policy.network
    if is_q_policy(policy):
        return QNetwork(policy)
    if not isinstance(policy, ActorCriticPolicy):
        raise TypeError(f"Expected an actor-critic or Q policy, got {type(policy).__name__}.")
    return SB3PolicyNetwork(policy)
