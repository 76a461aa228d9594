"""Play full games with an agent and summarise the true scores.

The games are played on the fast vector env, ``n_envs`` side by side, not by
``abnrl.playing.play_games`` (one game at a time on the single env that keeps colour
frames for the videos): the vector env steps several times faster, each of its envs
plays a fixed share of the games from its own seed, and the published evaluation
figures were made on it; one game at a time would change which seeds are played and
the order of the draws. The actions are chosen as every command chooses them, by
``abnrl.playing.ActionRule`` on the policy network's logits (all the games' logits of
a step in one call).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from torch import nn

from abnrl.playing import ActionRule, evaluation_mode, network_device
from agents.policy_view import policy_network
from envs import make_vec_env


@dataclass(frozen=True)
class EvalResult:
    """Scores of evaluation games (full games, all lives, unclipped)."""

    scores: list[float]
    lengths: list[int]
    """Game lengths in agent steps (4 frames each)."""
    lives_lost_at: list[list[float]]
    """Each game's score when it lost each life but its last (where its play breaks down)."""
    game: str
    protocol: str
    deterministic: bool
    """Played epsilon-greedy (asked for, or an agent that acts greedily), not sampled."""

    def summary(self) -> dict[str, float]:
        scores = np.asarray(self.scores)
        return {
            "episodes": len(scores),
            "mean": float(scores.mean()),
            "std": float(scores.std()),
            # standard error of the mean, from the sample standard deviation
            "se": float(scores.std(ddof=1) / np.sqrt(len(scores))) if len(scores) > 1 else 0.0,
            "median": float(np.median(scores)),
            "min": float(scores.min()),
            "max": float(scores.max()),
            "length_mean": float(np.mean(self.lengths)),
        }

    def to_json(self) -> dict:
        return {**asdict(self), "summary": self.summary()}


def evaluate(
    agent: BaseAlgorithm | nn.Module,
    game: str,
    *,
    episodes: int = 30,
    protocol: str,
    seed: int = 10_000,
    deterministic: bool = False,
    n_envs: int = 8,
) -> EvalResult:
    """Play ``episodes`` games on the evaluation rules (life loss does not end a game).

    Each of the parallel envs plays a fixed share of the games, so short games are
    not over-represented (as SB3's ``evaluate_policy`` does).

    Args:
        agent: the agent (its policy network plays) or a policy network
            (``observations -> output`` with ``action_logits``).
        game: the ALE game (the agent's).
        episodes: number of full games.
        protocol: the evaluation protocol (the agent's).
        seed: seed of the evaluation: env ``i`` of ``n_envs`` starts its first game with
            seed ``seed + i`` and plays its share of the games one after another; the
            action rule (``abnrl.playing.ActionRule``) is seeded with ``seed``.
        deterministic: take the most probable action instead of sampling one
            (epsilon-greedy, ``abnrl.playing.ActionRule``).
        n_envs: games played side by side.
    """
    network = agent if isinstance(agent, nn.Module) else policy_network(agent.policy)
    rule = ActionRule.for_network(network, seed, deterministic=deterministic)
    device = network_device(network)
    n_envs = max(1, min(n_envs, episodes))
    quota = np.array([(episodes + i) // n_envs for i in range(n_envs)])
    venv = make_vec_env(game, n_envs, protocol=protocol, seed=seed, training=False)
    obs = venv.reset()
    scores: list[float] = []
    lengths: list[int] = []
    lives_lost_at: list[list[float]] = []
    played = np.zeros(n_envs, dtype=int)
    with evaluation_mode(network):
        while (played < quota).any():
            with torch.no_grad():
                output = network(torch.as_tensor(obs, device=device))
            obs, _, _, infos = venv.step(rule(output.action_logits))
            for i, info in enumerate(infos):
                if "episode" in info and played[i] < quota[i]:
                    played[i] += 1
                    scores.append(info["episode"]["r"])
                    lengths.append(info["episode"]["l"])
                    lives_lost_at.append(info["episode"]["lives_lost_at"])
    venv.close()
    return EvalResult(scores, lengths, lives_lost_at, game, protocol, rule.greedy)
