"""The attention actor-critic: backbone, attention design, policy and value heads."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agents.attention import AttentionSpec, MapEdit, attention_spec, design
from agents.backbones import BACKBONES, MAP_SIZES
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
        attention: the design and its options (``agents.attention.attention_spec``); the
            default design with its defaults when None. Its ``motion`` option appends
            ``motion_channel`` to the features the design scores and pools, so that a
            head can select what moves; ``motion_pooling`` says over what: each cell's
            receptive field (``receptive-field``: conv2's 20x20 windows, stride 8, for the
            9x9 Nature map) or its tile of an even partition of the frame (``even``, as
            agents saved before the option; the two disagree near the edges).
        backbone: ``"nature"`` (default) or ``"impala"``.
        map_size: the map's side: the Nature CNN's 9 (after conv2) or 20 (after conv1),
            IMPALA's 21; the backbone's first when None.

    Inputs are uint8 or float observations (B, 4, 84, 84) in [0, 255]; the network
    scales them by 1/255 itself.
    """

    def __init__(
        self,
        n_actions: int,
        attention: AttentionSpec | None = None,
        *,
        backbone: str = "nature",
        map_size: int | None = None,
    ) -> None:
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(
                f"Unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}."
            )
        spec = attention or attention_spec()
        parts = BACKBONES[backbone](map_size or MAP_SIZES[backbone][0])
        self.n_actions = n_actions
        self.map_size = parts.map_size
        self.spec = spec
        self.motion = bool(spec.motion)
        self.stem = parts.stem
        # Stems that are no plain chain (IMPALA's residual stages) pool evenly.
        by_field = spec.motion_pooling == "receptive-field"
        self.motion_windows = receptive_field_windows(parts.stem) if by_field else None
        design_parts = parts._replace(channels=parts.channels + 1) if spec.motion else parts
        self.attention: nn.Module = design(spec.design).build(design_parts, n_actions, spec)
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
