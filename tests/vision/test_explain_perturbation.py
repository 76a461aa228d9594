"""Perturbation saliency (Greydanus et al. 2018): masks, the formula, batching, targets."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.vision.explain_toys import (
    TinyPolicy,
)
from vision.explain import ActionTarget, ClassTarget, PerturbationSaliency, ValueTarget
from vision.explain.perturbation import blur, grid_masks


class CornerModel(nn.Module):
    """Logits that depend only on the top-left 8 x 8 pixels."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        corner = images[:, :, :8, :8]
        return torch.stack([corner.square().mean((1, 2, 3)), corner.mean((1, 2, 3))], dim=1)


def test_grid_masks_are_gaussians_centred_on_the_grid_cells():
    masks = grid_masks(84, 84, stride=5, sigma=5.0)
    assert masks.shape == (17, 17, 84, 84)
    assert masks.max() <= 1
    centres = (torch.arange(17) + 0.5) * 84 / 17 - 0.5
    peak = masks[3, 5].flatten().argmax()
    assert abs(peak // 84 - centres[3]) <= 0.5 and abs(peak % 84 - centres[5]) <= 0.5
    torch.testing.assert_close(masks[0, 0], masks[-1, -1].flip(0, 1))  # symmetric grid


def test_one_grid_point_follows_the_paper_formula():
    torch.manual_seed(0)
    model = TinyPolicy().eval()
    frames = torch.randint(0, 256, (1, 4, 84, 84), dtype=torch.uint8)
    with PerturbationSaliency(model, stride=12) as saliency:
        raw = saliency.attribute(frames)  # default: the whole action-logit vector
    images = frames.float()
    mask = grid_masks(84, 84, stride=12, sigma=5.0)[2, 3]
    perturbed = images * (1 - mask) + blur(images, 3.0) * mask
    with torch.no_grad():
        expected = (
            0.5 * (model(images).action_logits - model(perturbed).action_logits).square().sum()
        )
    assert raw.shape == (1, 7, 7)
    torch.testing.assert_close(raw[0, 2, 3], expected)


def test_salient_where_the_model_looks():
    torch.manual_seed(1)
    images = torch.rand(2, 3, 32, 32)
    with PerturbationSaliency(CornerModel(), stride=4, mask_sigma=2.0, blur_sigma=2.0) as saliency:
        result = saliency(images)
    inside = result.maps[:, :8, :8].mean((1, 2))
    outside = result.maps[:, 16:, 16:].mean((1, 2))
    assert (inside > 10 * outside).all()


def test_batching_does_not_change_the_result():
    torch.manual_seed(2)
    model = TinyPolicy().eval()
    frames = torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8)
    with PerturbationSaliency(model, stride=10, batch_size=1) as one_at_a_time:
        slow = one_at_a_time.attribute(frames, ActionTarget([0, 1, 2]))
    with PerturbationSaliency(model, stride=10, batch_size=500) as all_at_once:
        fast = all_at_once.attribute(frames, ActionTarget([0, 1, 2]))
    torch.testing.assert_close(slow, fast, rtol=1e-4, atol=1e-6)


def test_per_sample_targets_equal_explaining_each_sample_alone():
    torch.manual_seed(3)
    model = TinyPolicy().eval()
    frames = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    with PerturbationSaliency(model, stride=14) as saliency:
        batched = saliency.attribute(frames, ActionTarget([3, 1]))
        first = saliency.attribute(frames[:1], ActionTarget(3))
        second = saliency.attribute(frames[1:], ActionTarget(1))
    torch.testing.assert_close(batched, torch.cat([first, second]), rtol=1e-4, atol=1e-7)


def test_value_saliency_differs_from_policy_saliency():
    torch.manual_seed(4)
    model = TinyPolicy().eval()
    frames = torch.randint(0, 256, (1, 4, 84, 84), dtype=torch.uint8)
    with PerturbationSaliency(model, stride=14) as saliency:
        policy = saliency.attribute(frames)
        value = saliency.attribute(frames, ValueTarget())
    assert value.shape == policy.shape == (1, 6, 6)
    assert not torch.allclose(value, policy)


def test_a_class_target_without_index_is_fixed_on_the_clean_input():
    torch.manual_seed(5)
    images = torch.rand(2, 3, 16, 16)
    predicted = CornerModel()(images).argmax(1)
    with PerturbationSaliency(CornerModel(), stride=4) as saliency:
        torch.testing.assert_close(
            saliency.attribute(images, ClassTarget()),
            saliency.attribute(images, ClassTarget(predicted)),
        )


@pytest.mark.parametrize("size", [(84, 84), (30, 50)])
def test_maps_have_the_input_resolution(size):
    images = torch.rand(1, 3, *size)
    with PerturbationSaliency(CornerModel(), stride=6) as saliency:
        assert saliency(images).maps.shape == (1, *size)
