"""Targets read one score per sample from each kind of model output."""

from __future__ import annotations

import pytest
import torch

from tests.vision.explain_toys import ABNOutput, PolicyOutput
from vision.explain import (
    ActionTarget,
    BoxScoreTarget,
    ClassTarget,
    PredictedTarget,
    ValueTarget,
    output_logits,
)
from vision.explain.base import slice_output, tile_target

LOGITS = torch.tensor([[1.0, 3.0, 2.0], [5.0, 4.0, 0.0]])


def policy_output() -> PolicyOutput:
    return PolicyOutput(
        LOGITS, torch.tensor([0.5, -1.0]), LOGITS, torch.zeros(2), torch.ones(2, 1, 3, 3)
    )


def test_class_target_reads_a_tensor_or_the_logits_field():
    abn = ABNOutput(LOGITS, -LOGITS, torch.ones(2, 1, 3, 3))
    for output in (LOGITS, abn):
        torch.testing.assert_close(ClassTarget(2)(output), torch.tensor([2.0, 0.0]))
        torch.testing.assert_close(ClassTarget(torch.tensor(2))(output), torch.tensor([2.0, 0.0]))
        torch.testing.assert_close(ClassTarget([0, 1])(output), torch.tensor([1.0, 4.0]))
        torch.testing.assert_close(
            ClassTarget(torch.tensor([0, 1]))(output), torch.tensor([1.0, 4.0])
        )
        torch.testing.assert_close(ClassTarget()(output), torch.tensor([3.0, 5.0]))  # predicted


def test_probability_scores():
    expected = LOGITS.softmax(1)[[0, 1], [1, 0]]
    torch.testing.assert_close(ClassTarget(probability=True)(LOGITS), expected)
    torch.testing.assert_close(ActionTarget([1, 0], probability=True)(policy_output()), expected)


def test_action_and_value_targets_read_a_policy_output():
    output = policy_output()
    torch.testing.assert_close(ActionTarget([2, 2])(output), torch.tensor([2.0, 0.0]))
    torch.testing.assert_close(ValueTarget()(output), torch.tensor([0.5, -1.0]))
    torch.testing.assert_close(PredictedTarget()(output), torch.tensor([3.0, 5.0]))
    assert output_logits(output) is output.action_logits


def test_wrong_outputs_and_lengths_are_clear_errors():
    with pytest.raises(TypeError, match="reads `logits`"):
        ClassTarget(0)(policy_output())
    with pytest.raises(TypeError, match="no `value`"):
        ValueTarget()(LOGITS)
    with pytest.raises(ValueError, match="3 indices for a batch of 2"):
        ClassTarget([0, 1, 2])(LOGITS)


def test_fixed_keeps_the_index_chosen_on_the_clean_output():
    fixed = PredictedTarget(probability=True).fixed(LOGITS)
    torch.testing.assert_close(fixed(LOGITS.flip(1)), LOGITS.flip(1).softmax(1)[[0, 1], [1, 0]])


def test_box_score_target_picks_the_best_matching_box_of_the_label():
    scores = torch.tensor([0.9, 0.8, 0.7])
    detections = [
        {
            "boxes": torch.tensor([[0.0, 0, 10, 10], [1.0, 1, 11, 11], [50.0, 50, 60, 60]]),
            "scores": scores,
            "labels": torch.tensor([2, 1, 1]),
        },
        {"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0).long()},
    ]
    target = BoxScoreTarget(torch.tensor([[0.0, 0, 10, 10], [0.0, 0, 10, 10]]), labels=1)
    torch.testing.assert_close(target(detections), torch.tensor([0.8, 0.0]))  # label 1, IoU .68
    far = BoxScoreTarget(torch.tensor([[30.0, 30, 40, 40]] * 2), labels=[1, 1])
    torch.testing.assert_close(far(detections), torch.tensor([0.0, 0.0]))
    with pytest.raises(ValueError, match="2 boxes for a batch of 1"):
        target(detections[:1])


def test_tiled_targets_score_each_copy_with_its_own_sample_index():
    output = policy_output()
    stacked = PolicyOutput(*(torch.cat([field, field, field]) for field in output))
    tiled = tile_target(ActionTarget([2, 1]), copies=3, batch=2)
    torch.testing.assert_close(tiled(stacked), torch.tensor([2.0, 4.0] * 3))
    assert type(slice_output(stacked, 2, 4)) is PolicyOutput
