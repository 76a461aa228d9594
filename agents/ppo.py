"""``ABNPPO``: PPO (Schulman et al., 2017) that also trains the ABN's attention branch.

``ABNPPO.train`` is longer than this project's 80-line limit on purpose: it restates
SB3's ``PPO.train`` step for step (SB3 has no hook inside its minibatch loop), so that
it reads line by line against SB3's own; ``stable-baselines3<3`` and the
coefficient-0 equivalence test catch any drift between the two.
"""

from __future__ import annotations

from collections import defaultdict

import torch
import torch.nn.functional as F
from stable_baselines3 import PPO
from stable_baselines3.common.utils import explained_variance

from agents.training import AttentionBranchTraining


class ABNPPO(AttentionBranchTraining, PPO):
    """SB3's PPO with the attention branch's loss added to each minibatch's loss.

    ``loss = L_clip + ent_coef * L_entropy + vf_coef * L_value
    + attention_coef * L_attention + map_entropy_coef * H(maps)
    - map_spread_coef * spread(maps)`` (``agents.training.AttentionBranchTraining``).
    With all three coefficients 0 an update is
    exactly SB3's ``PPO.train``.

    Arguments as ``AttentionBranchTraining``: ``policy``, ``env``, ``attention_coef``,
    ``map_entropy_coef``, ``map_spread_coef`` and SB3 ``PPO`` options.
    """

    def train(self) -> None:
        """One PPO update on the rollout buffer: ``n_epochs`` passes of minibatches."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        # SB3 turns both clip ranges into schedules when the model is set up.
        clip_range = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        clip_range_vf = (
            None
            if self.clip_range_vf is None
            else self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]
        )
        # Minibatch statistics stay on the device until the update ends: reading one
        # (.item()) would make the host wait for the device at every minibatch.
        logs: dict[str, list[torch.Tensor]] = defaultdict(list)
        continue_training = True
        for _ in range(self.n_epochs):
            for batch in self.rollout_buffer.get(self.batch_size):
                actions = batch.actions.long().flatten()
                values, log_prob, entropy, output = self.policy.evaluate_actions_with_attention(
                    batch.observations, actions
                )
                values = values.flatten()
                advantages = batch.advantages
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

                ratio = torch.exp(log_prob - batch.old_log_prob)  # 1 in the first epoch
                policy_loss = -torch.min(
                    advantages * ratio,
                    advantages * torch.clamp(ratio, 1 - clip_range, 1 + clip_range),
                ).mean()
                if clip_range_vf is None:
                    values_pred = values
                else:
                    values_pred = batch.old_values + torch.clamp(
                        values - batch.old_values, -clip_range_vf, clip_range_vf
                    )
                value_loss = F.mse_loss(batch.returns, values_pred)
                entropy_loss = -torch.mean(entropy)
                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
                attention_loss, attention_logs = self._attention_losses(output, batch.returns)
                if attention_loss is not None:
                    loss = loss + attention_loss

                with torch.no_grad():
                    log_ratio = log_prob - batch.old_log_prob
                    # Schulman's low-variance KL estimate, for early stopping.
                    approx_kl = torch.mean(torch.exp(log_ratio) - 1 - log_ratio)
                    for key, value in (
                        ("policy_gradient_loss", policy_loss),
                        ("value_loss", value_loss),
                        ("entropy_loss", entropy_loss),
                        *attention_logs.items(),
                        ("clip_fraction", torch.mean((torch.abs(ratio - 1) > clip_range).float())),
                        ("approx_kl", approx_kl),
                    ):
                        logs[key].append(value.detach())
                if self.target_kl is not None and approx_kl.item() > 1.5 * self.target_kl:
                    continue_training = False
                    break

                self.policy.optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()
            self._n_updates += 1
            if not continue_training:
                break

        means = torch.stack([torch.stack(values).mean() for values in logs.values()]).tolist()
        for key, mean in zip(logs, means, strict=True):
            self.logger.record(f"train/{key}", mean)
        self.logger.record("train/loss", loss.item())
        self.logger.record(
            "train/explained_variance",
            explained_variance(
                self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten()
            ),
        )
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        self.logger.record("train/attention_coef", self.attention_coef)
        entropy_weight, spread_weight = self.map_weights()
        self.logger.record("train/map_entropy_coef", entropy_weight)
        self.logger.record("train/map_spread_coef", spread_weight)
