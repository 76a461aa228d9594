"""experiments/grafting.py: the motion channel grafted onto a trained softmax agent."""

import pytest
import torch

from agents import make_agent
from agents.attention import attention_spec
from envs import make_vec_env
from experiments.grafting import graft_motion_channel


def breakout(seed=0):
    return make_vec_env("breakout", 2, seed=seed, num_threads=1)


def test_a_grafted_motion_channel_leaves_the_trained_policy_unchanged():
    # A constant learning rate: the RL Zoo's decays to 0 at the end of each short learn().
    model = make_agent(
        breakout(),
        attention=attention_spec(motion=False),
        seed=1,
        device="cpu",
        n_steps=16,
        batch_size=16,
        learning_rate=1e-3,
    )
    model.learn(32)  # Adam's moments exist
    obs = torch.as_tensor(breakout(seed=9).reset())
    moving = obs.clone()
    moving[:, -1, 40:42, 30:31] = 255  # something moved: the motion channel is not zero
    with torch.no_grad():
        before = model.policy.network(moving)
    graft_motion_channel(model)
    assert model.policy.motion and model.policy_kwargs["motion"]
    with torch.no_grad():
        after = model.policy.network(moving)
    torch.testing.assert_close(after.action_logits, before.action_logits)
    torch.testing.assert_close(after.attention, before.attention)
    model.learn(32, reset_num_timesteps=False)  # trains on, and the new weights move
    keys = model.policy.network.attention.to_keys[0].weight
    assert keys[:, 64].abs().sum() > 0
    with pytest.raises(ValueError, match="without the motion channel"):
        graft_motion_channel(model)
