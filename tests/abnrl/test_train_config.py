"""A run's config: each design's options and defaults come from the registry (the motion
channel and 8 heads for softmax only); a resume takes its session limits from its own
flags."""

import json
from dataclasses import asdict

import pytest

from abnrl.errors import UserError
from abnrl.training.config import TrainConfig, load_saved_config, resolve, run_attention_spec
from agents.attention import DESIGNS, attention_spec


def test_the_motion_channel_is_on_for_new_softmax_runs_and_off_for_other_designs():
    assert resolve(TrainConfig()).attention_motion
    assert not resolve(TrainConfig(attention_motion=False)).attention_motion
    for design in ("abn", "abn-groupnorm", "mask"):
        assert not resolve(TrainConfig(attention=design)).attention_motion


@pytest.mark.parametrize("design", DESIGNS)
def test_a_new_run_gets_its_designs_defaults_and_keeps_them_in_its_config(design):
    config = resolve(TrainConfig(attention=design))
    assert config.attention_heads == DESIGNS[design].options.get("heads")
    assert run_attention_spec(config) == attention_spec(design)


def test_an_option_the_design_does_not_take_is_refused_in_one_sentence():
    assert resolve(TrainConfig(attention_heads=3)).attention_heads == 3
    for design in ("abn", "abn-groupnorm", "mask"):
        with pytest.raises(
            UserError, match=f"--attention-heads is an option of softmax, not of {design}"
        ):
            resolve(TrainConfig(attention=design, attention_heads=3))
        with pytest.raises(UserError, match="--attention-motion-pooling is an option of softmax"):
            resolve(TrainConfig(attention=design, attention_motion_pooling="even"))
    even = resolve(TrainConfig(attention_motion_pooling="even"))
    assert run_attention_spec(even) == attention_spec(motion_pooling="even")


def test_runs_saved_with_a_head_count_for_every_design_still_resume(tmp_path):
    saved = asdict(resolve(TrainConfig(attention="abn", run_dir=tmp_path)))
    saved |= {"run_dir": str(tmp_path), "attention_heads": 8}  # as runs stored it before
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert run_attention_spec(load_saved_config(tmp_path, TrainConfig())) == attention_spec("abn")


def test_a_resume_keeps_no_limit_of_the_session_that_saved_the_config(tmp_path):
    saved = asdict(resolve(TrainConfig(run_dir=tmp_path)))
    saved |= {"run_dir": str(tmp_path), "time_limit_min": 13.0, "stop_at": 4_000_000}
    (tmp_path / "config.json").write_text(json.dumps(saved))
    config = load_saved_config(tmp_path, TrainConfig())
    assert (config.time_limit_min, config.stop_at) == (None, None)
    config = load_saved_config(tmp_path, TrainConfig(time_limit_min=5.0, stop_at=64))
    assert (config.time_limit_min, config.stop_at) == (5.0, 64)
