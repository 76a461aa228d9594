"""The attention designs' own losses in RL."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from agents.actor_critic import ABNPolicyOutput
from agents.maps import as_distributions, normalized_entropy


def attention_branch_loss(
    output: ABNPolicyOutput, returns: torch.Tensor, *, value_coef: float
) -> torch.Tensor:
    """Loss of an attention branch's outputs: policy distillation plus value regression.

    ABN trains its attention branch on the task's own targets, so that the
    per-output response maps (whose GAP is the branch's output) must hold the
    evidence for each output, and the attention map derived from them points at
    it. In RL the targets are the agent's decision and the return:

    * ``KL(pi_perception || pi_attention)``, with the perception policy detached:
      the branch's action logits learn to predict the action distribution that
      acts. A policy-gradient loss on the branch's own logits would be off-policy
      (the branch never acts), needing importance weights pi_att / pi_behaviour
      that are far from 1 and clip to no gradient; distillation has no such issue
      and a low-variance target.
    * ``value_coef * MSE(V_attention, returns)``: the branch's value map regresses
      on the same GAE returns as the critic, with the critic's weight.

    Designs without a branch (``attention_logits`` None) have no such loss: 0.

    Args:
        output: the network's output on a minibatch.
        returns: (B,) GAE returns of the minibatch.
        value_coef: weight of the value regression (the algorithm's ``vf_coef``).
    """
    if output.attention_logits is None or output.attention_value is None:
        return returns.new_zeros(())
    target = F.softmax(output.action_logits.detach(), dim=-1)
    log_attention_policy = F.log_softmax(output.attention_logits, dim=-1)
    distillation = F.kl_div(log_attention_policy, target, reduction="batchmean")
    return distillation + value_coef * F.mse_loss(output.attention_value, returns)


def map_entropy(maps: torch.Tensor) -> torch.Tensor:
    """Mean entropy of (B, K, h, w) maps, each read as a distribution over positions,
    divided by that of a uniform map: 1 for a flat map, 0 for a single position."""
    return normalized_entropy(as_distributions(maps)).mean()


def map_spread(maps: torch.Tensor) -> torch.Tensor:
    """Entropy of each head's map averaged over the batch of (B, K, h, w) maps, divided
    by that of a uniform map, averaged over heads: 0 for a head that stays on one
    position in every frame, high for one whose position changes from frame to frame.

    ``map_entropy(maps) - map_spread(maps)`` is minus the mutual information between
    the frame and a head's position (over the batch, normalized): lowest for heads that
    are sharp in each frame and move between frames, 0 for flat or parked heads."""
    return normalized_entropy(as_distributions(maps).mean(dim=0)).mean()
