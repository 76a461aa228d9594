"""The Attention Branch Network's attention (Fukui et al., CVPR 2019) in an actor-critic."""

from __future__ import annotations

from torch import Tensor, nn

from agents.attention.output import AttentionOutput, MapEdit
from agents.attention.spec import Design
from agents.backbones import Backbone
from vision.models.attention_branch import AttentionBranch, apply_attention
from vision.norm import group_norm


class BranchAttention(nn.Module):
    """An attention branch reads ``g``; the perception trunk continues on ``(1 + M) * g``.

    The branch has one response map per action plus one for the value; their global
    average pools are its own policy logits and value (``branch_logits``), trained by
    ``agents.losses.attention_branch_loss``. Its layers use GroupNorm (Wu & He, 2018)
    rather than the paper's BatchNorm, because rollouts feed one observation per env
    in eval mode and updates feed minibatches in train mode: with BatchNorm the two
    would differ and PPO's first-epoch ratio would no longer be 1.

    Args:
        parts: the backbone (its attention body, perception trunk and sizes).
        n_actions: size of the action space.
        normalize_map: GroupNorm on the map itself with a 1x1 map conv (``abn-groupnorm``,
            which pins every map's mean) instead of the authors' 3x3 conv with bias.
        groups: GroupNorm groups (at most).
    """

    def __init__(
        self, parts: Backbone, n_actions: int, *, normalize_map: bool = False, groups: int = 8
    ) -> None:
        super().__init__()
        self.attention_branch = AttentionBranch(
            parts.channels,
            n_actions + 1,
            body=parts.attention_body,
            norm=lambda channels: group_norm(channels, groups),
            map_kernel_size=1 if normalize_map else 3,
            normalize_map=normalize_map,
        )
        self.perception = parts.perception

    def forward(self, features: Tensor, edit_maps: MapEdit | None = None) -> AttentionOutput:
        branch = self.attention_branch(features)  # logits (B, A + 1), attention (B, 1, h, w)
        attention = branch.attention if edit_maps is None else edit_maps(branch.attention)
        latent = self.perception(apply_attention(features, attention))  # (B, D)
        return AttentionOutput(latent, latent, attention, branch.logits)


ABN = Design(
    build=lambda parts, n_actions, spec: BranchAttention(
        parts, n_actions, groups=spec.option("groups")
    ),
    summary="Fukui et al.'s attention branch (3x3 map conv) with a loss of its own",
    maps="gates",
    options={"groups": 8},
)
ABN_GROUPNORM = Design(
    build=lambda parts, n_actions, spec: BranchAttention(
        parts, n_actions, normalize_map=True, groups=spec.option("groups")
    ),
    summary="the same branch with a 1x1 map conv and GroupNorm on the map",
    maps="gates",
    options={"groups": 8},
)
