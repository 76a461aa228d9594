"""``ABNA2C``: A2C (Mnih et al., 2016) that also trains the ABN's attention branch."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from stable_baselines3 import A2C
from stable_baselines3.common.utils import explained_variance

from agents.training import AttentionBranchTraining


class ABNA2C(AttentionBranchTraining, A2C):
    """SB3's A2C with the attention branch's loss added to the loss.

    ``loss = L_pg + ent_coef * L_entropy + vf_coef * L_value
    + attention_coef * L_attention + map_entropy_coef * H(maps)
    - map_spread_coef * spread(maps)`` (``agents.training.AttentionBranchTraining``).
    With all three coefficients 0 an update is
    exactly SB3's ``A2C.train``.

    Arguments as ``AttentionBranchTraining``: ``policy``, ``env``, ``attention_coef``,
    ``map_entropy_coef``, ``map_spread_coef`` and SB3 ``A2C`` options.
    """

    def train(self) -> None:
        """One gradient step on the whole rollout buffer."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        batch = next(self.rollout_buffer.get(batch_size=None))
        actions = batch.actions.long().flatten()
        values, log_prob, entropy, output = self.policy.evaluate_actions_with_attention(
            batch.observations, actions
        )
        values = values.flatten()
        advantages = batch.advantages
        if self.normalize_advantage:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

        policy_loss = -(advantages * log_prob).mean()
        value_loss = F.mse_loss(batch.returns, values)
        entropy_loss = -torch.mean(entropy)
        loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
        attention_loss, attention_logs = self._attention_losses(output, batch.returns)
        if attention_loss is not None:
            loss = loss + attention_loss

        self.policy.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.policy.optimizer.step()

        self._n_updates += 1
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record(
            "train/explained_variance",
            explained_variance(
                self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten()
            ),
        )
        self.logger.record("train/entropy_loss", entropy_loss.item())
        self.logger.record("train/policy_loss", policy_loss.item())
        self.logger.record("train/value_loss", value_loss.item())
        for key, value in attention_logs.items():
            self.logger.record(f"train/{key}", value.item())
