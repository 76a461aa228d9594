"""What each attention head follows: its centre of mass against the ball and the player.

The pointing game asks whether a map's maximum lies on an object. A head can follow an
object without its maximum on it: one that watches the space just above Breakout's
paddle moves left and right with the paddle, yet its maximum is a cell above it. So, per
head and frame: the head's centre of mass (the map read as a distribution over
positions, in observation pixels), and whether the policy's top action changes when
that head alone is replaced by its spatial mean; over frames: the correlation of the
centre's x and y with the ball's and with the player's (Breakout's paddle moves in x,
Pong's in y; a coordinate that never changes has no correlation), where the head sits
relative to the player (object kind ``player``: Breakout's paddle, Pong's right paddle,
...), and how often the head alone decides the action.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from agents.actor_critic import ABNActorCritic, ABNPolicyOutput
from agents.maps import as_distributions
from vision.explain.registration import Registration


def head_centres(maps: Tensor, registration: Registration) -> Tensor:
    """(N, K, 2): each head's centre of mass (x, y) in observation pixels (a pixel's centre
    at +0.5), for (N, K, h, w) maps of non-negative weights (a cell's weight sits at the
    centre that ``registration`` gives it)."""
    height, width = maps.shape[-2:]
    weights = as_distributions(maps.clamp_min(0)).unflatten(-1, (height, width))
    xs = registration.centres(1, maps.device) + 0.5
    ys = registration.centres(0, maps.device) + 0.5
    x = (weights.sum(dim=2) * xs).sum(dim=-1)
    y = (weights.sum(dim=3) * ys).sum(dim=-1)
    return torch.stack([x, y], dim=-1)


def head_decisions(
    network: ABNActorCritic, observations: Tensor, output: ABNPolicyOutput
) -> Tensor:
    """(N, K) 1.0 where replacing head k's map alone by its spatial mean changes the top
    action of ``output``, the network's output on the observations as they are."""

    def flatten_head(k: int):
        def edit(maps: Tensor) -> Tensor:
            edited = maps.clone()
            edited[:, k] = maps[:, k].mean(dim=(1, 2), keepdim=True).expand_as(maps[:, k])
            return edited

        return edit

    top = output.action_logits.argmax(dim=-1)
    with torch.no_grad():
        changes = [
            network(observations, edit_maps=flatten_head(k)).action_logits.argmax(dim=-1) != top
            for k in range(output.attention.shape[1])
        ]
    return torch.stack(changes, dim=1).float()


def _correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's r; None where either side does not vary (or fewer than 2 frames). A
    constant's std can come out as 1e-15 rather than 0 (Pong's paddle x), so the range
    decides."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


@dataclass
class HeadTracks:
    """Per scored frame: every head's centre and decisions, and the objects' centres."""

    centres: list[np.ndarray] = field(default_factory=list)
    """(K, 2) per frame."""
    decisions: list[np.ndarray] = field(default_factory=list)
    """(K,) per frame: 1.0 where flattening that head alone changes the top action."""
    balls: list[np.ndarray] = field(default_factory=list)
    """(2,) per frame: the ball's centre; NaN without the ball."""
    players: list[np.ndarray] = field(default_factory=list)
    """(2,) per frame: the player's centre; NaN without the player."""

    def add(
        self,
        network: ABNActorCritic,
        observations: Tensor,
        output: ABNPolicyOutput,
        balls: Tensor,
        players: Tensor,
        registration: Registration,
    ) -> None:
        """Measure a batch (``output``: the network's on the observations as they are):
        ``balls`` and ``players`` (N, 2) with NaN rows without the object; the maps' cells
        where ``registration`` places them."""
        self.centres.extend(head_centres(output.attention, registration).cpu().numpy())
        self.decisions.extend(head_decisions(network, observations, output).cpu().numpy())
        self.balls.extend(balls.cpu().numpy())
        self.players.extend(players.cpu().numpy())

    def summary(self) -> list[dict]:
        """Per head: mean and spread of its centre, its correlations with the ball and
        the player, its mean offset from the player's centre (x, y; y < 0 above it) over
        the frames with the player, and how often it alone decides."""
        if not self.centres:
            return []
        centres, decisions = np.stack(self.centres), np.stack(self.decisions)
        balls, players = np.stack(self.balls), np.stack(self.players)
        with_ball, with_player = ~np.isnan(balls[:, 0]), ~np.isnan(players[:, 0])
        player_x, player_y = players[with_player, 0], players[with_player, 1]
        frames = len(centres)
        heads = []
        for k in range(centres.shape[1]):
            x, y = centres[:, k, 0], centres[:, k, 1]
            heads.append(
                {
                    "x": float(x.mean()),
                    "y": float(y.mean()),
                    "x_std": float(x.std()),
                    "y_std": float(y.std()),
                    "ball_x_r": _correlation(x[with_ball], balls[with_ball, 0]),
                    "ball_y_r": _correlation(y[with_ball], balls[with_ball, 1]),
                    "player_x_r": _correlation(x[with_player], player_x),
                    "player_y_r": _correlation(y[with_player], player_y),
                    "player_dx": _mean(x[with_player] - player_x),
                    "player_dy": _mean(y[with_player] - player_y),
                    "decides": float(decisions[:, k].mean()),
                    "decides_sem": float(decisions[:, k].std(ddof=1) / np.sqrt(frames))
                    if frames > 1
                    else None,
                    "frames": frames,
                    "ball_frames": int(with_ball.sum()),
                    "player_frames": int(with_player.sum()),
                }
            )
        return heads
