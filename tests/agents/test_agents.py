"""ABN policy networks and their training (CPU, small budgets): on real Breakout where the
game matters, on a fake Atari env where only its spaces do."""

import copy

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, PPO

from agents import ABNA2C, ABNPPO, ABNActorCritic, ABNPolicy, make_agent
from agents.attention import DEFAULT_ATTENTION, attention_spec
from agents.losses import attention_branch_loss
from envs import make_vec_env
from tests.fake_atari import fake_vec_env

SMALL = {"n_steps": 16, "batch_size": 16, "n_epochs": 2}
ABN = {"policy_kwargs": {"attention": "abn"}}
"""The attention branch, whose loss these tests train (the default design has none)."""


def breakout(n_envs=2, seed=0):
    return make_vec_env("breakout", n_envs, seed=seed, num_threads=1)


@pytest.mark.parametrize(("backbone", "size"), [("nature", 9), ("impala", 21)])
def test_output_shapes_and_attention_map(backbone, size):
    net = ABNActorCritic(4, attention_spec("abn"), backbone=backbone)
    obs = torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8)
    out = net(obs)
    assert out.action_logits.shape == (3, 4) and out.attention_logits.shape == (3, 4)
    assert out.value.shape == (3,) and out.attention_value.shape == (3,)
    assert out.attention.shape == (3, 1, size, size)
    assert out.attention.min() >= 0 and out.attention.max() <= 1
    assert out.attention.std() > 0, "the map varies over the screen"


def test_single_observation_matches_its_row_in_a_batch():
    """GroupNorm: a rollout's batch of one gives what an update's batch gives."""
    net = ABNActorCritic(4, attention_spec("abn"))
    obs = torch.randint(0, 256, (5, 4, 84, 84), dtype=torch.uint8)
    torch.testing.assert_close(net(obs[2:3]).attention, net(obs).attention[2:3])


def test_gradients_reach_the_attention_branch_through_both_losses():
    net = ABNActorCritic(4, attention_spec("abn"))
    obs = torch.randint(0, 256, (4, 4, 84, 84), dtype=torch.uint8)
    branch = net.attention.attention_branch

    net(obs).action_logits.sum().backward()  # perception loss: only through the map M
    assert branch.to_attention.weight.grad.abs().sum() > 0
    assert branch.to_maps.weight.grad.abs().sum() > 0
    assert branch.scores.weight.grad is None  # the GAP outputs do not act
    net.zero_grad(set_to_none=True)

    loss = attention_branch_loss(net(obs), torch.randn(4), value_coef=0.5)
    loss.backward()  # attention branch's loss: through its response maps
    assert branch.scores.weight.grad.abs().sum() > 0
    assert branch.to_maps.weight.grad.abs().sum() > 0
    assert net.policy_head.weight.grad is None  # the perception policy is a detached target


def train_pair(ours, stock, coef, options, steps=64):
    models = []
    for cls, kwargs in ((ours, {"attention_coef": coef}), (stock, {})):
        model = cls(ABNPolicy, fake_vec_env(), seed=0, device="cpu", **options, **kwargs, **ABN)
        model.learn(steps)
        models.append(model)
    return [dict(m.policy.named_parameters()) for m in models]


@pytest.mark.parametrize(
    ("ours", "stock", "options"),
    [
        (ABNPPO, PPO, SMALL),
        (ABNPPO, PPO, {**SMALL, "target_kl": 1e-4}),  # epochs end early on the KL estimate
        (ABNA2C, A2C, {"n_steps": 8}),
    ],
)
def test_coefficient_zero_equals_stable_baselines3(ours, stock, options):
    params, reference = train_pair(ours, stock, 0.0, options)
    assert params.keys() == reference.keys()
    for name, value in params.items():
        assert torch.equal(value, reference[name]), name
    params, reference = train_pair(ours, stock, 1.0, options)
    assert not all(torch.equal(v, reference[k]) for k, v in params.items())


def test_acting_and_evaluating_never_wait_on_distribution_checks(monkeypatch):
    """torch's checks of a distribution's arguments read device values back to the host."""

    def check(_):
        raise AssertionError("a distribution check ran")

    monkeypatch.setattr(torch, "_is_all_true", check)
    policy = ABNPPO("ABNCnnPolicy", fake_vec_env(), seed=0, device="cpu", **SMALL).policy
    obs = torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8)
    with torch.no_grad():
        actions, _, log_prob = policy(obs)
        _, evaluated, _ = policy.evaluate_actions(obs, actions)
        log_probs = torch.log_softmax(policy.network(obs).action_logits, dim=-1)
    expected = log_probs.gather(1, actions[:, None]).squeeze(1)
    torch.testing.assert_close(log_prob, expected)
    torch.testing.assert_close(evaluated, expected)


def test_ppo_logs_each_updates_mean_statistics():
    model = ABNPPO("ABNCnnPolicy", fake_vec_env(), seed=0, device="cpu", **SMALL, **ABN)
    model.learn(64)
    logged = model.logger.name_to_value
    assert 0 <= logged["train/clip_fraction"] <= 1
    assert logged["train/approx_kl"] > 0  # the policy moved within the update
    assert logged["train/entropy_loss"] < 0 and logged["train/attention_loss"] > 0


def test_save_and_load_predict_identically(tmp_path):
    model = ABNPPO("ABNCnnPolicy", breakout(), seed=1, device="cpu", **SMALL)
    model.learn(32)
    model.save(tmp_path / "agent.zip")
    obs = breakout(seed=9).reset()
    expected, _ = model.predict(obs, deterministic=True)
    for loader in (ABNPPO.load, PPO.load):
        loaded = loader(tmp_path / "agent.zip", device="cpu")
        assert isinstance(loaded.policy, ABNPolicy)
        actions, _ = loaded.predict(obs, deterministic=True)
        np.testing.assert_array_equal(actions, expected)
        with torch.no_grad():
            a = loaded.policy.network(torch.as_tensor(obs))
            b = model.policy.network(torch.as_tensor(obs))
        for x, y in zip(a, b, strict=True):
            assert (x is None and y is None) or torch.equal(x, y)
    assert loaded.policy.attention == model.policy.attention == DEFAULT_ATTENTION
    assert loaded.policy.spec == model.policy.spec == attention_spec()


def test_stable_baselines3_trains_the_policy_by_class():
    model = PPO(
        ABNPolicy, fake_vec_env(), device="cpu", policy_kwargs={"backbone": "impala"}, **SMALL
    )
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    model.learn(32)
    assert model.num_timesteps == 32
    after = model.policy.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), "PPO updated nothing"


@pytest.mark.parametrize(("algo", "policy"), [("ppo", "abn"), ("a2c", "abn"), ("ppo", "cnn")])
def test_short_breakout_training(algo, policy):
    options = SMALL if algo == "ppo" else {"n_steps": 8}
    model = make_agent(breakout(4), algo=algo, policy=policy, seed=0, device="cpu", **options)
    model.learn(256)
    assert model.num_timesteps == 256
    assert isinstance(model.policy, ABNPolicy) == (policy == "abn")


def test_unknown_names():
    with pytest.raises(ValueError, match="Unknown backbone 'resnet'"):
        ABNActorCritic(4, backbone="resnet")
    with pytest.raises(ValueError, match="Unknown algorithm 'dqn'"):
        make_agent(fake_vec_env(), algo="dqn")


def test_the_policy_refuses_observations_it_cannot_read():
    def policy(observation_space, action_space=None):
        action_space = action_space or spaces.Discrete(4)
        return ABNPolicy(observation_space, action_space, lambda _: 2.5e-4)

    channels_last = spaces.Box(0, 255, (84, 84, 4), np.uint8)
    with pytest.raises(ValueError, match=r"not observations of shape \(84, 84, 4\)"):
        policy(channels_last)
    with pytest.raises(ValueError, match="needs a Discrete action space"):
        policy(spaces.Box(0, 255, (4, 84, 84), np.uint8), spaces.Box(-1, 1, (2,)))
    assert policy(spaces.Box(0, 255, (4, 84, 84), np.uint8)).spec == attention_spec()


def _conv_weights(policy):
    return [p for p in policy.parameters() if p.ndim == 4]


@pytest.mark.parametrize("policy", ["abn", "cnn"])
def test_cpu_agents_train_channels_last_conv_weights_to_the_same_values(policy):
    model = make_agent(breakout(2), policy=policy, seed=0, device="cpu", **SMALL)
    fast = model.policy
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in _conv_weights(fast))
    plain = copy.deepcopy(fast).to(memory_format=torch.contiguous_format)
    assert all(p.is_contiguous() for p in _conv_weights(plain))
    observations = torch.randint(0, 256, (5, 4, 84, 84)).float()
    with torch.no_grad():
        probs = [p.get_distribution(observations).distribution.probs for p in (fast, plain)]
        values = [p.predict_values(observations) for p in (fast, plain)]
    assert torch.allclose(*probs, atol=1e-5) and torch.allclose(*values, atol=1e-4)
    before = [p.detach().clone() for p in _conv_weights(fast)]
    model.learn(64)  # (learning rate 0 at the end of a 32-step schedule)
    after = _conv_weights(fast)
    assert all(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in after)
