"""Small models with the project's output conventions, for the explainer tests."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn


class TinyCNN(nn.Module):
    """conv-BN-ReLU x2 with in-place ReLUs, dropout, global average pooling and one linear layer."""

    def __init__(self, in_channels: int = 3, num_classes: int = 5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(inplace=True),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.dropout(self.pool(self.features(x)).flatten(1)))


class ABNOutput(NamedTuple):
    logits: Tensor
    attention_logits: Tensor
    attention: Tensor


class TinyABN(nn.Module):
    """An ABN-shaped classifier: attention branch, then the perception branch on (1 + M) * g."""

    def __init__(self, num_classes: int = 4) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.attention_maps = nn.Conv2d(8, num_classes, 1)
        self.to_attention = nn.Conv2d(num_classes, 1, 1)
        self.perception = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: Tensor) -> ABNOutput:
        features = self.backbone(x)
        maps = self.attention_maps(features)
        attention = torch.sigmoid(self.to_attention(maps))  # (B, 1, H, W)
        perceived = self.perception(features * (1 + attention))
        return ABNOutput(self.fc(perceived.mean((2, 3))), maps.mean((2, 3)), attention)


class PolicyOutput(NamedTuple):
    action_logits: Tensor
    value: Tensor
    attention_logits: Tensor
    attention_value: Tensor
    attention: Tensor


class TinyPolicy(nn.Module):
    """An actor-critic on uint8 (B, 4, 84, 84) frame stacks that scales by 1/255 itself."""

    def __init__(self, num_actions: int = 4) -> None:
        super().__init__()
        self.torso = nn.Sequential(
            nn.Conv2d(4, 8, 8, stride=4), nn.ReLU(), nn.Conv2d(8, 16, 4, stride=2), nn.ReLU()
        )
        self.to_attention = nn.Conv2d(16, 1, 1)
        self.actor = nn.Linear(16 * 9 * 9, num_actions)
        self.critic = nn.Linear(16 * 9 * 9, 1)

    def forward(self, observations: Tensor) -> PolicyOutput:
        features = self.torso(observations.float() / 255.0)  # (B, 16, 9, 9)
        attention = torch.sigmoid(self.to_attention(features))  # (B, 1, 9, 9)
        flat = (features * (1 + attention)).flatten(1)
        logits, value = self.actor(flat), self.critic(flat)[:, 0]
        return PolicyOutput(logits, value, logits.detach(), value.detach(), attention)


def hook_count(model: nn.Module) -> int:
    """Hooks of every kind left on the model's modules, plus torch's global module hooks."""
    kinds = (
        "_forward_hooks",
        "_forward_pre_hooks",
        "_backward_hooks",
        "_backward_pre_hooks",
        "_state_dict_hooks",
        "_load_state_dict_pre_hooks",
    )
    count = sum(len(getattr(module, kind)) for module in model.modules() for kind in kinds)
    module_globals = nn.modules.module
    return count + sum(
        len(getattr(module_globals, name))
        for name in dir(module_globals)
        if name.startswith("_global_") and name.endswith("hooks")
    )
