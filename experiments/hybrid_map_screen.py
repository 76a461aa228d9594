"""Screening a finer softmax map: abnrl's CLI with the 20x20 softmax design patched.

The heads pick positions on conv1's 20x20 grid (keys from conv1, the motion channel
and the spatial basis, through a 16-channel 3x3 conv) and pool conv1's features and
the basis there; the same distributions, summed into conv2's 9x9 cells, pool conv2's
features. Runs and checkpoints made through it load only through it:

    python -m experiments.hybrid_map_screen train --map-size 20 --run-dir runs/hybrid20 \
        --seed 0 --n-envs 8 --device cpu --threads 1 --stop-at 2000000
"""

import sys

import torch
import torch.nn.functional as F
from torch import nn

import agents.attention.softmax as sm
from agents.attention.output import AttentionOutput

_init = sm.SpatialSoftmaxAttention.__init__


def __init__(self, parts, n_actions, *, heads=4, key_dim=32, temperature=5.0):
    _init(self, parts, n_actions, heads=heads, key_dim=key_dim, temperature=temperature)
    assert parts.map_size == 20
    basis_channels = self.basis.shape[0]
    key_in = parts.channels + basis_channels
    self.to_keys = nn.Sequential(
        nn.Conv2d(key_in, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, key_dim, 1)
    )
    self.conv2 = nn.Sequential(nn.Conv2d(32, 64, kernel_size=4, stride=2), nn.ReLU())
    self.readout = nn.Sequential(nn.Linear(heads * (key_in + 64), parts.features_dim), nn.ReLU())


def forward(self, features, edit_maps=None):
    batch = features.shape[0]
    size = features.shape[2:]
    keyed = torch.cat([features, self.basis.expand(batch, -1, -1, -1)], dim=1)
    deep = self.conv2(features[:, :32])  # (B, 64, 9, 9)
    keys = F.normalize(self.to_keys(keyed).flatten(2), dim=1)
    queries = F.normalize(self.queries, dim=1)
    scores = torch.einsum("kd,bdn->bkn", queries, keys) * self.log_temperature.exp()[:, None]
    weights = scores.softmax(dim=-1).view(batch, -1, *size)
    if edit_maps is not None:
        weights = edit_maps(weights)
    pooled = torch.einsum("bkn,bcn->bkc", weights.flatten(2), keyed.flatten(2))
    # the same distributions, summed into conv2's coarser cells, pool conv2's features
    coarse = F.adaptive_avg_pool2d(weights, deep.shape[2:]).flatten(2)
    coarse = coarse / coarse.sum(dim=-1, keepdim=True)
    pooled_deep = torch.einsum("bkn,bcn->bkc", coarse, deep.flatten(2))
    latent = self.readout(torch.cat([pooled, pooled_deep], dim=2).flatten(1))
    return AttentionOutput(latent, latent, weights, None)


sm.SpatialSoftmaxAttention.__init__ = __init__
sm.SpatialSoftmaxAttention.forward = forward

if __name__ == "__main__":
    from abnrl.cli import main

    sys.exit(main())
