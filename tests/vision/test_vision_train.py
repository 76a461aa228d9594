"""The vision trainer: ABN training, top-k errors, checkpoints, exact resume, the command."""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from abnrl.cli import GROUPS, parse
from abnrl.commands.vision_train import PRESETS, VisionTrainConfig, resolve, run
from abnrl.errors import UserError
from tests.vision.tiny_training import tiny_training
from vision.checkpoint import load_trained
from vision.evaluation import evaluate
from vision.models.attention_branch import SoftplusConv2d
from vision.train import SetupError, TrainConfig, train


def _steps(out_dir) -> list[float]:
    with (out_dir / "steps.csv").open() as file:
        return [float(row["loss"]) for row in csv.DictReader(file)]


def test_resume_continues_exactly(tmp_path):
    straight = train(tiny_training(tmp_path / "straight"))
    assert [r.epoch for r in straight.history] == [1, 2]
    assert (tmp_path / "straight" / "best.pt").is_file()
    first_half = train(tiny_training(tmp_path / "resumed", epochs=1))
    assert len(first_half.history) == 1
    resumed = train(tiny_training(tmp_path / "resumed", resume=True))
    assert [r.epoch for r in resumed.history] == [1, 2]
    assert _steps(tmp_path / "resumed") == _steps(tmp_path / "straight")
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert resumed.final.top1_error == straight.final.top1_error
    metrics = json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == [1, 2]


def test_trained_model_loads_with_what_it_needs_to_read_images(tmp_path):
    result = train(tiny_training(tmp_path, epochs=1, abn=False, norm="gn"))
    trained = load_trained(result.checkpoint)
    assert trained.classes == tuple("0123456789") and trained.image_size == 32
    assert not trained.model.training and len(trained.mean) == 3
    assert trained.model(torch.zeros(1, 3, 32, 32)).shape == (1, 10)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in trained.model.modules())


@pytest.mark.parametrize(
    ("field", "value", "refusal"),
    [
        ("image_size", 0, "image size of 0"),
        ("image_size", 10**6, "image size of 1000000"),
        ("std", [0.0, 0.2, 0.2], "channel scales"),
        ("std", [float("nan")] * 3, "channel scales"),
    ],
)
def test_a_checkpoint_with_impossible_preprocessing_is_refused(tmp_path, field, value, refusal):
    result = train(tiny_training(tmp_path, epochs=1))
    state = torch.load(result.checkpoint, weights_only=True)
    state[field] = value
    torch.save(state, tmp_path / "edited.pt")
    with pytest.raises(ValueError, match=refusal):
        load_trained(tmp_path / "edited.pt")


def test_setup_errors_are_one_sentence(tmp_path):
    train(tiny_training(tmp_path, epochs=1))
    with pytest.raises(SetupError, match="already holds a run; pass --resume"):
        train(tiny_training(tmp_path, epochs=1))
    with pytest.raises(SetupError, match=r"checkpoint holds model, abn, norm, classes"):
        train(tiny_training(tmp_path, abn=False, resume=True))
    with pytest.raises(SetupError, match="Nothing to resume"):
        train(tiny_training(tmp_path / "empty", resume=True))
    with pytest.raises(SetupError, match="alexnet cannot read 32x32 images"):
        train(tiny_training(tmp_path / "alexnet", model="alexnet"))
    with pytest.raises(SetupError, match="Unknown model 'resnet19'"):
        train(tiny_training(tmp_path / "x", model="resnet19"))
    with pytest.raises(SetupError, match="Unknown ABN map '3'; choose one of positive, 3x3, 1x1"):
        train(tiny_training(tmp_path / "y", abn_map="3"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "last.pt").write_bytes(b"garbage")
    with pytest.raises(SetupError, match="is not a readable checkpoint"):
        train(tiny_training(tmp_path / "bad", resume=True))
    with pytest.raises(ValueError, match="is not a readable checkpoint"):
        load_trained(tmp_path / "bad" / "last.pt")


def _map_conv(model: nn.Module) -> tuple[int, bool]:
    """The ABN map conv's kernel, and whether its weights are made non-negative."""
    conv = model.attention_branch.to_attention
    return conv.kernel_size[0], isinstance(conv, SoftplusConv2d)


def _same_weights(model: nn.Module, state: dict[str, torch.Tensor]) -> bool:
    own = model.state_dict()
    return own.keys() == state.keys() and all(torch.equal(own[k], state[k]) for k in state)


def test_abn_map_is_saved_and_loads_back(tmp_path):
    result = train(tiny_training(tmp_path, epochs=1))  # the default: 3x3, non-negative weights
    state = torch.load(result.checkpoint, weights_only=True)
    assert state["abn_map"] == "positive" and "abn_map_kernel" not in state
    trained = load_trained(result.checkpoint)
    assert _map_conv(trained.model) == (3, True) and _same_weights(trained.model, state["model"])


def _as_legacy(checkpoint, path, **legacy):
    """``checkpoint`` rewritten as an older version did: no ``abn_map``, ``legacy`` instead."""
    state = torch.load(checkpoint, weights_only=True)
    del state["abn_map"], state["config"]["abn_map"]
    state |= legacy
    state["config"] |= legacy
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


@pytest.mark.parametrize(
    "abn_map, legacy, conv",
    [
        ("1x1", {}, (1, False)),  # saved before any map option: a 1x1 conv
        ("3x3", {"abn_map_kernel": 3}, (3, False)),  # saved with the kernel option
    ],
)
def test_checkpoints_saved_before_the_abn_map_option_load_as_trained(
    tmp_path, abn_map, legacy, conv
):
    result = train(tiny_training(tmp_path / "run", epochs=1, abn_map=abn_map))
    older = tmp_path / "older" / "last.pt"
    state = _as_legacy(result.checkpoint, older, **legacy)
    trained = load_trained(older)
    assert _map_conv(trained.model) == conv and _same_weights(trained.model, state["model"])
    images = torch.randn(2, 3, 32, 32)
    same = load_trained(result.checkpoint).model
    torch.testing.assert_close(trained.model(images).attention, same(images).attention)
    # Resuming with another map than the checkpoint's is refused before any training.
    refused = f"ABN map is {abn_map}, not positive; resume with --abn-map {abn_map}"
    for run_dir in ("run", "older"):
        with pytest.raises(SetupError, match=refused):
            train(tiny_training(tmp_path / run_dir, resume=True))


def test_evaluate_counts_top1_and_top5():
    logits = torch.tensor(
        [
            [9.0, 8, 7, 6, 5, 4, 0],  # label 0: top-1 hit
            [9.0, 8, 7, 6, 5, 4, 0],  # label 4: top-5 hit only
            [9.0, 8, 7, 6, 5, 4, 0],  # label 6: miss
            [0.0, 1, 2, 3, 4, 5, 9],  # label 6: top-1 hit
        ]
    )
    labels = torch.tensor([0, 4, 6, 6])

    class Fixed(nn.Module):
        def forward(self, index):
            return logits[index]

    loader = DataLoader(TensorDataset(torch.arange(4), labels), batch_size=3)
    metrics = evaluate(Fixed(), loader, torch.device("cpu"), num_classes=7)
    assert metrics["top1_error"] == pytest.approx(0.5)
    assert metrics["top5_error"] == pytest.approx(0.25)
    expected = nn.functional.cross_entropy(logits, labels).item()
    assert metrics["loss"] == pytest.approx(expected)
    assert evaluate(Fixed(), loader, torch.device("cpu"), num_classes=5)["top5_error"] is None


def vision_train_flags(*args):
    """The training settings ``abnrl vision train ARGS`` resolves."""
    command = GROUPS["vision"]["train"]
    return resolve(parse(command, list(args), "abnrl vision train"))


def test_presets_follow_the_abn_paper_and_flags_override_them():
    recipe = vision_train_flags("--preset", "cifar100-resnet110-abn")
    assert (recipe.model, recipe.abn, recipe.dataset) == ("cifar_resnet110", True, "cifar100")
    assert (recipe.epochs, recipe.lr, recipe.milestones, recipe.gamma) == (
        300,
        0.1,
        (0.5, 0.75),
        0.1,
    )
    assert vision_train_flags("--preset=cifar100-resnet110-abn", "--epochs", "5").epochs == 5
    # A flag given wins even at its default's value (30 epochs, lr 0.1 are TrainConfig's).
    given = vision_train_flags("--preset", "cifar10-wrn28-10", "--epochs", "30", "--no-augment")
    assert (given.epochs, given.augment, given.weight_decay) == (30, False, 5e-4)
    assert not vision_train_flags("--preset", "cifar10-wrn28-10").abn
    assert {"cifar10-densenet-bc100-12-abn", "cifar100-resnext29-8x64d-abn"} <= set(PRESETS)
    assert vision_train_flags("--model", "resnet18") == TrainConfig(model="resnet18")
    with pytest.raises(UserError, match="Unknown preset 'cifar10-vgg'"):
        vision_train_flags("--preset", "cifar10-vgg")


def test_command_trains_and_turns_setup_errors_into_user_errors(tmp_path, capsys):
    config = VisionTrainConfig(**dataclasses.asdict(tiny_training(tmp_path, epochs=1, abn=False)))
    assert run(config) == 0
    assert "top-1 error" in capsys.readouterr().out
    with pytest.raises(UserError, match="already holds a run"):
        run(config)
    with pytest.raises(UserError, match="CIFAR-10 not found"):
        run(
            dataclasses.replace(
                config, dataset="cifar10", data_root=tmp_path, out_dir=tmp_path / "c"
            )
        )
