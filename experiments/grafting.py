"""Give a trained ``softmax`` agent the motion channel without changing what it does.

The motion channel (``agents.actor_critic.motion_channel``) adds one input channel to
the heads' keys and to every head's pooled vector. Grafted onto a trained agent, the
weights that read it start at zero, so the new network computes exactly the old one's
outputs until training moves them; Adam's moments of the grown weights get zeros in
the same places. Training then goes on from the trained agent's step and schedules.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from agents.attention import SpatialSoftmaxAttention
from agents.policy import ABNPolicy
from agents.training import AttentionBranchTraining

# The weights that read the features the heads score and pool; the motion channel is
# inserted after the backbone's channels, before the spatial basis.
KEYS = "network.attention.to_keys.0.weight"  # (hidden, C + basis, 3, 3)
READOUT = "network.attention.readout.0.weight"  # (latent, heads * (C + basis))


def _with_zero_channel(name: str, tensor: Tensor, channels: int, heads: int) -> Tensor:
    """``tensor`` (a weight or one of its Adam moments) with a zero input at the
    motion channel's place; other tensors unchanged."""
    if name == KEYS:
        zeros = tensor.new_zeros(tensor.shape[0], 1, *tensor.shape[2:])
        return torch.cat([tensor[:, :channels], zeros, tensor[:, channels:]], dim=1)
    if name == READOUT:
        per_head = tensor.view(tensor.shape[0], heads, -1)
        zeros = per_head.new_zeros(tensor.shape[0], heads, 1)
        grown = torch.cat([per_head[..., :channels], zeros, per_head[..., channels:]], dim=2)
        return grown.reshape(tensor.shape[0], -1)
    return tensor


def graft_motion_channel(model: AttentionBranchTraining) -> None:
    """Replace ``model``'s ``softmax`` policy by one with the motion channel, in place.

    Raises:
        ValueError: the policy is not a ``softmax`` one, or already has the channel.
    """
    old = model.policy
    if not isinstance(old, ABNPolicy) or old.attention != "softmax" or old.motion:
        raise ValueError("Only a softmax attention policy without the motion channel can get it.")
    attention = old.network.attention
    assert isinstance(attention, SpatialSoftmaxAttention)
    keys = attention.to_keys[0]
    assert isinstance(keys, nn.Conv2d)
    channels = keys.in_channels - attention.basis.shape[0]  # the backbone's
    names = [name for name, _ in old.named_parameters()]
    parameters = {
        name: _with_zero_channel(name, value.detach(), channels, old.spec.option("heads"))
        for name, value in old.state_dict().items()
    }
    model.policy_kwargs = {**model.policy_kwargs, "motion": True}
    new = ABNPolicy(
        old.observation_space,
        old.action_space,
        model.lr_schedule,
        **model.policy_kwargs,
    ).to(model.device)
    new.load_state_dict(parameters)
    optimizer = old.optimizer.state_dict()
    for index, state in optimizer["state"].items():
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key] = _with_zero_channel(
                    names[index], state[key], channels, old.spec.option("heads")
                )
    new.optimizer.load_state_dict(optimizer)
    model.policy = new
