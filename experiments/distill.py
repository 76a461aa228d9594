"""Policy distillation with DAgger (Ross et al., AISTATS 2011): a student network learns
a teacher's action distribution and value on the states the student itself visits.

It screens network designs cheaply: minutes on a CPU give a student whose attention
maps can be measured, long before an RL run of the design would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv
from torch import Tensor, nn

from agents.losses import attention_branch_loss, map_entropy


@dataclass
class DistillationLog:
    """What a distillation did, one entry per rollout."""

    steps: list[int] = field(default_factory=list)
    """Env steps played so far (all envs)."""
    agreement: list[float] = field(default_factory=list)
    """Share of the rollout's new states where the student's most probable action is the
    teacher's, measured before the student trained on them."""
    kl: list[float] = field(default_factory=list)
    """Mean KL(teacher || student) on the rollout's new states, before training on them."""
    seconds: float = 0.0


class ReplayBuffer:
    """The last ``capacity`` states with the teacher's labels (DAgger's aggregated data)."""

    def __init__(self, capacity: int, observation_shape: tuple[int, ...], n_actions: int):
        self.observations = torch.zeros((capacity, *observation_shape), dtype=torch.uint8)
        self.probabilities = torch.zeros((capacity, n_actions))
        self.values = torch.zeros(capacity)
        self.capacity, self.size, self.cursor = capacity, 0, 0

    def add(self, observations: Tensor, probabilities: Tensor, values: Tensor) -> None:
        for start in range(0, len(observations), self.capacity):
            chunk = slice(start, start + self.capacity)
            count = len(observations[chunk])
            index = (self.cursor + torch.arange(count)) % self.capacity
            self.observations[index] = observations[chunk]
            self.probabilities[index] = probabilities[chunk]
            self.values[index] = values[chunk]
            self.cursor = (self.cursor + count) % self.capacity
            self.size = min(self.size + count, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, ...]:
        index = torch.randint(0, self.size, (batch_size,), generator=generator)
        return self.observations[index], self.probabilities[index], self.values[index]


def distillation_loss(
    output, probabilities: Tensor, values: Tensor, *, map_entropy_coef: float = 0.0
) -> Tensor:
    """KL(teacher || student) + 0.5 * value MSE, plus an attention branch's own loss
    (the student's branch learns from the student's policy, as in RL) and the maps'
    weighted entropy."""
    log_student = F.log_softmax(output.action_logits, dim=-1)
    loss = F.kl_div(log_student, probabilities, reduction="batchmean")
    loss = loss + 0.5 * F.mse_loss(output.value, values)
    loss = loss + attention_branch_loss(output, values, value_coef=0.5)
    if map_entropy_coef:
        loss = loss + map_entropy_coef * map_entropy(output.attention)
    return loss


def distill(
    teacher: nn.Module,
    student: nn.Module,
    env: VecEnv,
    *,
    steps: int,
    n_steps: int = 32,
    updates_per_rollout: int = 4,
    batch_size: int = 256,
    capacity: int = 50_000,
    learning_rate: float = 5e-4,
    teacher_share: float = 0.1,
    map_entropy_coef: float = 0.0,
    seed: int = 0,
    time_limit_s: float | None = None,
) -> DistillationLog:
    """Train ``student`` to act like ``teacher`` on ``env``; returns the log.

    Args:
        teacher: a policy network (``observations -> output`` with ``action_logits`` and
            ``value``), left unchanged.
        student: the network to train, same output fields.
        env: a vector env of uint8 observations (training rules: life loss ends episodes).
        steps: env steps to play in all (summed over the envs).
        n_steps: steps per env between training phases.
        updates_per_rollout: gradient steps after each rollout.
        batch_size: states per gradient step, drawn from the replay buffer.
        capacity: states kept in the replay buffer.
        learning_rate: Adam's step size.
        teacher_share: the first share of ``steps`` in which the teacher's actions are
            mixed in (DAgger's beta, falling linearly from 1 to 0); the student acts after.
        map_entropy_coef: weight of the student's map entropy.
        seed: seeds the sampling of actions and of minibatches.
        time_limit_s: stop after this many seconds.
    """
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    teacher.eval()
    optimizer = torch.optim.Adam(student.parameters(), lr=learning_rate, eps=1e-5)
    shape = env.observation_space.shape
    if not isinstance(env.action_space, spaces.Discrete) or shape is None:
        raise ValueError("Distillation needs a Discrete action space and array observations.")
    buffer = ReplayBuffer(capacity, shape, int(env.action_space.n))
    log = DistillationLog()
    observations = env.reset()
    started, played = time.perf_counter(), 0
    while played < steps:
        if time_limit_s is not None and time.perf_counter() - started > time_limit_s:
            break
        rollout, labels, values, agree, kls = [], [], [], [], []
        student.eval()
        for _ in range(n_steps):
            batch = torch.from_numpy(observations)
            with torch.no_grad():
                taught = teacher(batch)
                learnt = student(batch)
            probabilities = taught.action_logits.softmax(dim=-1)  # (N, A)
            log_student = learnt.action_logits.log_softmax(dim=-1)
            agree.append((learnt.action_logits.argmax(-1) == probabilities.argmax(-1)).float())
            kls.append(F.kl_div(log_student, probabilities, reduction="none").sum(-1))
            beta = max(0.0, 1.0 - played / (teacher_share * steps)) if teacher_share else 0.0
            actor = taught if rng.random() < beta else learnt
            actions = torch.multinomial(actor.action_logits.softmax(-1), 1, generator=generator)
            rollout.append(batch)
            labels.append(probabilities)
            values.append(taught.value)
            observations, _, _, _ = env.step(actions[:, 0].numpy())
            played += len(batch)
        buffer.add(torch.cat(rollout), torch.cat(labels), torch.cat(values))
        student.train()
        for _ in range(updates_per_rollout):
            batch_obs, batch_probabilities, batch_values = buffer.sample(batch_size, generator)
            loss = distillation_loss(
                student(batch_obs),
                batch_probabilities,
                batch_values,
                map_entropy_coef=map_entropy_coef,
            )
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(student.parameters(), 0.5)
            optimizer.step()
        log.steps.append(played)
        log.agreement.append(float(torch.cat(agree).mean()))
        log.kl.append(float(torch.cat(kls).mean()))
    student.eval()
    log.seconds = time.perf_counter() - started
    return log
