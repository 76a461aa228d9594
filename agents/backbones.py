"""Backbones of the ABN actor-critic, split where the attention branch reads them.

Each backbone has three parts: a ``stem`` from the 84x84 input to the features
``g(x)`` the attention branch reads, the ``attention_body`` (a stride-1 copy of
the next stage, as the ABN paper builds its attention branch), and the
``perception`` trunk that continues from ``(1 + M) * g(x)`` to a feature vector.

Where the attention map sits by default: before the last spatial stage, the
deepest point whose resolution is at least 9x9 (the Nature CNN's last conv shrinks
9x9 to 7x7; IMPALA's last stage 21x21 to 11x11), so the map is as semantic as
possible while still able to single out a 2x4-pixel ball. The Nature CNN can also
put it after conv1 (20x20).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

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


def nature_cnn(map_size: int = 9) -> Backbone:
    """The DQN Nature CNN (Mnih et al., 2015), the map after conv2 (64x9x9) or conv1 (32x20x20).

    The 20x20 map is finer than the ball's motion between agent steps; its stem is
    conv1 alone and its attention body a 3x3 conv that keeps the size.
    """
    conv1 = [nn.Conv2d(4, 32, kernel_size=8, stride=4), nn.ReLU()]
    conv2 = [nn.Conv2d(32, 64, kernel_size=4, stride=2), nn.ReLU()]
    trunk = [
        nn.Conv2d(64, 64, kernel_size=3, stride=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 512),
        nn.ReLU(),
    ]
    if map_size == 9:
        stem, perception, channels = nn.Sequential(*conv1, *conv2), nn.Sequential(*trunk), 64
    elif map_size == 20:
        stem, perception, channels = nn.Sequential(*conv1), nn.Sequential(*conv2, *trunk), 32
    else:
        raise ValueError(f"The Nature CNN has attention maps of 9x9 or 20x20, not {map_size}.")
    # conv3 with padding (at 9x9) or a same-size 3x3 conv (at 20x20): the maps keep their size.
    attention_body = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1)
    return Backbone(stem, attention_body, perception, channels, map_size, features_dim=512)


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


def impala_cnn(map_size: int = 21) -> Backbone:
    """The IMPALA ResNet (Espeholt et al., 2018): attention on stage 2's 32x21x21 features."""
    if map_size != 21:
        raise ValueError(f"The IMPALA CNN has 21x21 attention maps, not {map_size}.")
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


BackboneName = Literal["nature", "impala"]
BACKBONES = {"nature": nature_cnn, "impala": impala_cnn}
MAP_SIZES = {"nature": (9, 20), "impala": (21,)}
"""Attention map sizes each backbone offers; the first is its default."""
