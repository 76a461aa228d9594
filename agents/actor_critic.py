"""The attention actor-critic: backbone, attention design, policy and value heads."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agents.attention import (
    ATTENTIONS,
    AttentionDesign,
    BranchAttention,
    MapEdit,
    MaskAttention,
    SpatialSoftmaxAttention,
)
from agents.backbones import BACKBONES, MAP_SIZES, Backbone
from vision.explain.registration import analytic_registration


class ABNPolicyOutput(NamedTuple):
    """Everything one forward pass of the attention actor-critic computes."""

    action_logits: Tensor
    """(B, A) action logits: these act."""
    value: Tensor
    """(B,) state value."""
    attention_logits: Tensor | None
    """(B, A) an attention branch's own action logits (GAP of its per-action maps);
    None for designs without a branch."""
    attention_value: Tensor | None
    """(B,) an attention branch's own value (GAP of its value map); None without a branch."""
    attention: Tensor
    """(B, K, h, w) one attention map per head, in [0, 1] (9x9 for the Nature CNN)."""


def build_attention(
    name: str, parts: Backbone, n_actions: int, *, heads: int, groups: int
) -> AttentionDesign:
    """The attention design ``name`` on the backbone ``parts``."""
    if name == "abn":
        return BranchAttention(parts, n_actions, groups=groups)
    if name == "abn-groupnorm":
        return BranchAttention(parts, n_actions, normalize_map=True, groups=groups)
    if name == "mask":
        return MaskAttention(parts, n_actions)
    if name == "softmax":
        return SpatialSoftmaxAttention(parts, n_actions, heads=heads)
    raise ValueError(f"Unknown attention {name!r}; choose one of {', '.join(ATTENTIONS)}.")


MotionPooling = Literal["receptive-field", "even"]
MOTION_POOLINGS: tuple[str, ...] = get_args(MotionPooling)
DEFAULT_MOTION_POOLING: MotionPooling = "receptive-field"
"""How new agents pool the motion channel; agents saved before the option pooled ``even``."""


class MotionWindows(NamedTuple):
    """The input window of each cell of the map: a max-pool's kernel, stride and padding."""

    kernel: int
    stride: int
    padding: int


def receptive_field_windows(stem: nn.Module, size: int = 84) -> MotionWindows | None:
    """The windows that the cells of ``stem``'s output see in a (size, size) input; None
    where the stem is not a plain chain of convolutions (its windows are not one box)."""
    registration = analytic_registration(stem, stem, torch.zeros(1, 4, size, size), graph=False)
    if registration is None or registration.extent is None:
        return None
    kernel, stride = registration.extent[0], registration.stride[0]
    padding = (kernel - 1) / 2 - registration.offset[0]
    if not all(float(v).is_integer() for v in (kernel, stride, padding)) or padding < 0:
        return None
    return MotionWindows(int(kernel), int(stride), int(padding))


def motion_channel(observations: Tensor, size: int, windows: MotionWindows | None = None) -> Tensor:
    """(B, 1, size, size) in [0, 1]: the largest change of a pixel between the stack's last
    two frames within each cell's window: its receptive field (``windows``) or, when None,
    its tile of an even ``size`` x ``size`` partition. Max-pooled rather than averaged, so
    that the 2-pixel ball moving through a cell still lights the cell up."""
    last, previous = observations[:, -1:].float(), observations[:, -2:-1].float()
    change = (last - previous).abs() / 255.0
    if windows is None:
        return F.adaptive_max_pool2d(change, size)
    return F.max_pool2d(change, windows.kernel, windows.stride, windows.padding)


class ABNActorCritic(nn.Module):
    """Actor-critic whose features reach its heads through an attention design.

    ``stem`` computes the features ``g(x)`` at the map's resolution; the design
    (``agents.attention``) turns them into the heads' latent vectors and its maps.

    Args:
        n_actions: size of the discrete action space.
        backbone: ``"nature"`` (default) or ``"impala"``.
        attention: ``"abn"``, ``"abn-groupnorm"``, ``"mask"`` or ``"softmax"``.
        map_size: the map's side: the Nature CNN's 9 (after conv2) or 20 (after conv1),
            IMPALA's 21; the backbone's first when None.
        heads: attention heads (``softmax`` only).
        groups: GroupNorm groups in an ABN branch.
        motion: append ``motion_channel`` to the features the ``softmax`` heads score and
            pool, so that a head can select what moves.
        motion_pooling: ``receptive-field``: each cell's motion is the largest change in
            the input window its features see (conv2's 20x20 windows, stride 8, for the
            9x9 Nature map); ``even``: in its tile of an even partition of the frame, as
            agents saved before the option (the two disagree near the edges).

    Inputs are uint8 or float observations (B, 4, 84, 84) in [0, 255]; the network
    scales them by 1/255 itself.
    """

    def __init__(
        self,
        n_actions: int,
        *,
        backbone: str = "nature",
        attention: str = "abn",
        map_size: int | None = None,
        heads: int = 4,
        groups: int = 8,
        motion: bool = False,
        motion_pooling: str = DEFAULT_MOTION_POOLING,
    ) -> None:
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(
                f"Unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}."
            )
        if motion and attention != "softmax":
            raise ValueError(f"The motion channel is an option of softmax, not of {attention}.")
        if motion_pooling not in MOTION_POOLINGS:
            raise ValueError(
                f"Unknown motion pooling {motion_pooling!r}; choose one of "
                f"{', '.join(MOTION_POOLINGS)}."
            )
        parts = BACKBONES[backbone](map_size or MAP_SIZES[backbone][0])
        self.n_actions = n_actions
        self.map_size = parts.map_size
        self.motion = motion
        self.stem = parts.stem
        # Stems that are no plain chain (IMPALA's residual stages) pool evenly.
        self.motion_windows = (
            receptive_field_windows(parts.stem) if motion_pooling == "receptive-field" else None
        )
        design_parts = parts._replace(channels=parts.channels + 1) if motion else parts
        self.attention: AttentionDesign = build_attention(
            attention, design_parts, n_actions, heads=heads, groups=groups
        )
        self.policy_head = nn.Linear(parts.features_dim, n_actions)
        self.value_head = nn.Linear(parts.features_dim, 1)
        self.register_load_state_dict_pre_hook(_rename_flat_keys)

    def forward(self, observations: Tensor, edit_maps: MapEdit | None = None) -> ABNPolicyOutput:
        """The policy's outputs; ``edit_maps`` replaces the maps before they act (tests)."""
        if observations.device.type == "cpu":
            # oneDNN computes the first conv's weight gradient (8x8, stride 4, 4 channels)
            # 2.5x faster on channels-last inputs; this makes a CPU update ~25% faster.
            observations = observations.contiguous(memory_format=torch.channels_last)
        features = self.stem(observations.float() / 255.0)  # (B, C, h, w)
        if self.motion:
            motion = motion_channel(observations, self.map_size, self.motion_windows)
            features = torch.cat([features, motion], dim=1)
        out = self.attention(features, edit_maps)
        logits = out.branch_logits
        return ABNPolicyOutput(
            action_logits=self.policy_head(out.policy_latent),
            value=self.value_head(out.value_latent).squeeze(-1),
            attention_logits=None if logits is None else logits[:, : self.n_actions],
            attention_value=None if logits is None else logits[:, self.n_actions],
            attention=out.maps,
        )


def _rename_flat_keys(module: nn.Module, state_dict: dict[str, Any], prefix: str, *_) -> None:
    # Networks saved before the designs were modules held the branch and the trunk
    # directly: "attention_branch.*" and "perception.*" now live under "attention.".
    for old in ("attention_branch.", "perception."):
        for key in [k for k in state_dict if k.startswith(prefix + old)]:
            state_dict[prefix + "attention." + key[len(prefix) :]] = state_dict.pop(key)
