"""A run's config: the motion channel is on by default for the softmax design only; a
resume takes its session limits from its own flags."""

import json
from dataclasses import asdict

from abnrl.training.config import TrainConfig, load_saved_config, resolve


def test_the_motion_channel_is_on_for_new_softmax_runs_and_off_for_other_designs():
    assert resolve(TrainConfig()).attention_motion
    assert not resolve(TrainConfig(attention_motion=False)).attention_motion
    for design in ("abn", "abn-groupnorm", "mask"):
        assert not resolve(TrainConfig(attention=design)).attention_motion


def test_a_resume_keeps_no_limit_of_the_session_that_saved_the_config(tmp_path):
    saved = asdict(resolve(TrainConfig(run_dir=tmp_path)))
    saved |= {"run_dir": str(tmp_path), "time_limit_min": 13.0, "stop_at": 4_000_000}
    (tmp_path / "config.json").write_text(json.dumps(saved))
    config = load_saved_config(tmp_path, TrainConfig())
    assert (config.time_limit_min, config.stop_at) == (None, None)
    config = load_saved_config(tmp_path, TrainConfig(time_limit_min=5.0, stop_at=64))
    assert (config.time_limit_min, config.stop_at) == (5.0, 64)
