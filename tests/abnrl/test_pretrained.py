"""The agents that ship: the ones their model cards describe, acting through their maps."""

import cv2
import numpy as np
import pytest
import torch

from abnrl.errors import UserError
from abnrl.pretrained import SHIPPED, model_card, pretrained_checkpoint
from abnrl.training.checkpoints import load_checkpoint
from abnrl.training.run_dir import choose_checkpoint
from agents.attention import attention_spec
from agents.policy_view import policy_network
from envs import make_vec_env
from tests.abnrl.cli import abnrl

# The maps' entropy and spread coefficients each agent trained with (its model card's).
MAP_TERMS = {"breakout": (0.05, 0.05), "pong": (0.0, 0.0)}
# Each game's playing-field colour (RGB), the bulk of its frames.
BACKGROUND = {"breakout": (0, 0, 0), "pong": (144, 72, 17)}


def shipped_agent(game):
    return load_checkpoint(pretrained_checkpoint(game), device="cpu")


@pytest.mark.parametrize("game", SHIPPED)
def test_the_shipped_agent_is_the_one_its_model_card_describes(game):
    model, meta = shipped_agent(game)
    assert meta["game"] == game
    assert model.policy.spec == attention_spec(
        "softmax", heads=8, motion=True, motion_pooling="even"
    )
    assert (model.map_entropy_coef, model.map_spread_coef) == MAP_TERMS[game]
    card = model_card(game).read_text()
    assert card.startswith(f"# {SHIPPED[game]}\n")
    assert f"| agent steps | {model.num_timesteps:,} " in card
    assert f"| seed | {model.seed} |" in card


@pytest.mark.parametrize("game", SHIPPED)
def test_the_shipped_agents_heads_are_distributions_that_its_actions_depend_on(game):
    network = policy_network(shipped_agent(game)[0].policy).eval()
    env = make_vec_env(game, 4, seed=0, training=False, num_threads=1)
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
    # Breakout's GroupNorm agent shipped before scored 0.013-0.021; Pong's agent 0.35-0.92.
    assert kl > 0.05


@pytest.mark.parametrize("game", SHIPPED)
def test_watch_pretrained_plays_the_game_asked_for(game, tmp_path):
    out = tmp_path / "attention.mp4"
    result = abnrl(
        "watch", "--pretrained", "--game", game, "--max-frames", 40, "--out", out,
        "--device", "cpu",
    )  # fmt: skip
    assert "cut at --max-frames" in result.stdout
    video = cv2.VideoCapture(str(out))
    frames = []
    while (read := video.read())[0]:
        frames.append(read[1])
    assert len(frames) == 40
    frame = frames[-1]  # Pong's first frames after a reset are olive, not its field's brown
    title, height, width = 20, 420, 320
    game_panel = cv2.cvtColor(frame[title : title + height, :width], cv2.COLOR_BGR2RGB)
    median = np.median(game_panel.reshape(-1, 3), axis=0)
    np.testing.assert_allclose(median, BACKGROUND[game], atol=4)


def test_pretrained_picks_the_agent_of_the_game_and_refuses_a_game_without_one():
    assert choose_checkpoint(None, True) == pretrained_checkpoint("breakout")
    assert choose_checkpoint(None, True, "breakout").name == "breakout-abn-ppo.zip"
    assert choose_checkpoint(None, True, "pong").name == "pong-abn-ppo.zip"
    # Any spelling of a game that --game takes elsewhere (abnrl train --game Pong).
    for spelling in ("Pong", "PongNoFrameskip-v4", "ALE/Pong-v5"):
        assert choose_checkpoint(None, True, spelling) == pretrained_checkpoint("pong")
    with pytest.raises(UserError, match="Unknown Atari game 'pongg'; did you mean pong"):
        choose_checkpoint(None, True, "pongg")
    with pytest.raises(UserError, match="ships agents for breakout and pong, not for seaquest"):
        choose_checkpoint(None, True, "seaquest")
