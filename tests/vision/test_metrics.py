"""Deletion, insertion and the pointing game."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.vision.explain_toys import (
    TinyPolicy,
)
from vision.explain import (
    ActionTarget,
    ClassTarget,
    box_regions,
    deletion,
    insertion,
    map_peaks,
    pointing_game,
)
from vision.explain.base import upsample


class BrightCornerClassifier(nn.Module):
    """Class 0 wins by how bright the top-left 4 x 4 corner is; class 1 is constant."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        corner = images[:, :, :4, :4].mean((1, 2, 3))
        return torch.stack([8 * (corner - 0.5), torch.zeros_like(corner)], dim=1)


def corner_map(batch: int, good: bool) -> torch.Tensor:
    maps = torch.zeros(batch, 16, 16)
    maps[:, :4, :4] = 1.0
    return maps if good else 1.0 - maps


def test_a_faithful_map_deletes_fast_and_inserts_fast():
    images = torch.ones(2, 3, 16, 16)
    model = BrightCornerClassifier()
    good, bad = corner_map(2, good=True), corner_map(2, good=False)
    assert (deletion(model, images, good).auc < deletion(model, images, bad).auc - 0.3).all()
    zeros = torch.zeros(())
    assert (
        insertion(model, images, good, baseline=zeros).auc
        > insertion(model, images, bad, baseline=zeros).auc + 0.3
    ).all()


def test_curve_ends_are_the_clean_and_the_baseline_scores():
    torch.manual_seed(0)
    model = BrightCornerClassifier()
    images = torch.rand(3, 3, 16, 16)
    maps = torch.rand(3, 16, 16)
    curve = deletion(model, images, maps, steps=8)
    target = ClassTarget(model(images).argmax(1), probability=True)
    assert curve.scores.shape == (3, 9)
    torch.testing.assert_close(curve.scores[:, 0], target(model(images)))
    torch.testing.assert_close(curve.scores[:, -1], target(model(torch.zeros_like(images))))
    expected_auc = torch.trapezoid(curve.scores, dx=1 / 8, dim=1)
    torch.testing.assert_close(curve.auc, expected_auc)


def test_steps_change_equal_parts_of_the_most_salient_pixels():
    images = torch.ones(1, 1, 4, 4)
    maps = torch.arange(16.0).reshape(1, 4, 4)  # the last pixel is the most salient

    class Recorder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[torch.Tensor] = []

        def forward(self, batch: torch.Tensor) -> torch.Tensor:
            self.seen.append(batch.clone())
            return torch.zeros(len(batch), 2)

    recorder = Recorder()
    deletion(recorder, images, maps, ClassTarget(0), steps=4, batch_size=100)
    stepped = torch.cat(recorder.seen)[:, 0]  # (5, 4, 4)
    assert [int((s == 0).sum()) for s in stepped] == [0, 4, 8, 12, 16]
    assert (stepped[1].flatten()[12:] == 0).all()


def test_batching_does_not_change_the_curve():
    torch.manual_seed(1)
    model = TinyPolicy().eval()
    frames = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    maps = torch.rand(2, 21, 21)  # upsampled to the frames
    one = insertion(
        model, frames, maps, ActionTarget([1, 3], probability=True), steps=6, batch_size=1
    )
    all_ = insertion(
        model, frames, maps, ActionTarget([1, 3], probability=True), steps=6, batch_size=64
    )
    torch.testing.assert_close(one.scores, all_.scores)


def test_policy_default_score_is_the_probability_of_the_chosen_action():
    torch.manual_seed(2)
    model = TinyPolicy().eval()
    frames = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    curve = deletion(model, frames, torch.rand(2, 84, 84), steps=3)
    probabilities = model(frames).action_logits.softmax(1)
    torch.testing.assert_close(curve.scores[:, 0], probabilities.amax(1))


def test_leaves_a_training_model_in_train_mode():
    model = TinyPolicy().train()
    deletion(model, torch.zeros(1, 4, 84, 84, dtype=torch.uint8), torch.rand(1, 84, 84), steps=2)
    assert model.training


def test_bad_arguments_are_clear_errors():
    model = BrightCornerClassifier()
    with pytest.raises(ValueError, match="one \\(h, w\\) map per image"):
        deletion(model, torch.zeros(2, 3, 8, 8), torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="Unknown baseline"):
        insertion(model, torch.zeros(1, 3, 8, 8), torch.zeros(1, 8, 8), baseline="grey")


def test_pointing_game_hits_within_the_tolerance():
    maps = torch.zeros(3, 40, 40)
    maps[0, 5, 5] = 1  # inside the box
    maps[1, 5, 25] = 1  # 10 pixels from it
    maps[2, 35, 35] = 1  # far away
    regions = box_regions(torch.tensor([[0.0, 0.0, 15.0, 15.0]] * 3), (40, 40))
    assert pointing_game(maps, regions, tolerance=0).tolist() == [True, False, False]
    assert pointing_game(maps, regions, tolerance=15).tolist() == [True, True, False]


def test_pointing_game_upsamples_coarse_maps():
    maps = torch.tensor([[[0.0, 1.0], [0.0, 0.0]]])  # top-right cell
    regions = torch.zeros(1, 20, 20, dtype=torch.bool)
    regions[0, :5, 15:] = True
    assert pointing_game(maps, regions, tolerance=0).item()


def test_a_windowed_peak_lies_where_the_cells_around_the_maximum_weigh():
    maps = upsample(torch.tensor([[[0.0, 1.0, 0.6, 0.0]]]), (4, 32))  # cells 8 px wide
    [[x, y]] = map_peaks(maps, window=0).tolist()
    assert 8 <= x <= 16 and 0 <= y <= 4  # the heavier cell
    [[x, _]] = map_peaks(maps, window=12).tolist()
    assert 12.5 < x < 16  # between the two cells' centres, nearer the heavier
    regions = torch.zeros(1, 4, 32, dtype=torch.bool)
    regions[0, :, 15] = True
    coarse = torch.tensor([[[0.0, 1.0, 1.0, 0.0]]])  # the object lies between two cells
    assert not pointing_game(coarse, regions, tolerance=1).item()
    assert pointing_game(coarse, regions, tolerance=1, window=12).item()


def test_a_flat_map_peaks_at_its_first_pixel_with_or_without_a_window():
    flat = torch.full((1, 6, 6), 0.3)
    for window in (0, 2):
        assert map_peaks(flat, window=window).tolist() == [[0.5, 0.5]]


def test_box_regions_of_several_boxes_per_image():
    regions = box_regions(
        [torch.tensor([[0.0, 0, 2, 2], [3.0, 3, 4, 4]]), torch.zeros(0, 4)], (5, 5)
    )
    assert regions.shape == (2, 5, 5)
    assert regions[0].sum() == 4 + 1 and regions[1].sum() == 0
