"""The agents that ship: the ones their model cards describe, acting through their maps."""

import pytest
import torch

from abnrl.errors import UserError
from abnrl.pretrained import model_card, pretrained_checkpoint
from abnrl.training.checkpoints import load_checkpoint
from abnrl.training.run_dir import choose_checkpoint
from agents.attention import attention_spec
from agents.policy_view import policy_network
from envs import make_vec_env


def shipped_agent():
    model, _ = load_checkpoint(pretrained_checkpoint(), device="cpu")
    return model


def test_the_shipped_agent_is_the_one_its_model_card_describes():
    model = shipped_agent()
    policy = model.policy
    assert policy.spec == attention_spec("softmax", heads=8, motion=True, motion_pooling="even")
    assert (model.map_entropy_coef, model.map_spread_coef) == (0.05, 0.05)
    card = model_card().read_text()
    assert f"| agent steps | {model.num_timesteps:,} " in card
    assert f"| seed | {model.seed} |" in card


def test_the_shipped_agents_heads_are_distributions_that_its_actions_depend_on():
    network = policy_network(shipped_agent().policy).eval()
    env = make_vec_env("breakout", 4, seed=0, training=False, num_threads=1)
    env.reset()
    for _ in range(30):  # serve, and let the ball fly
        observations, *_ = env.step([1] * 4)
    env.close()
    observations = torch.as_tensor(observations)
    with torch.no_grad():
        out = network(observations)
        flattened = network(observations, lambda maps: torch.full_like(maps, 1 / 81))
    assert out.attention.shape == (4, 8, 9, 9)
    torch.testing.assert_close(out.attention.sum(dim=(2, 3)), torch.ones(4, 8))
    # The policy reads the field only through its heads: flat heads move it.
    kl = torch.nn.functional.kl_div(
        flattened.action_logits.log_softmax(-1),
        out.action_logits.log_softmax(-1),
        log_target=True,
        reduction="batchmean",
    )
    assert kl > 0.05  # the GroupNorm agent shipped before: 0.013-0.021


def test_pretrained_picks_the_agent_of_the_game_and_refuses_a_game_without_one():
    assert choose_checkpoint(None, True) == pretrained_checkpoint("breakout")
    assert choose_checkpoint(None, True, "breakout").name == "breakout-abn-ppo.zip"
    with pytest.raises(UserError, match="ships agents for breakout and pong, not for seaquest"):
        choose_checkpoint(None, True, "seaquest")
