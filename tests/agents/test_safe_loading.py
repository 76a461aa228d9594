"""Agent files load without unpickling anything they could use to run code."""

import base64
import io
import pickle
import re
import zipfile

import numpy as np
import pytest
import torch
from stable_baselines3 import A2C, PPO
from stable_baselines3.common import save_util

from agents import ABNA2C, ABNPPO, make_agent
from agents.attention import attention_spec
from agents.safe_loading import (
    MAX_DATA_BYTES,
    UnsafeCheckpointError,
    read_data,
    safe_custom_objects,
)
from envs import make_vec_env
from tests.crafted_files import with_fields, with_payload

SMALL = {"ppo": {"n_steps": 16, "batch_size": 16, "n_epochs": 1}, "a2c": {"n_steps": 8}}
LOADERS = {("ppo", "abn"): ABNPPO, ("ppo", "cnn"): PPO, ("a2c", "abn"): ABNA2C, ("a2c", "cnn"): A2C}


def saved_agent(path, algo="ppo", policy="abn", **options):
    env = make_vec_env("breakout", 2, seed=0, num_threads=1)
    model = make_agent(
        env, algo=algo, policy=policy, seed=0, device="cpu", **SMALL[algo], **options
    )
    model.learn(32)
    model.save(path)
    return model, env.reset()


@pytest.fixture
def no_full_unpickling(monkeypatch):
    """SB3's own unpickling of the data entry fails the test if it is reached."""

    def refuse(_):
        raise AssertionError("SB3 unpickled a value from the file")

    monkeypatch.setattr(save_util.cloudpickle, "loads", refuse)


@pytest.mark.parametrize(("algo", "policy"), list(LOADERS))
def test_every_algorithm_loads_through_the_allowlist_alone(
    tmp_path, no_full_unpickling, algo, policy
):
    model, obs = saved_agent(tmp_path / "agent.zip", algo, policy)
    cls = LOADERS[(algo, policy)]
    loaded = cls.load(
        tmp_path / "agent.zip",
        device="cpu",
        custom_objects=safe_custom_objects(tmp_path / "agent.zip"),
    )
    np.testing.assert_array_equal(
        loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0]
    )
    assert loaded.num_timesteps == model.num_timesteps
    assert loaded.lr_schedule(0.5) == model.lr_schedule(0.5)
    assert type(loaded.policy.optimizer) is type(model.policy.optimizer)
    np.testing.assert_array_equal(loaded._last_obs, model._last_obs)
    assert list(loaded.ep_info_buffer) == list(model.ep_info_buffer)


@pytest.mark.parametrize("attention", ["abn-groupnorm", "mask", "softmax"])
def test_the_abn_algorithms_load_safely_by_themselves(tmp_path, no_full_unpickling, attention):
    model, obs = saved_agent(tmp_path / "agent.zip", attention=attention_spec(attention))
    for source in (tmp_path / "agent.zip", io.BytesIO((tmp_path / "agent.zip").read_bytes())):
        loaded = ABNPPO.load(source, device="cpu")
        assert loaded.policy.attention == attention
        np.testing.assert_array_equal(
            loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0]
        )


@pytest.mark.parametrize("key", ["learning_rate", "an_extra_entry"])
def test_a_payload_is_refused_and_never_run(tmp_path, key):
    saved_agent(tmp_path / "agent.zip")
    marker = tmp_path / "ran"
    crafted = with_payload(tmp_path / "agent.zip", tmp_path / "crafted.zip", key, marker)
    with pytest.raises(UnsafeCheckpointError, match=rf"{key}.*builtins\.exec.*not loaded"):
        ABNPPO.load(crafted, device="cpu")
    with pytest.raises(UnsafeCheckpointError):
        read_data(crafted)
    assert not marker.exists()
    # The crafted file is live: SB3's full unpickling runs it.
    save_util.load_from_zip_file(crafted, device="cpu")
    assert marker.exists()


def test_values_given_by_the_caller_are_not_read_from_the_file(tmp_path):
    saved_agent(tmp_path / "agent.zip")
    crafted = with_payload(
        tmp_path / "agent.zip", tmp_path / "crafted.zip", "learning_rate", tmp_path / "ran"
    )
    loaded = ABNPPO.load(crafted, device="cpu", custom_objects={"learning_rate": 1e-4})
    assert loaded.learning_rate == 1e-4 and not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"env": "BreakoutNoFrameskip-v4"}, "environment id"),
        ({"an_extra_field": 1}, "'an_extra_field' that the agents abnrl loads do not"),
        ({"n_envs": "8"}, "'n_envs' is '8'"),
        ({"gamma": float("nan")}, "'gamma' is nan"),
        ({"n_steps": 10**9}, "'n_steps' is 1000000000"),
        ({"n_steps": 100_000, "n_envs": 1000}, "rollout of 100,000 steps x 1000 envs"),
        ({"policy_kwargs": {"attention": "softmax", "colour": 1}}, "holds 'colour'"),
        ({"policy_kwargs": {"motion_pooling": "sideways"}}, "'motion_pooling' is 'sideways'"),
        ({"policy_kwargs": [1, 2]}, "'policy_kwargs' is [1, 2]"),
        ({"rollout_buffer_kwargs": {"gae_lambda": 2}}, "'rollout_buffer_kwargs'"),
    ],
)
def test_fields_no_agent_writes_are_refused_before_sb3_sees_them(tmp_path, fields, refusal):
    saved_agent(tmp_path / "agent.zip")
    crafted = with_fields(tmp_path / "agent.zip", tmp_path / "crafted.zip", fields)
    with pytest.raises(ValueError, match=re.escape(refusal)):
        read_data(crafted)
    with pytest.raises(ValueError, match=re.escape(refusal)):
        ABNPPO.load(crafted, device="cpu")


def test_an_entry_that_would_inflate_past_its_limit_is_not_read(tmp_path):
    saved_agent(tmp_path / "agent.zip")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(tmp_path / "agent.zip") as archive:
        items = {name: archive.read(name) for name in archive.namelist()}
    padded = items["data"].rstrip()[:-1] + b" " * (MAX_DATA_BYTES + 1) + b"}"  # valid JSON
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in {**items, "data": padded}.items():
            archive.writestr(name, content)
    with zipfile.ZipFile(bomb) as archive:  # compresses ~1000:1
        assert archive.getinfo("data").compress_size < MAX_DATA_BYTES // 100
    with pytest.raises(ValueError, match="'data' would inflate to .* over the 16,777,216"):
        read_data(bomb)


@pytest.mark.parametrize(
    ("content", "refusal"),
    [
        (b"not a tensor file", "'policy.pth' is not a tensor file that loads without running code"),
        (None, "'policy.pth' holds a list, not a mapping"),
    ],
)
def test_a_damaged_or_foreign_tensor_entry_is_named(tmp_path, content, refusal):
    saved_agent(tmp_path / "agent.zip")
    if content is None:
        buffer = io.BytesIO()
        torch.save([torch.zeros(2)], buffer)
        content = buffer.getvalue()
    with zipfile.ZipFile(tmp_path / "agent.zip") as archive:
        items = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(tmp_path / "crafted.zip", "w") as archive:
        for name, value in {**items, "policy.pth": content}.items():
            archive.writestr(name, value)
    with pytest.raises(ValueError, match=re.escape(refusal)):
        read_data(tmp_path / "crafted.zip")


def test_an_agent_of_another_sb3_algorithm_is_named_not_called_dangerous(tmp_path):
    from stable_baselines3.sac.policies import SACPolicy

    saved_agent(tmp_path / "agent.zip")
    sac = {":type:": "<class 'abc.ABCMeta'>", ":serialized:": _pickled(SACPolicy)}
    crafted = with_fields(tmp_path / "agent.zip", tmp_path / "sac.zip", {"policy_class": sac})
    named = "Stable-Baselines3's SAC .* loads PPO, A2C and DQN"
    with pytest.raises(ValueError, match=named) as caught:
        read_data(crafted)
    assert not isinstance(caught.value, UnsafeCheckpointError)
    assert "could run code" not in str(caught.value)


def _pickled(value) -> str:
    return base64.b64encode(pickle.dumps(value)).decode()
