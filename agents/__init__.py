"""ABN policy networks for Atari and the on-policy algorithms that train them (on SB3)."""

from agents.a2c import ABNA2C
from agents.actor_critic import ABNActorCritic, ABNPolicyOutput
from agents.factory import (
    ALGORITHMS,
    HYPERPARAMETERS,
    N_ENVS,
    POLICIES,
    channels_last_on_cpu,
    make_agent,
)
from agents.policy import ABNPolicy
from agents.ppo import ABNPPO

__all__ = [
    "ABNA2C",
    "ABNPPO",
    "ALGORITHMS",
    "ABNActorCritic",
    "ABNPolicy",
    "ABNPolicyOutput",
    "HYPERPARAMETERS",
    "N_ENVS",
    "POLICIES",
    "channels_last_on_cpu",
    "make_agent",
]
