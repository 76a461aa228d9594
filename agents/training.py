"""What ``ABNPPO`` and ``ABNA2C`` add to SB3's algorithms: the attention designs' losses."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import torch
from stable_baselines3.common.type_aliases import GymEnv

from agents.actor_critic import ABNPolicyOutput
from agents.attention import (
    DEFAULT_ATTENTION,
    LEGACY_ATTENTION,
    LEGACY_OPTIONS,
    OPTIONS,
    AttentionSpec,
    attention_spec,
    saved_attention_spec,
)
from agents.losses import attention_branch_loss, map_entropy, map_spread
from agents.policy import ABNPolicy
from agents.safe_loading import safe_custom_objects

if TYPE_CHECKING:  # what the mixin is mixed into, for the type checker
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm as _Algorithm
else:
    _Algorithm = object


class AttentionBranchTraining(_Algorithm):
    """Mixin for an SB3 on-policy algorithm whose policy is an ``ABNPolicy``.

    Adds ``attention_coef * L_branch + map_entropy_coef * H(maps)
    - map_spread_coef * spread(maps)`` to the loss: the attention branch's loss
    (``agents.losses.attention_branch_loss``, ABN designs only), the maps' normalized
    entropy (``agents.losses.map_entropy``), which a positive coefficient lowers
    (sharper maps), and the entropy of each head's map averaged over the minibatch
    (``agents.losses.map_spread``), which a positive coefficient raises (heads whose
    place changes from frame to frame, not parked on one cell). With equal entropy and
    spread weights the two terms are minus the mutual information between the frame
    and each head's position.

    Args:
        policy: ``ABNPolicy`` or its alias ``"ABNCnnPolicy"``.
        env: the training env.
        attention_coef: weight of the attention branch's loss.
        map_entropy_coef: weight of the maps' entropy.
        map_spread_coef: weight of the maps' spread over the minibatch (subtracted).
        map_terms_from: the two maps' terms count only in updates after this many agent
            steps (0: in every update); before, their weights are 0.
        **kwargs: the SB3 algorithm's options.
    """

    attention_coef: float
    map_entropy_coef: float
    map_spread_coef: float
    map_terms_from: int = 0  # agents saved before the option had the terms on throughout
    policy: ABNPolicy  # checked in _setup_model

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The subclass's SB3 algorithm knows "MlpPolicy", "CnnPolicy", ...; add ours.
        cls.policy_aliases = {**cls.policy_aliases, "ABNCnnPolicy": ABNPolicy}

    def __init__(
        self,
        policy: Any,
        env: Any,
        *,
        attention_coef: float = 1.0,
        map_entropy_coef: float = 0.0,
        map_spread_coef: float = 0.0,
        map_terms_from: int = 0,
        **kwargs: Any,
    ):
        self.attention_coef = attention_coef
        self.map_entropy_coef = map_entropy_coef
        self.map_spread_coef = map_spread_coef
        self.map_terms_from = map_terms_from
        # The design and every option it takes are always written into the saved
        # policy_kwargs: a saved model without one is from before it existed (see
        # _setup_model), and a later change of defaults must not change a saved agent.
        given = dict(kwargs.get("policy_kwargs") or {})
        name = given.pop("attention", DEFAULT_ATTENTION)
        spec = attention_spec(name, **{option: given.pop(option, None) for option in OPTIONS})
        kwargs["policy_kwargs"] = _with_spec(given, spec)
        super().__init__(policy, env, **kwargs)

    @classmethod
    def load(
        cls,
        path: str | Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: torch.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> Self:
        """SB3's ``load``, except that nothing in the file is unpickled as it is: the
        values SB3 would unpickle are rebuilt from an allowlist of what agents store
        (``agents.safe_loading``).

        Raises:
            agents.safe_loading.UnsafeCheckpointError: the file stores anything else.
        """
        objects = safe_custom_objects(path, custom_objects)
        return super().load(
            path,
            env,
            device,
            custom_objects=objects,
            print_system_info=print_system_info,
            force_reset=force_reset,
            **kwargs,
        )

    def _setup_model(self) -> None:
        saved = {**LEGACY_OPTIONS, **self.policy_kwargs}
        spec = saved_attention_spec(saved.pop("attention", LEGACY_ATTENTION), saved)
        others = {k: v for k, v in saved.items() if k not in OPTIONS}
        self.policy_kwargs = _with_spec(others, spec)
        super()._setup_model()
        if not isinstance(self.policy, ABNPolicy):
            raise ValueError(
                f"{type(self).__name__} trains an ABNPolicy, got {type(self.policy).__name__}."
            )

    def map_weights(self) -> tuple[float, float]:
        """The maps' entropy and spread weights of the update under way: 0 up to
        ``map_terms_from`` steps, then ``map_entropy_coef`` and ``map_spread_coef``."""
        if self.num_timesteps <= self.map_terms_from:
            return 0.0, 0.0
        return self.map_entropy_coef, self.map_spread_coef

    def _attention_losses(
        self, output: ABNPolicyOutput, returns: torch.Tensor
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """The weighted term to add to the loss (None when every weight is 0) and the
        unweighted losses to log."""
        entropy_weight, spread_weight = self.map_weights()
        terms = {
            "attention_loss": (
                self.attention_coef,
                lambda: attention_branch_loss(output, returns, value_coef=self.vf_coef),
            ),
            "map_entropy": (entropy_weight, lambda: map_entropy(output.attention)),
            "map_spread": (-spread_weight, lambda: map_spread(output.attention)),
        }
        total, logs = None, {}
        for name, (weight, loss) in terms.items():
            # A loss with a zero weight is only logged: no graph, no zero gradients
            # (which would change gradient clipping's norm and break equality with SB3).
            with torch.set_grad_enabled(bool(weight)):
                logs[name] = loss()
            if weight:
                weighted = weight * logs[name]
                total = weighted if total is None else total + weighted
        return total, logs


def _with_spec(policy_kwargs: dict[str, Any], spec: AttentionSpec) -> dict[str, Any]:
    """``policy_kwargs`` (without attention options) with the design and its options."""
    return {**policy_kwargs, "attention": spec.design, **spec.options()}
