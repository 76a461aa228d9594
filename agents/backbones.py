"""Backbones of the ABN actor-critic, split where the attention branch reads them.

Each backbone has three parts: a ``stem`` from the 84x84 input to the features
``g(x)`` the attention branch reads, the ``attention_body`` (a stride-1 copy of
the next stage, as the ABN paper builds its attention branch), and the
``perception`` trunk that continues from ``(1 + M) * g(x)`` to a feature vector.

Where the attention map sits: before the last spatial stage, the deepest point
whose resolution is at least 9x9 (the Nature CNN's last conv shrinks 9x9 to 7x7;
IMPALA's last stage 21x21 to 11x11), so the map is as semantic as possible while
still able to single out a 2x4-pixel ball.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn


class Backbone(NamedTuple):
    """The three parts of a backbone and the sizes between them."""

    stem: nn.Module
    attention_body: nn.Module
    perception: nn.Module
    channels: int
    """Channels of the stem's output ``g(x)`` (and of the attention body's)."""
    map_size: int
    """Height and width of ``g(x)`` and of the attention map for 84x84 inputs."""
    features_dim: int
    """Length of the perception trunk's feature vector."""


def nature_cnn() -> Backbone:
    """The DQN Nature CNN (Mnih et al., 2015): attention on conv2's 64x9x9 features."""
    stem = nn.Sequential(
        nn.Conv2d(4, 32, kernel_size=8, stride=4),
        nn.ReLU(),
        nn.Conv2d(32, 64, kernel_size=4, stride=2),
        nn.ReLU(),
    )
    # conv3 with padding, so that the attention maps stay 9x9.
    attention_body = nn.Conv2d(64, 64, kernel_size=3, stride=1, padding=1)
    perception = nn.Sequential(
        nn.Conv2d(64, 64, kernel_size=3, stride=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 512),
        nn.ReLU(),
    )
    return Backbone(stem, attention_body, perception, channels=64, map_size=9, features_dim=512)


class ResidualBlock(nn.Module):
    """IMPALA's pre-activation residual block: x + conv(relu(conv(relu(x))))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv1(self.conv0(x.relu()).relu())


def impala_stage(in_channels: int, out_channels: int, *, pool: bool = True) -> nn.Sequential:
    """Conv, 3x3 max-pool with stride 2 (none when ``pool=False``), two residual blocks."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)]
    if pool:
        layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    layers += [ResidualBlock(out_channels), ResidualBlock(out_channels)]
    return nn.Sequential(*layers)


def impala_cnn() -> Backbone:
    """The IMPALA ResNet (Espeholt et al., 2018): attention on stage 2's 32x21x21 features."""
    stem = nn.Sequential(impala_stage(4, 16), impala_stage(16, 32))
    attention_body = impala_stage(32, 32, pool=False)
    perception = nn.Sequential(
        impala_stage(32, 32),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 11 * 11, 256),
        nn.ReLU(),
    )
    return Backbone(stem, attention_body, perception, channels=32, map_size=21, features_dim=256)


BACKBONES = {"nature": nature_cnn, "impala": impala_cnn}
