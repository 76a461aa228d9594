"""One way to play: ``abnrl eval``, ``watch`` and ``analyze`` choose their actions by one
rule (``abnrl.playing.ActionRule``), take the same actions from the same seed as before it,
and play on the agent's own protocol."""

import numpy as np
import pytest
import torch
from torch import nn

from abnrl import playing
from abnrl.analysis.attention import analyse
from abnrl.analysis.sources import RANDOM
from abnrl.media.recording import record_games
from abnrl.playing import ActionRule
from abnrl.training import evaluation
from abnrl.training.evaluation import evaluate
from agents.greedy import with_random_actions
from agents.policy_view import PolicyOutput
from tests.abnrl.cli import TINY, abnrl

LOGITS = torch.tensor([0.3, 1.2, -0.4, 0.8])
STEPS = 60
SEED = 31


class FixedPolicy(nn.Module):
    """The same logits whatever it sees: its actions depend on the rule and the seed alone."""

    def __init__(self, acts_greedily: bool = False) -> None:
        super().__init__()
        self.logits = nn.Parameter(LOGITS.clone())
        self.acts_greedily = acts_greedily

    def forward(self, observations):
        n = len(observations)
        return PolicyOutput(self.logits.repeat(n, 1), torch.zeros(n, device=observations.device))


@pytest.fixture
def played(monkeypatch):
    """What the games are made with and played: each env's protocol and the actions it is
    stepped with (the first game's of a vector env), whichever command makes it."""
    log = {"protocols": [], "actions": []}

    def spy(make):
        def made(*args, **kwargs):
            env = make(*args, **kwargs)
            log["protocols"].append(kwargs["protocol"])
            actions: list[int] = []
            log["actions"].append(actions)
            step = env.step

            def logged(action):
                actions.append(int(np.asarray(action).reshape(-1)[0]))
                return step(action)

            env.step = logged
            return env

        return made

    monkeypatch.setattr(playing, "make_env", spy(playing.make_env))
    monkeypatch.setattr(evaluation, "make_vec_env", spy(evaluation.make_vec_env))
    return log


def games_played(log) -> list[list[int]]:
    return [actions for actions in log["actions"] if actions]  # not the action names' env


def test_eval_watch_and_analyze_sample_the_same_actions_from_the_same_seed(played, tmp_path):
    # The draws as every command made them before the rule was shared.
    generator = torch.Generator().manual_seed(SEED)
    probabilities = LOGITS.softmax(dim=0)
    expected = [int(torch.multinomial(probabilities, 1, generator=generator)) for _ in range(STEPS)]
    network = FixedPolicy()
    evaluate(network, "breakout", episodes=1, n_envs=1, protocol="classic", seed=SEED)
    record_games(
        network, "breakout", tmp_path / "watch.mp4", protocol="classic", explainers=[],
        max_frames=4 * STEPS + 200, seed=SEED,
    )  # fmt: skip
    analyse(
        network, game="breakout", protocol="classic", episodes=1, every=STEPS,
        max_steps_per_game=STEPS, sources=(RANDOM,), seed=SEED, curve_steps=0, examples=0,
    )  # fmt: skip
    eval_actions, watch_actions, analyze_actions = games_played(played)
    assert analyze_actions == expected
    assert eval_actions[:STEPS] == watch_actions[:STEPS] == expected
    assert len(set(expected)) > 1  # sampled, not greedy


def test_greedy_play_is_epsilon_greedy_from_the_same_seed_everywhere(played, tmp_path):
    rng = np.random.default_rng(SEED)
    best = int(LOGITS.argmax())
    expected = [int(with_random_actions(np.array([best]), 4, rng)[0]) for _ in range(STEPS)]
    evaluate(
        FixedPolicy(), "breakout", episodes=1, n_envs=1, protocol="classic", seed=SEED,
        deterministic=True,
    )  # fmt: skip
    record_games(
        FixedPolicy(), "breakout", tmp_path / "watch.mp4", protocol="classic", explainers=[],
        max_frames=4 * STEPS + 200, seed=SEED, deterministic=True,
    )  # fmt: skip
    # A network that acts greedily (a Q-learner's) is played epsilon-greedy, even sampled.
    analyse(
        FixedPolicy(acts_greedily=True), game="breakout", protocol="classic", episodes=1,
        every=STEPS, max_steps_per_game=STEPS, sources=(RANDOM,), seed=SEED, curve_steps=0,
        examples=0,
    )  # fmt: skip
    eval_actions, watch_actions, analyze_actions = games_played(played)
    assert analyze_actions == expected
    assert eval_actions[:STEPS] == watch_actions[:STEPS] == expected
    assert expected.count(best) < STEPS  # some random actions among the greedy ones


def test_the_rule_draws_on_generators_of_its_own():
    torch.manual_seed(5)
    np.random.seed(5)
    draws = torch.rand(1), np.random.random()
    torch.manual_seed(5)
    np.random.seed(5)
    logits = LOGITS.expand(3, -1)
    sampled, greedy = ActionRule(SEED), ActionRule(SEED, greedy=True)
    assert sampled(logits).shape == greedy(logits).shape == (3,)
    assert (torch.rand(1), np.random.random()) == draws
    assert ActionRule.for_network(FixedPolicy(acts_greedily=True), 0, deterministic=False).greedy
    assert not ActionRule.for_network(FixedPolicy(), 0, deterministic=False).greedy


def test_a_v5_agent_is_played_on_the_v5_rules_by_eval_watch_and_analyze(played, tmp_path):
    run = tmp_path / "v5"
    abnrl("train", "--total-steps", "64", "--protocol", "v5", "--run-dir", run, *TINY)
    assert played["protocols"] == []  # training's envs are no command's
    abnrl("eval", run, "--episodes", "1", "--n-envs", "1", "--out", tmp_path / "eval.json")
    abnrl("watch", run, "--max-frames", "200", "--explainer", "none", "--out", tmp_path / "w.mp4")
    abnrl(
        "analyze", run, "--episodes", "1", "--max-steps-per-game", "20", "--every", "10",
        "--maps", "random", "--no-curves", "--out", tmp_path / "analysis",
    )  # fmt: skip
    assert len(games_played(played)) == 3
    assert set(played["protocols"]) == {"v5"}
