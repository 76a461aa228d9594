"""A new run's config: the motion channel is on by default for the softmax design only."""

from abnrl.training.config import TrainConfig, resolve


def test_the_motion_channel_is_on_for_new_softmax_runs_and_off_for_other_designs():
    assert resolve(TrainConfig()).attention_motion
    assert not resolve(TrainConfig(attention_motion=False)).attention_motion
    for design in ("abn", "abn-groupnorm", "mask"):
        assert not resolve(TrainConfig(attention=design)).attention_motion
