"""``abnrl vision train``: train an image classifier (plain or ABN) on one process or many.

Examples::

    abnrl vision train --model cifar_resnet20 --abn --dataset digits --epochs 30
    abnrl vision train --preset cifar100-resnet110-abn --data-root ~/data
    torchrun --nproc_per_node 2 -m abnrl.cli vision train --dataset shapes --abn
    torchrun --nproc_per_node 2 $(which abnrl) vision train --dataset shapes --abn
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from abnrl.errors import UserError
from abnrl.flags import flag_value
from vision.data.image_limits import ImageTooLargeError
from vision.train import SetupError, TrainConfig, train

_CIFAR_MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    # registry name: (preset name, overrides of the ABN authors' recipe for that family)
    "cifar_resnet110": ("resnet110", {}),
    "cifar_densenet_bc100_12": ("densenet-bc100-12", {"batch_size": 64}),
    "cifar_wrn28_10": (
        "wrn28-10",
        {"epochs": 200, "milestones": (0.3, 0.6, 0.8), "gamma": 0.2, "weight_decay": 5e-4},
    ),
    "cifar_resnext29_8x64d": ("resnext29-8x64d", {"weight_decay": 5e-4}),
}


def _presets() -> dict[str, dict[str, Any]]:
    """The ABN paper's recipes (SGD, lr 0.1, momentum 0.9, drops of 0.1 at 50% and 75%)."""
    presets = {}
    for dataset in ("cifar10", "cifar100"):
        for model, (short, overrides) in _CIFAR_MODELS.items():
            for abn in (False, True):
                recipe = {
                    "dataset": dataset,
                    "model": model,
                    "abn": abn,
                    "epochs": 300,
                    "batch_size": 128,
                    "optimizer": "sgd",
                    "lr": 0.1,
                    "momentum": 0.9,
                    "weight_decay": 1e-4,
                    "schedule": "step",
                    "milestones": (0.5, 0.75),
                    "gamma": 0.1,
                    **overrides,
                }
                presets[f"{dataset}-{short}{'-abn' if abn else ''}"] = recipe
    for abn in (False, True):  # ImageNet (He et al.): 90 epochs, drops at 30 and 60
        presets[f"imagenet-resnet50{'-abn' if abn else ''}"] = {
            "dataset": "imagefolder",
            "model": "resnet50",
            "abn": abn,
            "epochs": 90,
            "batch_size": 256,
            "lr": 0.1,
            "weight_decay": 1e-4,
            "schedule": "step",
            "milestones": (1 / 3, 2 / 3),
            "workers": 8,
        }
    return presets


PRESETS = _presets()


@dataclass
class VisionTrainConfig(TrainConfig):
    """Train an image classifier; checkpoints, TensorBoard and metrics go to out_dir.

    Run it under ``torchrun --nproc_per_node N`` for DistributedDataParallel.

    Attributes:
        preset: start from a recipe of the ABN paper: DATASET-MODEL or DATASET-MODEL-abn,
            with DATASET cifar10 or cifar100 and MODEL resnet110, densenet-bc100-12,
            wrn28-10 or resnext29-8x64d, or imagenet-resnet50(-abn); the flags given with
            it override the recipe.
    """

    preset: str | None = None


def defaults(args: list[str]) -> VisionTrainConfig | None:
    """The recipe of the preset that ``--preset`` names, as the values of the flags not
    given; None without a preset.

    Raises:
        UserError: unknown preset.
    """
    name = flag_value(args, "--preset")
    if name is None:
        return None
    if name not in PRESETS:
        raise UserError(f"Unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}.")
    return VisionTrainConfig(**PRESETS[name], preset=name)


def resolve(config: VisionTrainConfig) -> TrainConfig:
    """The training settings (the preset's recipe is already in ``config``, as parsed)."""
    return TrainConfig(**{f.name: getattr(config, f.name) for f in dataclasses.fields(TrainConfig)})


def run(config: VisionTrainConfig) -> int:
    """Train; returns 0. Errors a user can cause become a one-sentence ``UserError``."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        result = train(resolve(config))
    except SetupError as error:
        raise UserError(str(error)) from error
    except ImageTooLargeError as error:  # found when a batch of the data is read
        raise UserError(error.sentence()) from error
    final = result.final
    top5 = "" if final.top5_error is None else f", top-5 error {final.top5_error:.2%}"
    print(
        f"top-1 error {final.top1_error:.2%}{top5} after {final.epoch} epochs; {result.checkpoint}"
    )
    return 0
