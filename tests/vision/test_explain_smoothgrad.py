"""SmoothGrad: the mean of a method over the same noisy inputs, seeded, batched."""

from __future__ import annotations

import pytest
import torch

from tests.vision.explain_toys import (
    TinyCNN,
    TinyPolicy,
)
from vision.explain import (
    ActionTarget,
    ClassTarget,
    GradCAM,
    GuidedBackprop,
    InputGradient,
    PredictedTarget,
    SmoothGrad,
)


def noisy_copies(images: torch.Tensor, samples: int, noise_level: float, seed: int):
    """The noise SmoothGrad documents: copy i drawn i-th from a seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    flat = images.flatten(1)
    sigma = (noise_level * (flat.amax(1) - flat.amin(1)))[:, None, None, None]
    return [images + sigma * torch.randn(images.shape, generator=generator) for _ in range(samples)]


@pytest.mark.parametrize("method", [InputGradient, GuidedBackprop, GradCAM])
@pytest.mark.parametrize("batch_size", [3, 8, 64])  # one copy per pass, several, all at once
def test_equals_the_mean_over_the_same_noisy_inputs(method, batch_size):
    torch.manual_seed(0)
    model = TinyCNN().eval()
    images = torch.randn(3, 3, 16, 16)
    target = ClassTarget(torch.tensor([0, 2, 4]))
    with SmoothGrad(
        method(model), samples=7, noise_level=0.2, seed=11, batch_size=batch_size
    ) as smooth:
        ours = smooth.attribute(images, target)
    with method(model) as base:
        copies = noisy_copies(images, samples=7, noise_level=0.2, seed=11)
        expected = torch.stack([base.attribute(copy, target) for copy in copies]).mean(0)
    scale = expected.abs().max().item()
    assert scale > 0
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5 * scale)


def test_a_seed_gives_the_same_noise_on_every_call_and_none_draws_fresh_noise():
    model = TinyCNN().eval()
    images = torch.randn(2, 3, 12, 12)
    with SmoothGrad(InputGradient(model), samples=4, seed=3) as seeded:
        torch.testing.assert_close(seeded(images).raw, seeded(images).raw)
    with SmoothGrad(InputGradient(model), samples=4) as unseeded:
        assert not torch.equal(unseeded(images).raw, unseeded(images).raw)


def test_the_default_target_is_the_class_predicted_on_the_clean_input():
    torch.manual_seed(1)
    model = TinyCNN().eval()
    images = torch.randn(2, 3, 12, 12)
    predicted = model(images).argmax(1)
    with SmoothGrad(InputGradient(model), samples=5, noise_level=1.0, seed=0) as smooth:
        by_default = smooth.attribute(images)
        fixed = smooth.attribute(images, ClassTarget(predicted))
        unfixed = smooth.attribute(images, PredictedTarget())  # fixed on the clean input too
    torch.testing.assert_close(by_default, fixed)
    torch.testing.assert_close(unfixed, fixed)


def test_smooths_a_policy_on_uint8_frames():
    model = TinyPolicy().eval()
    frames = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    with SmoothGrad(InputGradient(model), samples=3, seed=0) as smooth:
        result = smooth(frames, ActionTarget([1, 2]))
    assert result.maps.shape == (2, 84, 84)
    assert result.raw.dtype == torch.float32


def test_needs_at_least_one_sample():
    with pytest.raises(ValueError, match="at least one sample"):
        SmoothGrad(InputGradient(TinyCNN()), samples=0)
