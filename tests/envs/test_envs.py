"""Env rollout tests on the real Breakout ROM, both backends."""

import numpy as np
import pytest

from envs import Protocol, make_env, make_vec_env
from envs.games import normalize_game

BACKENDS = ["ale", "gymnasium"]
# No random no-op starts: the emulator is then deterministic whatever the backend's RNG.
NO_NOOPS = Protocol("no-noops", sticky_action_probability=0.0, noop_max=0)


def play(venv, steps, seed=0):
    """Random actions for ``steps`` steps; returns lists of obs, rewards, dones, infos."""
    rng = np.random.default_rng(seed)
    trace = {"obs": [], "rewards": [], "dones": [], "infos": [], "actions": []}
    for _ in range(steps):
        actions = rng.integers(0, venv.action_space.n, venv.num_envs)
        obs, rewards, dones, infos = venv.step(actions)
        for key, value in zip(trace, (obs, rewards, dones, infos, actions), strict=True):
            trace[key].append(value)
    return trace


@pytest.mark.parametrize("backend", BACKENDS)
def test_shapes_and_dtypes(backend):
    venv = make_vec_env("Breakout", 3, backend=backend, seed=0)
    obs = venv.reset()
    assert obs.shape == (3, 4, 84, 84) and obs.dtype == np.uint8
    assert venv.observation_space.shape == (4, 84, 84)
    assert venv.action_space.n == 4
    obs, rewards, dones, infos = venv.step(np.zeros(3, dtype=np.int64))
    assert obs.shape == (3, 4, 84, 84) and obs.dtype == np.uint8
    assert rewards.shape == (3,) and dones.shape == (3,) and len(infos) == 3
    venv.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_same_games(backend):
    runs = []
    for seed in (7, 7, 8):
        venv = make_vec_env("breakout", 2, backend=backend, seed=seed)
        first = venv.reset()
        runs.append(np.stack([first, *play(venv, 40)["obs"]]))
        venv.close()
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2]), "another seed gives other no-op starts"


def test_backends_and_single_env_see_identical_observations():
    ale = make_vec_env("breakout", 1, backend="ale", protocol=NO_NOOPS, training=False)
    gym_vec = make_vec_env("breakout", 1, backend="gymnasium", protocol=NO_NOOPS, training=False)
    single = make_env("breakout", protocol=NO_NOOPS)
    obs_ale, obs_gym = ale.reset(), gym_vec.reset()
    obs_single, _ = single.reset(seed=0)
    assert np.array_equal(obs_ale[0], obs_gym[0]) and np.array_equal(obs_ale[0], obs_single)
    rng = np.random.default_rng(1)
    steps = 0
    while True:
        action = rng.integers(0, 4, 1)
        obs_ale, _, done, _ = ale.step(action)
        obs_gym, _, _, _ = gym_vec.step(action)
        obs_single, _, terminated, truncated, _ = single.step(int(action[0]))
        steps += 1
        assert np.array_equal(obs_ale, obs_gym), f"backends differ at step {steps}"
        if done[0]:
            assert terminated or truncated
            break
        assert np.array_equal(obs_ale[0], obs_single), f"make_env differs at step {steps}"
    assert steps > 100  # a whole random game, all five lives


@pytest.mark.parametrize("backend", BACKENDS)
def test_auto_reset_hands_over_terminal_observation(backend):
    venv = make_vec_env("breakout", 2, backend=backend, seed=3, training=False)
    venv.reset()
    trace = play(venv, 600)
    finished = [(t, i) for t, d in enumerate(trace["dones"]) for i in np.flatnonzero(d)]
    assert finished, "random play ends a Breakout game within 600 steps"
    for t, i in finished:
        info = trace["infos"][t][i]
        terminal, after = info["terminal_observation"], trace["obs"][t][i]
        assert terminal.shape == (4, 84, 84) and terminal.any()
        assert not np.array_equal(terminal, after)
        assert not after[:3].any(), "a new game starts from a zero-padded stack"
        assert info["episode"]["l"] > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_training_rules_keep_true_scores(backend):
    """Same seed and actions: the training env ends an episode at every lost life and clips
    rewards, while its reported game scores equal the evaluation env's raw reward sums."""
    train = make_vec_env("breakout", 1, backend=backend, seed=5, training=True)
    evaluate = make_vec_env("breakout", 1, backend=backend, seed=5, training=False)
    train.reset(), evaluate.reset()
    rng = np.random.default_rng(2)
    train_dones = raw_total = 0
    scores_at_life_loss = []
    for _ in range(2000):
        action = rng.integers(0, 4, 1)
        _, clipped, done_train, info_train = train.step(action)
        _, raw, done_eval, info_eval = evaluate.step(action)
        raw_total += raw[0]
        assert clipped[0] == np.sign(raw[0])
        train_dones += int(done_train[0])
        if done_train[0] and not done_eval[0]:
            assert "terminal_observation" in info_train[0] and "episode" not in info_train[0]
            scores_at_life_loss.append(raw_total)
        if done_eval[0]:
            assert done_train[0]
            assert info_eval[0]["episode"]["r"] == raw_total == info_train[0]["episode"]["r"]
            assert info_eval[0]["episode"]["l"] == info_train[0]["episode"]["l"]
            assert info_eval[0]["episode"]["lives_lost_at"] == scores_at_life_loss
            break
    else:
        pytest.fail("no game ended in 2000 random steps")
    assert train_dones == 5, "Breakout has five lives: four life losses and the game over"


def test_single_env_gives_colour_frames():
    env = make_env("breakout", seed=0)
    obs, info = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    _, _, _, _, info = env.step(1)
    frames = info["frames"]
    assert frames.shape == (4, 210, 160, 3) and frames.dtype == np.uint8
    assert info["lives"] == 5


def test_v5_protocol_repeats_actions():
    """Sticky actions: the same seed and actions give different games than without them."""
    traces = []
    for protocol in ("v5", NO_NOOPS):
        venv = make_vec_env("breakout", 1, protocol=protocol, seed=0)
        venv.reset()
        traces.append(np.stack(play(venv, 200, seed=4)["obs"]))
    assert not np.array_equal(*traces)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"game": "breakot"}, "did you mean breakout"),
        ({"n_envs": 0}, "n_envs must be at least 1"),
        ({"protocol": "v4"}, "Unknown protocol 'v4'"),
        ({"backend": "envpool"}, "Unknown backend 'envpool'"),
    ],
)
def test_bad_input_is_one_clear_sentence(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_vec_env(**{"game": "breakout", **kwargs})


def test_game_names():
    assert normalize_game("Breakout") == normalize_game("ALE/Breakout-v5") == "breakout"
    assert normalize_game("MsPacman") == "ms_pacman"
