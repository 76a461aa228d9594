"""Play full games with an agent and summarise the true scores."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import cast

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm

from agents.greedy import with_random_actions
from envs import discrete_actions, make_vec_env


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
    model: BaseAlgorithm,
    game: str,
    *,
    episodes: int = 30,
    protocol: str = "classic",
    seed: int = 10_000,
    deterministic: bool = False,
    n_envs: int = 8,
) -> EvalResult:
    """Play ``episodes`` games on the evaluation rules (life loss does not end a game).

    Each of the parallel envs plays a fixed share of the games, so short games are
    not over-represented (as SB3's ``evaluate_policy`` does).

    Args:
        model: the agent; ``model.predict`` picks actions.
        game: the ALE game.
        episodes: number of full games.
        protocol: the evaluation protocol.
        seed: seed of the evaluation: env ``i`` of ``n_envs`` starts its first game with
            seed ``seed + i`` and plays its share of the games one after another; the
            policy's sampling and the epsilon-greedy draws are seeded with ``seed``.
        deterministic: take the most probable action instead of sampling one (with
            ``agents.greedy.GREEDY_EPSILON``).
        n_envs: games played side by side.
    """
    n_envs = max(1, min(n_envs, episodes))
    quota = np.array([(episodes + i) // n_envs for i in range(n_envs)])
    venv = make_vec_env(game, n_envs, protocol=protocol, seed=seed, training=False)
    obs = venv.reset()
    scores: list[float] = []
    lengths: list[int] = []
    lives_lost_at: list[list[float]] = []
    played = np.zeros(n_envs, dtype=int)
    rng = np.random.default_rng(seed)
    device = getattr(model, "device", torch.device("cpu"))
    # The policy's sampling is seeded too, on RNGs of its own: an evaluation repeats
    # exactly, and one during training leaves training's random stream as it was.
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        while (played < quota).any():
            actions, _ = model.predict(cast(np.ndarray, obs), deterministic=deterministic)
            if deterministic:
                actions = with_random_actions(actions, discrete_actions(model.action_space), rng)
            obs, _, _, infos = venv.step(actions)
            for i, info in enumerate(infos):
                if "episode" in info and played[i] < quota[i]:
                    played[i] += 1
                    scores.append(info["episode"]["r"])
                    lengths.append(info["episode"]["l"])
                    lives_lost_at.append(info["episode"]["lives_lost_at"])
    venv.close()
    return EvalResult(scores, lengths, lives_lost_at, game, protocol, deterministic)
