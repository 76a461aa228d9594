"""What the ``data`` of an agent zip may hold: the fields PPO, A2C, DQN and QR-DQN write,
typed.

SB3's ``load`` sets every field of the file's ``data`` on the new agent, and hands a
stored ``env`` to ``gym.make``, which imports the module its id names: a plain string
in a crafted file could run code without any pickle. So each field is checked against
what SB3 and abnrl write before SB3 sees the file: known names only, JSON values of the
right type and range, no ``env``. Serialized values are rebuilt through the allowlist
of ``agents.safe_loading`` and are checked there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from agents.attention import ATTENTIONS, MOTION_POOLINGS
from agents.backbones import BACKBONES

MAX_STEPS_PER_ROLLOUT = 1 << 20
"""The most transitions (n_steps x n_envs) a loaded agent may ask its buffer to hold."""
MAX_REPLAY_BUFFER = 1 << 24
"""The largest replay buffer a Q-learning agent may record (its loader makes it tiny:
a loaded agent plays, it does not learn)."""


def _number(low: float = -math.inf, high: float = math.inf) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return is_number and math.isfinite(value) and low <= value <= high

    return check


def _integer(low: int, high: int) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    return check


def _one_of(*checks: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: any(check(value) for check in checks)


def _is_none(value: Any) -> bool:
    return value is None


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


is_finite_number = _number()
"""Whether a value is a finite int or float (not a bool)."""
_COUNT = _integer(0, 1 << 62)
_FRACTION = _number(0.0, 1.0)
_SERIALIZED = _is_none  # as a plain value; serialized ones are rebuilt elsewhere
FIELDS: dict[str, Callable[[Any], bool]] = {
    "_current_progress_remaining": _number(-1.0, 1.0),
    "_episode_num": _COUNT,
    "_last_episode_starts": _SERIALIZED,
    "_last_obs": _SERIALIZED,
    "_last_original_obs": _SERIALIZED,
    "_n_updates": _COUNT,
    "_num_timesteps_at_start": _COUNT,
    "_stats_window_size": _integer(1, 1 << 20),
    "_total_timesteps": _COUNT,
    "abnrl_meta": _SERIALIZED,
    "action_noise": _is_none,
    "action_space": _SERIALIZED,
    "attention_coef": _number(0.0),
    "batch_norm_stats": lambda value: value == [],
    "batch_norm_stats_target": lambda value: value == [],
    "batch_size": _integer(1, MAX_STEPS_PER_ROLLOUT),
    "buffer_size": _integer(1, MAX_REPLAY_BUFFER),
    "clip_range": _one_of(_number(0.0), _is_none),
    "clip_range_vf": _one_of(_number(0.0), _is_none),
    "ent_coef": _number(),
    "exploration_final_eps": _FRACTION,
    "exploration_fraction": _FRACTION,
    "exploration_initial_eps": _FRACTION,
    "exploration_rate": _FRACTION,
    "exploration_schedule": _SERIALIZED,
    "ep_info_buffer": _SERIALIZED,
    "ep_success_buffer": _SERIALIZED,
    "gae_lambda": _FRACTION,
    "gamma": _FRACTION,
    "gradient_steps": _integer(-1, 1 << 20),
    "learning_rate": _number(0.0),
    "learning_starts": _COUNT,
    "lr_schedule": _SERIALIZED,
    "map_entropy_coef": _number(),
    "map_spread_coef": _number(),
    "map_terms_from": _COUNT,
    "max_grad_norm": _one_of(_number(0.0), _is_none),
    "n_envs": _integer(1, 1024),
    "n_epochs": _integer(1, 1000),
    "n_quantiles": _integer(1, 1 << 12),
    "n_steps": _integer(1, MAX_STEPS_PER_ROLLOUT),
    "normalize_advantage": _is_bool,
    "num_timesteps": _COUNT,
    "observation_space": _SERIALIZED,
    "optimize_memory_usage": _is_bool,
    "policy_class": _SERIALIZED,
    "policy_kwargs": lambda value: isinstance(value, dict),
    "replay_buffer_class": _SERIALIZED,
    "replay_buffer_kwargs": lambda value: isinstance(value, dict) and not value,
    "rollout_buffer_class": _SERIALIZED,
    "rollout_buffer_kwargs": lambda value: isinstance(value, dict) and not value,
    "sde_sample_freq": _integer(-1, 1 << 30),
    "seed": _one_of(_integer(0, (1 << 32) - 1), _is_none),
    "start_time": _number(0.0),
    "target_kl": _one_of(_number(0.0), _is_none),
    "target_update_interval": _integer(1, 1 << 40),
    "tau": _FRACTION,
    "tensorboard_log": _one_of(_is_str, _is_none),
    "train_freq": _SERIALIZED,
    "use_sde_at_warmup": _is_bool,
    "_n_calls": _COUNT,
    "use_sde": _is_bool,
    "verbose": _integer(0, 2),
    "vf_coef": _number(),
}
"""Field -> check of its plain JSON value."""

POLICY_KWARGS: dict[str, Callable[[Any], bool]] = {
    "attention": lambda value: value in ATTENTIONS,
    "backbone": lambda value: value in BACKBONES,
    "heads": _integer(1, 64),
    "groups": _integer(1, 64),
    "map_size": _one_of(_integer(1, 84), _is_none),
    "motion": _is_bool,
    "motion_pooling": lambda value: value in MOTION_POOLINGS,
    "ortho_init": _is_bool,
    "normalize_images": _is_bool,
    "share_features_extractor": _is_bool,
    "optimizer_kwargs": lambda value: (
        isinstance(value, dict)
        and all(isinstance(k, str) and _number()(v) for k, v in value.items())
    ),
    "optimizer_class": _SERIALIZED,
}
"""``policy_kwargs`` entries the policies take -> check of a plain JSON value."""


class AgentFieldError(ValueError):
    """A field of the agent's data that no agent writes, or of the wrong type or range."""


def check_fields(plain: Mapping[str, Any], rebuilt: Mapping[str, Any]) -> None:
    """Refuse data that PPO and A2C (stock or ABN), DQN and QR-DQN would not have written.

    Args:
        plain: the fields stored as plain JSON.
        rebuilt: the serialized fields, already rebuilt through the allowlist.

    Raises:
        AgentFieldError: one sentence naming the field.
    """
    if "env" in plain or "env" in rebuilt:
        raise AgentFieldError(
            "it stores an environment id, which loading would pass to gym.make (agents "
            "never store one)"
        )
    for key in (*plain, *rebuilt):
        if key not in FIELDS:
            raise AgentFieldError(f"it stores a field {key!r} that the agents abnrl loads do not")
    for key, value in plain.items():
        if not FIELDS[key](value):
            raise AgentFieldError(f"its {key!r} is {_shown(value)}, not a value agents store")
    kwargs = plain.get("policy_kwargs", rebuilt.get("policy_kwargs"))
    if isinstance(kwargs, dict):
        for key, value in kwargs.items():
            if key not in POLICY_KWARGS:
                raise AgentFieldError(f"its policy_kwargs holds {key!r}, which no policy takes")
            if key in plain.get("policy_kwargs", {}) and not POLICY_KWARGS[key](value):
                raise AgentFieldError(f"its policy_kwargs {key!r} is {_shown(value)}")
    elif kwargs is not None:
        raise AgentFieldError("its policy_kwargs is not a mapping")
    steps, envs = plain.get("n_steps", 1), plain.get("n_envs", 1)
    if steps * envs > MAX_STEPS_PER_ROLLOUT:
        raise AgentFieldError(
            f"its rollout of {steps:,} steps x {envs} envs is over {MAX_STEPS_PER_ROLLOUT:,}"
        )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
