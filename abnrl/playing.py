"""Playing games with a policy network: one action rule, one game loop.

``ActionRule`` is how every command chooses an agent's actions from its network's
action logits: sampled from their softmax, or epsilon-greedy (the most probable action,
a uniformly random one with probability ``agents.greedy.GREEDY_EPSILON``). A network
with ``acts_greedily = True`` (a Q-learner's view, ``agents.policy_view``) is always
played epsilon-greedy. The rule's draws come from generators of its own, seeded with its
seed and made on the CPU, so a seed gives the same actions on any device and leaves
the caller's random streams as they were.

``play_games`` plays full games (all lives; a life loss does not end a game) of the
agent's game on the agent's protocol, one after another, game ``i`` reset with seed
``seed + i``, and yields every agent step with what ``abnrl watch``, ``abnrl analyze``
and training's attention videos use: the observation, the network's output on it, the
action, the console RAM, the emulator frames, the reward and the lives left.
``abnrl eval`` plays on the fast vector env instead (``abnrl.training.evaluation``
says why) and chooses its actions with the same rule.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from agents.greedy import with_random_actions
from envs import emulator, make_env


class ActionRule:
    """Chooses actions from action logits: sampled, or epsilon-greedy when ``greedy``.

    Args:
        seed: seeds the sampling (a torch generator) and the epsilon-greedy draws (a
            NumPy generator).
        greedy: the most probable action, except with probability
            ``agents.greedy.GREEDY_EPSILON`` a uniformly random one.
    """

    def __init__(self, seed: int, *, greedy: bool = False) -> None:
        self.greedy = greedy
        self._generator = torch.Generator().manual_seed(seed)
        self._rng = np.random.default_rng(seed)

    @classmethod
    def for_network(cls, network: nn.Module, seed: int, *, deterministic: bool) -> ActionRule:
        """The rule ``network`` is played by: epsilon-greedy when ``deterministic`` or when
        the network acts greedily (``acts_greedily``), else sampled."""
        return cls(seed, greedy=deterministic or bool(getattr(network, "acts_greedily", False)))

    def __call__(self, logits: Tensor) -> np.ndarray:
        """(N,) int64 actions for (N, A) action logits (on any device)."""
        probabilities = logits.detach().float().cpu().softmax(dim=-1)  # (N, A)
        if self.greedy:
            best = probabilities.argmax(dim=-1).numpy()
            return with_random_actions(best, probabilities.shape[-1], self._rng)
        return torch.multinomial(probabilities, 1, generator=self._generator)[:, 0].numpy()


@dataclass(frozen=True)
class Step:
    """One agent step of a game, yielded once the action has been taken."""

    game: int
    """The game's index (0, 1, ...): it was reset with seed ``seed + game``."""
    step: int
    """Agent steps taken before this one in the game."""
    observation: Tensor
    """uint8 (1, 4, 84, 84) on the network's device: the observation the network saw."""
    output: Any
    """The network's output on ``observation`` (``action_logits``, ``value``, ...)."""
    action: int
    ram: np.ndarray
    """The console RAM when the action was chosen."""
    frame: np.ndarray
    """The last colour frame (210, 160, 3) the observation covers."""
    frames: list[np.ndarray]
    """The colour frames the action produced, after the reset's at a game's first step."""
    reward: float
    """The raw (unclipped) reward of the step."""
    lives: int
    """Lives left after the step."""
    done: bool
    """The game ended with this step."""
    last: bool
    """The game's last step played: it ended, or it reached ``max_steps``."""


def network_device(network: nn.Module) -> torch.device:
    """Where ``network``'s parameters are (the CPU for one without any)."""
    parameter = next(network.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


@contextmanager
def evaluation_mode(network: nn.Module) -> Iterator[nn.Module]:
    """``network`` in evaluation mode (normalisation layers on their running statistics),
    its mode restored afterwards."""
    training = network.training
    network.eval()
    try:
        yield network
    finally:
        network.train(training)


def action_names(game: str, protocol: str) -> list[str]:
    """The names of ``game``'s actions, in the order of a network's logits."""
    env = make_env(game, protocol=protocol)
    try:
        return list(emulator(env).get_action_meanings())
    finally:
        env.close()


def play_games(
    network: nn.Module,
    game: str,
    *,
    protocol: str,
    rule: ActionRule,
    seed: int,
    episodes: int,
    max_steps: int | None = None,
) -> Generator[Step, None, None]:
    """Play ``episodes`` full games with ``network`` and yield every agent step.

    Stopping early (``break``) ends the play and closes the game.

    Args:
        network: ``observations -> output`` with ``action_logits``
            (``agents.policy_view.policy_network``); played in evaluation mode.
        game: the ALE game the network plays (the agent's).
        protocol: the rules the games are played by (the agent's: ``classic`` or ``v5``).
        rule: chooses the actions from the network's logits (its draws run on over the
            games).
        seed: game ``i`` is reset with ``seed + i``.
        episodes: games to play.
        max_steps: cap on a game's agent steps; None for none.
    """
    device = network_device(network)
    env = make_env(game, protocol=protocol, seed=seed)
    ale = emulator(env).ale
    try:
        with evaluation_mode(network):
            for index in range(episodes):
                observation, info = env.reset(seed=seed + index)
                frames = list(info["frames"])
                frame, step, done = frames[-1], 0, False
                while not done and (max_steps is None or step < max_steps):
                    observations = torch.as_tensor(observation[None], device=device)
                    with torch.no_grad():  # not around the yield: consumers may need grads
                        output = network(observations)
                    action = int(rule(output.action_logits)[0])
                    ram = ale.getRAM()
                    observation, reward, terminated, truncated, info = env.step(action)
                    frames.extend(info["frames"])
                    done = bool(terminated or truncated)
                    last = done or (max_steps is not None and step + 1 >= max_steps)
                    yield Step(
                        index,
                        step,
                        observations,
                        output,
                        action,
                        ram,
                        frame,
                        frames,
                        float(reward),
                        int(info["lives"]),
                        done,
                        last,
                    )
                    frame, frames, step = frames[-1], [], step + 1
    finally:
        env.close()
