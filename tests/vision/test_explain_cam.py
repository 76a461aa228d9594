"""CAM: the class activation map of a GAP + linear head, and its identity with Grad-CAM."""

from __future__ import annotations

import pytest
import torch
from torchvision.models import resnet18

from tests.vision.explain_toys import (
    TinyCNN,
    TinyPolicy,
)
from vision.explain import CAM, ClassTarget, GradCAM, ValueTarget


@pytest.mark.parametrize(
    "build", [TinyCNN, lambda: resnet18(weights=None)], ids=["tiny", "resnet18"]
)
def test_relu_of_cam_equals_gradcam_times_the_number_of_positions(build):
    # y_c = mean_ij(w_c . A_ij) + b_c, so dy_c/dA_k(i, j) = w_ck / (h w): Grad-CAM's weights
    # are CAM's divided by h w (Selvaraju et al. 2017, section 3.1).
    torch.manual_seed(0)
    model = build().eval()
    images = torch.randn(2, 3, 64, 64)
    target = ClassTarget([1, 3])
    with CAM(model) as cam, GradCAM(model) as gradcam:
        class_map = cam(images, target)
        grad_map = gradcam(images, target)
    height, width = class_map.raw.shape[-2:]
    expected = torch.relu(class_map.raw)
    scale = expected.abs().max().item()
    assert scale > 0
    torch.testing.assert_close(
        grad_map.raw * (height * width), expected, rtol=1e-5, atol=1e-5 * scale
    )
    assert class_map.raw.min() < 0  # CAM keeps the negative evidence


def test_cam_is_the_classifier_weights_applied_to_the_features():
    torch.manual_seed(1)
    model = TinyCNN().eval()
    images = torch.randn(1, 3, 8, 8)
    with CAM(model, "features", "fc") as cam:
        raw = cam.attribute(images, ClassTarget(2))
    features = model.features(images)[0]  # (16, 4, 4)
    expected = torch.einsum("c,chw->hw", model.fc.weight[2], features)
    torch.testing.assert_close(raw[0], expected.detach())


def test_cam_needs_a_class_index():
    with CAM(TinyPolicy(), "torso", "actor") as cam, pytest.raises(TypeError, match="class index"):
        cam(torch.zeros(1, 4, 84, 84, dtype=torch.uint8), ValueTarget())


def test_cam_needs_matching_features_and_classifier():
    with CAM(TinyPolicy(), "torso", "actor") as cam, pytest.raises(ValueError, match="GAP"):
        cam(torch.zeros(1, 4, 84, 84, dtype=torch.uint8))


def test_cam_classifier_must_be_linear():
    with pytest.raises(ValueError, match="nn.Linear"):
        CAM(TinyCNN(), "features", "features.0")
