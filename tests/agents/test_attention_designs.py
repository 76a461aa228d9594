"""The attention designs: output contract, dependence edits, losses, save and load."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from stable_baselines3 import PPO

from abnrl.pretrained import pretrained_checkpoint
from abnrl.training.checkpoints import load_checkpoint
from agents import ABNPPO, ABNActorCritic, ABNPolicy, channels_last_on_cpu, make_agent
from agents.actor_critic import motion_channel
from agents.attention import ATTENTIONS, attention_spec, saved_attention_spec
from agents.losses import attention_branch_loss, map_entropy, map_spread
from envs import make_vec_env
from tests.data import GROUPNORM_AGENT

SMALL = {"n_steps": 16, "batch_size": 16, "n_epochs": 2}
HEADS = {"abn": 1, "abn-groupnorm": 1, "mask": 2, "softmax": 3}


def observations(count=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, 4, 84, 84), dtype=torch.uint8, generator=generator)


@pytest.mark.parametrize("map_size", [9, 20])
@pytest.mark.parametrize("attention", ATTENTIONS)
def test_each_design_returns_one_map_per_head(attention, map_size):
    net = ABNActorCritic(4, saved_attention_spec(attention, {"heads": 3}), map_size=map_size)
    out = net(observations())
    assert out.action_logits.shape == (3, 4) and out.value.shape == (3,)
    assert out.attention.shape == (3, HEADS[attention], map_size, map_size)
    assert out.attention.min() >= 0 and out.attention.max() <= 1
    assert out.attention.flatten(2).std(dim=-1).min() > 0, "every map varies over the screen"
    has_branch = attention.startswith("abn")
    assert (out.attention_logits is not None) == has_branch
    assert (out.attention_value is not None) == has_branch
    if attention == "softmax":  # each head is a distribution over positions
        sums = out.attention.flatten(2).sum(dim=-1)
        torch.testing.assert_close(sums, torch.ones_like(sums))


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_a_single_observation_matches_its_row_in_a_batch(attention):
    net = ABNActorCritic(4, attention_spec(attention))
    obs = observations(5)
    one, batch = net(obs[2:3]), net(obs)
    torch.testing.assert_close(one.attention, batch.attention[2:3])
    torch.testing.assert_close(one.action_logits, batch.action_logits[2:3])


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_edited_maps_are_the_maps_that_act(attention):
    net = ABNActorCritic(4, attention_spec(attention))
    obs = observations()
    with torch.no_grad():
        clean = net(obs)
        same = net(obs, edit_maps=lambda maps: maps)
        flat = net(obs, edit_maps=lambda maps: maps.mean(dim=(2, 3), keepdim=True).expand_as(maps))
    torch.testing.assert_close(same.action_logits, clean.action_logits)
    assert not torch.allclose(flat.action_logits, clean.action_logits)
    assert torch.equal(flat.attention.amax(dim=(2, 3)), flat.attention.amin(dim=(2, 3)))


def map_logits(net, obs):
    """The ABN map's values before the sigmoid (after its norm, if any)."""
    captured = []
    hook = net.attention.attention_branch.attention_norm.register_forward_hook(
        lambda _module, _inputs, output: captured.append(output)
    )
    with torch.no_grad():
        net(obs)
    hook.remove()
    return captured[0]


def test_the_authors_abn_map_is_not_pinned_but_the_groupnorm_map_is():
    """GroupNorm on the one-channel map fixes each map's mean and spread before the sigmoid."""
    for attention, pinned in (("abn-groupnorm", True), ("abn", False)):
        torch.manual_seed(0)
        net = ABNActorCritic(4, attention_spec(attention))
        conv = net.attention.attention_branch.to_attention
        assert conv.kernel_size == ((1, 1) if pinned else (3, 3))
        per_map_mean = map_logits(net, observations(4)).flatten(1).mean(dim=1)
        assert torch.allclose(per_map_mean, per_map_mean[:1], atol=1e-4) == pinned


def test_map_entropy_is_one_for_a_flat_map_and_zero_for_a_point():
    flat = torch.full((2, 3, 9, 9), 0.4)
    point = torch.zeros(2, 3, 9, 9)
    point[..., 4, 4] = 1.0
    assert map_entropy(flat).item() == pytest.approx(1.0)
    assert map_entropy(point).item() == pytest.approx(0.0, abs=1e-6)


def test_map_entropy_penalty_trains_the_map_to_be_sharper():
    torch.manual_seed(0)
    net = ABNActorCritic(4, attention_spec("softmax", heads=4, motion=False))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    obs = observations(8)
    start = map_entropy(net(obs).attention).item()
    for _ in range(20):
        loss = map_entropy(net(obs).attention)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert map_entropy(net(obs).attention).item() < start - 0.1


def test_map_spread_is_zero_for_parked_heads_and_one_for_heads_that_visit_every_cell():
    parked = torch.zeros(81, 2, 9, 9)
    parked[:, :, 2, 3] = 1.0
    visiting = torch.eye(81).reshape(81, 1, 9, 9).repeat(1, 2, 1, 1)  # frame i: cell i
    assert map_spread(parked).item() == pytest.approx(0.0, abs=1e-6)
    assert map_spread(visiting).item() == pytest.approx(1.0)
    assert map_entropy(visiting).item() == pytest.approx(0.0, abs=1e-6)


def sharpened(spread_coef: float) -> tuple[float, float]:
    """(entropy, spread) of a softmax net's maps after 60 steps on entropy - c * spread
    (enough steps that the result does not hang on the float rounding of a thread count)."""
    torch.manual_seed(0)
    net = ABNActorCritic(4, attention_spec("softmax", heads=2, motion=False))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    obs = observations(16)
    for _ in range(60):
        maps = net(obs).attention
        loss = map_entropy(maps) - spread_coef * map_spread(maps)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        maps = net(obs).attention
    return map_entropy(maps).item(), map_spread(maps).item()


def test_the_spread_term_keeps_sharpened_heads_moving_between_frames():
    entropy_alone, spread_alone = sharpened(0.0)
    entropy_both, spread_both = sharpened(1.0)
    assert entropy_alone < 0.2 and spread_alone < 0.2  # sharp, and on the same cell
    assert entropy_both < 0.5 and spread_both > spread_alone + 0.3


def test_designs_without_a_branch_have_no_branch_loss():
    out = ABNActorCritic(4, attention_spec("mask"))(observations())
    loss = attention_branch_loss(out, torch.randn(3), value_coef=0.5)
    assert loss.item() == 0.0 and loss.shape == ()


def breakout(seed=0):
    return make_vec_env("breakout", 2, seed=seed, num_threads=1)


@pytest.mark.parametrize("attention", ["mask", "softmax"])
def test_coefficient_zero_equals_stable_baselines3_for_every_design(attention):
    kwargs = {"seed": 0, "device": "cpu", "policy_kwargs": {"attention": attention}, **SMALL}
    # Each model is made and trained in turn: making one seeds torch's global RNG.
    ours = ABNPPO(ABNPolicy, breakout(), attention_coef=0.0, **kwargs)
    ours.learn(32)
    stock = PPO(ABNPolicy, breakout(), **kwargs)
    stock.learn(32)
    reference = dict(stock.policy.named_parameters())
    for name, value in ours.policy.named_parameters():
        assert torch.equal(value, reference[name]), name
    entropic = ABNPPO(ABNPolicy, breakout(), map_entropy_coef=0.1, **kwargs)
    entropic.learn(32)
    assert not all(torch.equal(v, reference[k]) for k, v in entropic.policy.named_parameters()), (
        "the map entropy term changes the update"
    )
    assert 0 < entropic.logger.name_to_value["train/map_entropy"] <= 1
    spreading = ABNPPO(ABNPolicy, breakout(), map_spread_coef=0.1, **kwargs)
    spreading.learn(32)
    assert not all(torch.equal(v, reference[k]) for k, v in spreading.policy.named_parameters()), (
        "the map spread term changes the update"
    )
    assert 0 < spreading.logger.name_to_value["train/map_spread"] <= 1


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_every_design_saves_and_loads(tmp_path, attention):
    policy_kwargs = {
        "attention": attention,
        "map_size": 20,
        **saved_attention_spec(attention, {"heads": 2}).options(),
    }
    model = ABNPPO(
        "ABNCnnPolicy",
        breakout(),
        seed=1,
        device="cpu",
        policy_kwargs=policy_kwargs,
        map_spread_coef=0.2,
    )
    model.save(tmp_path / "agent.zip")
    loaded = ABNPPO.load(tmp_path / "agent.zip", device="cpu")
    assert (loaded.policy.attention, loaded.policy.map_size) == (attention, 20)
    assert loaded.map_spread_coef == 0.2
    obs = torch.as_tensor(breakout(seed=9).reset())
    with torch.no_grad():
        a, b = loaded.policy.network(obs), model.policy.network(obs)
    torch.testing.assert_close(a.attention, b.attention, rtol=0, atol=0)
    torch.testing.assert_close(a.action_logits, b.action_logits, rtol=0, atol=0)


def test_agents_saved_before_the_designs_load_as_the_groupnorm_branch():
    model, _ = load_checkpoint(GROUPNORM_AGENT, device="cpu")
    assert model.policy.attention == "abn-groupnorm"
    assert model.map_spread_coef == 0.0  # saved before the option: the default
    branch = model.policy.network.attention.attention_branch
    assert branch.to_attention.kernel_size == (1, 1)
    assert np.isfinite(branch.to_attention.weight.detach().numpy()).all()
    out = model.policy.network(observations(2))
    assert out.attention.shape == (2, 1, 9, 9)


def test_a_softmax_head_is_only_as_sharp_as_its_temperature():
    """Cosine scores lie in [-T, T]: no input can make a head one-hot at a low temperature."""
    torch.manual_seed(0)
    net = ABNActorCritic(4, attention_spec("softmax", heads=2, motion=False))
    temperature = 2.0
    with torch.no_grad():
        net.attention.log_temperature.fill_(np.log(temperature))
        for module in net.stem:  # huge features: raw scores would saturate the softmax
            if isinstance(module, torch.nn.Conv2d):
                module.weight.mul_(100)
    positions = 81
    bound = np.exp(2 * temperature) / (np.exp(2 * temperature) + positions - 1)
    maps = net(observations(4)).attention
    assert maps.flatten(2).amax(dim=-1).max().item() <= bound + 1e-6


def test_the_motion_channel_is_the_largest_change_in_each_cell():
    still = torch.full((1, 4, 84, 84), 40, dtype=torch.uint8)
    moved = still.clone()
    moved[0, 3, 50:52, 10:11] = 240  # a 1x2-pixel ball appears in the newest frame
    moved[0, 0, 0:10, 0:10] = 0  # older frames do not count
    channel = motion_channel(moved, 9)
    assert channel.shape == (1, 1, 9, 9)
    cells = (channel[0, 0] > 0).nonzero().tolist()
    assert cells == [[5, 1]]  # rows 50-51 and column 10 of 84 lie in cell (5, 1) of 9
    assert channel[0, 0, 5, 1].item() == pytest.approx(200 / 255)
    assert motion_channel(still, 9).abs().sum().item() == 0


def test_softmax_heads_with_motion_score_and_pool_one_more_channel(tmp_path):
    plain, moving = (ABNActorCritic(4, attention_spec(motion=m)) for m in (False, True))
    assert moving.attention.to_keys[0].in_channels == plain.attention.to_keys[0].in_channels + 1
    with pytest.raises(ValueError, match="The abn design takes no motion option"):
        attention_spec("abn", motion=True)
    model = make_agent(breakout(), attention=attention_spec(motion=True), seed=1, device="cpu")
    assert model.policy.network.motion
    model.save(tmp_path / "agent.zip")
    loaded = channels_last_on_cpu(ABNPPO.load(tmp_path / "agent.zip", device="cpu"))
    assert loaded.policy.motion and loaded.policy.network.motion
    obs = torch.as_tensor(breakout(seed=9).reset())
    with torch.no_grad():
        a, b = loaded.policy.network(obs), model.policy.network(obs)
    torch.testing.assert_close(a.attention, b.attention, rtol=0, atol=0)


def test_new_softmax_agents_have_the_motion_channel_and_older_ones_load_without(tmp_path):
    assert make_agent(breakout(), seed=1, device="cpu").policy.network.motion
    mask = attention_spec("mask")
    assert not make_agent(breakout(), attention=mask, seed=1, device="cpu").policy.motion
    kwargs = {"seed": 1, "device": "cpu", "policy_kwargs": {"attention": "abn"}}
    assert "motion" not in ABNPPO(ABNPolicy, breakout(), **kwargs).policy_kwargs
    # A softmax run saved before the option (benchmarks/attention-runs) has no motion channel.
    older = (
        Path(__file__).parents[2] / "benchmarks/attention-runs/softmax8-s0/checkpoints/latest.zip"
    )
    model, _ = load_checkpoint(older, device="cpu")
    assert model.policy.attention == "softmax" and not model.policy.network.motion
    assert model.policy.network(observations(2)).attention.shape == (2, 8, 9, 9)


def test_motion_pools_over_receptive_fields_when_asked_and_saved_agents_keep_theirs(tmp_path):
    assert make_agent(breakout(), seed=1, device="cpu").policy.network.motion_windows is None
    by_field = attention_spec(motion_pooling="receptive-field")
    model = make_agent(breakout(), attention=by_field, seed=1, device="cpu")
    assert model.policy_kwargs["motion_pooling"] == "receptive-field"
    assert model.policy.network.motion_windows == (20, 8, 0)
    model.save(tmp_path / "agent.zip")
    loaded = ABNPPO.load(tmp_path / "agent.zip", device="cpu")
    assert loaded.policy.network.motion_windows == (20, 8, 0)
    # The shipped agent was saved before the option: it pools on even tiles, as it trained.
    shipped, _ = load_checkpoint(pretrained_checkpoint(), device="cpu")
    network = shipped.policy.network.eval()
    assert shipped.policy.spec.motion_pooling == "even" and network.motion_windows is None
    obs = torch.as_tensor(breakout(seed=9).reset())
    obs[:, -1, 70:74, 2:3] = 255  # a change in the edge cells, where the poolings differ
    with torch.no_grad():
        acted = network(obs)
        features = network.stem(obs.float() / 255.0)
        change = (obs[:, -1:].float() - obs[:, -2:-1].float()).abs() / 255.0
        as_before = torch.cat([features, F.adaptive_max_pool2d(change, 9)], dim=1)
        expected = network.attention(as_before)
    torch.testing.assert_close(acted.attention, expected.maps)
    torch.testing.assert_close(acted.action_logits, network.policy_head(expected.policy_latent))


def test_the_maps_terms_count_only_in_updates_after_their_starting_step(tmp_path):
    kwargs = {"seed": 0, "device": "cpu", "policy_kwargs": {"attention": "softmax"}, **SMALL}
    plain = ABNPPO(ABNPolicy, breakout(), **kwargs)
    plain.learn(32)  # one rollout of 2 x 16 steps, one update at step 32
    terms = {"map_entropy_coef": 0.1, "map_spread_coef": 0.2, "map_terms_from": 32}
    late = ABNPPO(ABNPolicy, breakout(), **terms, **kwargs)
    late.learn(32)
    reference = dict(plain.policy.named_parameters())
    for name, value in late.policy.named_parameters():
        assert torch.equal(value, reference[name]), name
    assert late.logger.name_to_value["train/map_entropy_coef"] == 0.0
    late.save(tmp_path / "agent.zip")
    loaded = ABNPPO.load(tmp_path / "agent.zip", env=breakout(), device="cpu")
    assert loaded.map_terms_from == 32 and loaded.map_weights() == (0.0, 0.0)
    loaded.learn(32, reset_num_timesteps=False)  # the update at step 64 has the terms
    assert loaded.map_weights() == (0.1, 0.2)
    assert loaded.logger.name_to_value["train/map_spread_coef"] == 0.2
