"""How much the policy depends on its own attention maps, and what the maps look like.

**Dependence**: how often the most probable action changes, and the mean KL divergence
of the policy, when the maps are replaced by their spatial mean or by the maps of
another frame. **Map statistics**: per frame, the map's mean value, its entropy (1 for a
flat map) and the mass of its top cells; the change between consecutive agent steps
(total variation between the maps read as distributions) is measured while playing
(``abnrl.analysis.play``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from agents.actor_critic import ABNActorCritic, ABNPolicyOutput
from agents.maps import normalized_entropy

DEPENDENCE = ("mean_map", "other_frame")
"""What the agent's maps are replaced by in the dependence test."""
TOP_CELLS = 5


def as_distribution(maps: Tensor) -> Tensor:
    """(B, h, w) maps scaled to sum to 1 each (a flat map where one sums to 0)."""
    flat = maps.flatten(1).clamp_min(0)
    total = flat.sum(dim=1, keepdim=True)
    uniform = torch.full_like(flat, 1.0 / flat.shape[1])
    return torch.where(total > 0, flat / total.clamp_min(1e-12), uniform).view_as(maps)


def dependence(
    network: ABNActorCritic, observations: Tensor, output: ABNPolicyOutput
) -> dict[str, dict[str, Tensor]]:
    """Per frame: does the top action change, and KL(policy || edited policy), when the
    maps are replaced by their spatial mean or by the maps of another frame (``output``:
    the network's on the observations as they are)."""
    edits = {
        "mean_map": lambda maps: maps.mean(dim=(2, 3), keepdim=True).expand_as(maps),
        "other_frame": lambda maps: maps.roll(1, dims=0),  # the previous sampled frame's
    }
    clean = output.action_logits.log_softmax(dim=-1)
    with torch.no_grad():
        results = {}
        for name, edit in edits.items():
            edited = network(observations, edit_maps=edit).action_logits.log_softmax(dim=-1)
            results[name] = {
                "action_change": (edited.argmax(-1) != clean.argmax(-1)).float(),
                "kl": F.kl_div(edited, clean, log_target=True, reduction="none").sum(-1),
            }
    return results


def map_statistics(output: ABNPolicyOutput) -> dict[str, Tensor]:
    """Per frame of a network's ``output``: the map's mean value, its normalized entropy,
    the top cells' mass."""
    maps = output.attention.mean(dim=1)  # (N, h, w), heads averaged
    distribution = as_distribution(maps).flatten(1)
    top = distribution.topk(min(TOP_CELLS, distribution.shape[1]), dim=1).values.sum(dim=1)
    return {
        "mean": maps.flatten(1).mean(dim=1),
        "entropy": normalized_entropy(distribution),
        f"top{TOP_CELLS}_mass": top,
    }
