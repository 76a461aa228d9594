"""Guided Backpropagation, Guided Grad-CAM and input gradients against Captum and autograd."""

from __future__ import annotations

import pytest
import torch
from captum.attr import GuidedBackprop as CaptumGuidedBackprop
from captum.attr import GuidedGradCam as CaptumGuidedGradCam
from captum.attr import Saliency
from torchvision.models import resnet18, vgg11_bn

from tests.vision.explain_toys import (
    TinyCNN,
    TinyPolicy,
)
from vision.explain import (
    ActionTarget,
    ClassTarget,
    GradCAM,
    GuidedBackprop,
    GuidedGradCAM,
    InputGradient,
)
from vision.explain.base import upsample

# Captum announces the hooks it sets and the inputs it makes require grad.
pytestmark = pytest.mark.filterwarnings(r"ignore::UserWarning:captum\..*")


def assert_close_relative(actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-5) -> None:
    scale = expected.abs().max().item()
    assert scale > 0, "a degenerate (all-zero) reference proves nothing"
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * scale)


@pytest.fixture(scope="module", params=["resnet18", "vgg11_bn"])
def model_and_batch(request):
    torch.manual_seed(0)
    model = {"resnet18": resnet18, "vgg11_bn": vgg11_bn}[request.param](weights=None).eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        classes = model(images).argmax(dim=1)
    return model, images, classes


def test_guided_backprop_equals_captum(model_and_batch):
    model, images, classes = model_and_batch  # in-place ReLUs in both models
    with GuidedBackprop(model) as guided:
        ours = guided.attribute(images, ClassTarget(classes))
    theirs = CaptumGuidedBackprop(model).attribute(images, target=classes).detach()
    assert ours.shape == images.shape
    assert_close_relative(ours, theirs)


def test_guided_backprop_differs_from_the_plain_gradient(model_and_batch):
    model, images, classes = model_and_batch
    with GuidedBackprop(model) as guided, InputGradient(model) as plain:
        assert not torch.allclose(
            guided.attribute(images, ClassTarget(classes)),
            plain.attribute(images, ClassTarget(classes)),
        )


def test_input_gradient_equals_captum_saliency(model_and_batch):
    model, images, classes = model_and_batch
    with InputGradient(model) as gradient:
        ours = gradient(images, ClassTarget(classes))
    theirs = Saliency(model).attribute(images, target=classes, abs=False).detach()
    assert_close_relative(ours.raw, theirs.abs().amax(dim=1))  # max |gradient| over channels


@pytest.mark.parametrize("placement", ["registered", "even"])
def test_guided_gradcam_is_guided_backprop_times_placed_gradcam(model_and_batch, placement):
    model, images, classes = model_and_batch
    target = ClassTarget(classes)
    with GuidedGradCAM(model, placement=placement) as guided_gradcam, GradCAM(model) as gradcam:
        ours = guided_gradcam.attribute(images, target)
        coarse = gradcam.attribute(images, target)
        if placement == "even":
            cam = upsample(coarse, (64, 64))
        else:
            cam = gradcam(images, target).registration.place(coarse)
    with GuidedBackprop(model) as guided:
        expected = guided.attribute(images, target) * cam[:, None]
    assert_close_relative(ours, expected)


def test_guided_gradcam_equals_captum_on_a_model_with_full_resolution_features():
    # Captum upsamples Grad-CAM with nearest neighbours; at the input's resolution
    # (TinyCNN's first block) no upsampling is needed and the two must agree.
    torch.manual_seed(1)
    model = TinyCNN().eval()
    images = torch.randn(2, 3, 12, 12)
    target = torch.tensor([1, 4])
    with GuidedGradCAM(model, "features.2") as guided_gradcam:
        ours = guided_gradcam.attribute(images, ClassTarget(target))
    theirs = CaptumGuidedGradCam(model, model.features[2]).attribute(images, target=target)
    assert_close_relative(ours, theirs.detach())


def test_gradients_of_a_policy_on_uint8_frames():
    torch.manual_seed(2)
    model = TinyPolicy().eval()
    frames = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    actions = torch.tensor([2, 0])
    with InputGradient(model) as gradient:
        ours = gradient.attribute(frames, ActionTarget(actions))
    observations = frames.float().requires_grad_()
    model(observations).action_logits.gather(1, actions[:, None]).sum().backward()
    torch.testing.assert_close(ours, observations.grad)
