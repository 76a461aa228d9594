"""What ``ABNPPO`` and ``ABNA2C`` add to SB3's algorithms: the attention branch's loss."""

from __future__ import annotations

from typing import Any

import torch

from agents.losses import attention_branch_loss
from agents.network import ABNPolicyOutput
from agents.policy import ABNPolicy


class AttentionBranchTraining:
    """Mixin for an SB3 on-policy algorithm whose policy is an ``ABNPolicy``.

    Args:
        policy: ``ABNPolicy`` or its alias ``"ABNCnnPolicy"``.
        env: the training env.
        attention_coef: weight of the attention branch's loss.
        **kwargs: the SB3 algorithm's options.
    """

    attention_coef: float
    vf_coef: float

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The subclass's SB3 algorithm knows "MlpPolicy", "CnnPolicy", ...; add ours.
        cls.policy_aliases = {**cls.policy_aliases, "ABNCnnPolicy": ABNPolicy}

    def __init__(self, policy: Any, env: Any, *, attention_coef: float = 1.0, **kwargs: Any):
        self.attention_coef = attention_coef
        super().__init__(policy, env, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        if not isinstance(self.policy, ABNPolicy):
            raise ValueError(
                f"{type(self).__name__} trains an ABNPolicy, got {type(self.policy).__name__}."
            )

    def _attention_loss(self, output: ABNPolicyOutput, returns: torch.Tensor) -> torch.Tensor:
        # With a zero coefficient the loss is only logged: no graph, no zero gradients
        # (which would change gradient clipping's norm and break equality with SB3).
        with torch.set_grad_enabled(bool(self.attention_coef)):
            return attention_branch_loss(output, returns, value_coef=self.vf_coef)
