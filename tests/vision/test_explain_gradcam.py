"""Grad-CAM against pytorch-grad-cam and Captum, and its contract on odd models."""

from __future__ import annotations

import pytest
import torch
from captum.attr import LayerAttribution, LayerGradCam
from pytorch_grad_cam import GradCAM as ReferenceGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn
from torchvision.models import densenet121, resnet18, vgg11_bn

from tests.vision.explain_toys import (
    TinyABN,
    TinyCNN,
    TinyPolicy,
)
from vision.explain import (
    ActionTarget,
    BoxScoreTarget,
    ClassTarget,
    GradCAM,
    ValueTarget,
    last_spatial_layer,
    normalize_per_sample,
)

# Layers whose output nothing modifies in place afterwards (see the DenseNet test below).
REFERENCE_MODELS = {
    "resnet18": "layer4",
    "vgg11_bn": "features",
    "densenet121": "features.denseblock4",
}
BUILDERS = {"resnet18": resnet18, "vgg11_bn": vgg11_bn, "densenet121": densenet121}


@pytest.fixture(scope="module")
def torchvision_models() -> dict[str, tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    """Each model with random weights, a 96 x 96 batch of 2, and its predicted classes."""
    models = {}
    for name, build in BUILDERS.items():
        torch.manual_seed(0)
        model = build(weights=None).eval()
        images = torch.randn(2, 3, 96, 96)
        with torch.no_grad():
            classes = model(images).argmax(dim=1)
        models[name] = (model, images, classes)
    return models


@pytest.fixture(scope="module")
def our_maps(torchvision_models):
    """Our Grad-CAM of each model's predicted classes at its reference layer, stretched
    evenly over the image as the reference libraries do."""
    results = {}
    for name, (model, images, classes) in torchvision_models.items():
        with GradCAM(model, REFERENCE_MODELS[name], placement="even") as gradcam:
            results[name] = gradcam(images, ClassTarget(classes))
    return results


def assert_close_relative(actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-5) -> None:
    """Equal within ``rtol`` of the expected values' largest magnitude."""
    expected = torch.as_tensor(expected, dtype=actual.dtype)
    scale = expected.abs().max().item()
    assert scale > 0, "a degenerate (all-zero) reference proves nothing"
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("name", list(REFERENCE_MODELS))
def test_equals_pytorch_grad_cam(torchvision_models, our_maps, name):
    model, images, classes = torchvision_models[name]
    layer = REFERENCE_MODELS[name]
    ours = our_maps[name].maps
    reference_targets = [ClassifierOutputTarget(int(c)) for c in classes]
    with ReferenceGradCAM(model, [model.get_submodule(layer)]) as reference:
        theirs = reference(images, reference_targets)
    # pytorch-grad-cam scales to [0, 1], resizes with OpenCV, and scales again; bilinear
    # resizing commutes with the scaling, so this is our resize-then-scale.
    assert_close_relative(ours, torch.from_numpy(theirs))


@pytest.mark.parametrize("name", list(REFERENCE_MODELS))
def test_equals_captum_layer_grad_cam(torchvision_models, our_maps, name):
    model, images, classes = torchvision_models[name]
    layer = REFERENCE_MODELS[name]
    ours = our_maps[name]
    captum = LayerGradCam(model, model.get_submodule(layer))
    raw = captum.attribute(images, target=classes, relu_attributions=True).detach()  # (B,1,h,w)
    assert_close_relative(ours.raw, raw[:, 0])
    upsampled = LayerAttribution.interpolate(raw, (96, 96), interpolate_mode="bilinear")[:, 0]
    assert_close_relative(ours.maps, normalize_per_sample(upsampled))


def test_densenet_in_place_relu_after_the_layer_does_not_change_the_map(torchvision_models):
    # DenseNet applies F.relu(..., inplace=True) to the output of `features` (norm5). We
    # record the layer's own output, as Captum does; pytorch-grad-cam on a CPU would
    # read the activation after the in-place ReLU but the gradient before it.
    model, images, classes = torchvision_models["densenet121"]
    assert last_spatial_layer(model, images) == "features"
    with GradCAM(model) as gradcam:
        ours = gradcam(images, ClassTarget(classes))
    captum = LayerGradCam(model, model.features)
    raw = captum.attribute(images, target=classes, relu_attributions=True).detach()[:, 0]
    assert_close_relative(ours.raw, raw)


@pytest.mark.parametrize("name", ["resnet18", "vgg11_bn"])
def test_auto_layer_is_the_last_spatial_layer(torchvision_models, our_maps, name):
    model, images, _ = torchvision_models[name]
    assert last_spatial_layer(model, images) == REFERENCE_MODELS[name]
    with GradCAM(model) as auto:  # predicted classes by default
        torch.testing.assert_close(auto(images).raw, our_maps[name].raw)


def test_layer_given_as_module_equals_layer_given_by_name(torchvision_models, our_maps):
    model, images, classes = torchvision_models["resnet18"]
    with GradCAM(model, model.layer4[-1]) as by_module:  # layer4[-1] outputs what layer4 does
        torch.testing.assert_close(
            by_module(images, ClassTarget(classes)).raw, our_maps["resnet18"].raw
        )


def test_in_place_addition_after_the_layer_is_harmless(torchvision_models):
    # layer4.1.bn2's output is summed in place with the shortcut, then ReLU'd in place.
    model, images, classes = torchvision_models["resnet18"]
    with GradCAM(model, "layer4.1.bn2") as gradcam:
        ours = gradcam(images, ClassTarget(classes)).raw
    captum = LayerGradCam(model, model.layer4[1].bn2)
    theirs = captum.attribute(images, target=classes, relu_attributions=True).detach()[:, 0]
    assert_close_relative(ours, theirs)


def test_one_target_per_sample_equals_explaining_each_sample_alone():
    torch.manual_seed(1)
    model = TinyCNN().eval()
    images = torch.randn(3, 3, 16, 16)
    classes = torch.tensor([0, 3, 1])
    with GradCAM(model) as gradcam:
        batched = gradcam(images, ClassTarget(classes)).raw
        for i in range(3):
            alone = gradcam(images[i : i + 1], ClassTarget(int(classes[i]))).raw
            torch.testing.assert_close(batched[i : i + 1], alone)


def test_targets_of_the_wrong_length_raise():
    model = TinyCNN().eval()
    with GradCAM(model) as gradcam, pytest.raises(ValueError, match="one index per sample"):
        gradcam(torch.randn(3, 3, 16, 16), ClassTarget([0, 1]))


def test_results_are_normalized_per_sample_and_keep_the_raw_map():
    torch.manual_seed(2)
    model = TinyCNN().eval()
    images = torch.randn(4, 3, 20, 20)
    with GradCAM(model) as gradcam:
        result = gradcam(images)
    assert result.maps.shape == (4, 20, 20)
    assert result.raw.shape == (4, 10, 10)
    for sample in result.maps:
        if sample.max() > 0:
            assert sample.min() == 0 and sample.max() == 1
    assert result.raw.min() >= 0


def test_abn_classifier_named_output():
    torch.manual_seed(3)
    model = TinyABN().eval()
    with GradCAM(model, "perception") as gradcam:
        result = gradcam(torch.randn(2, 3, 12, 12), ClassTarget([1, 2]))
    assert result.maps.shape == (2, 12, 12)


def test_policy_on_uint8_frames_action_and_value_targets():
    torch.manual_seed(4)
    model = TinyPolicy().eval()
    frames = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    with GradCAM(model, "torso") as gradcam:
        actions = gradcam(frames, ActionTarget(torch.tensor([0, 3])))
        values = gradcam(frames, ValueTarget())
    assert actions.maps.shape == values.maps.shape == (2, 84, 84)
    assert actions.raw.shape == (2, 9, 9)
    assert not torch.equal(actions.raw, values.raw)


def test_class_target_on_a_policy_output_is_a_clear_error():
    model = TinyPolicy().eval()
    frames = torch.zeros(1, 4, 84, 84, dtype=torch.uint8)
    with GradCAM(model, "torso") as gradcam, pytest.raises(TypeError, match="reads `logits`"):
        gradcam(frames, ClassTarget(0))


def test_layer_that_runs_twice_is_a_clear_error(torchvision_models):
    model, images, _ = torchvision_models["resnet18"]
    # BasicBlock calls its ReLU module twice.
    with GradCAM(model, "layer4.1.relu") as gradcam, pytest.raises(ValueError, match="2 times"):
        gradcam(images)


def test_unknown_layer_name_is_a_clear_error():
    with pytest.raises(ValueError, match="no layer named 'layer9'"):
        GradCAM(TinyCNN(), "layer9")


def test_layer_with_a_flat_output_is_a_clear_error():
    with GradCAM(TinyCNN(), "fc") as gradcam, pytest.raises(ValueError, match="(B, C, H, W)"):
        gradcam(torch.randn(1, 3, 8, 8))


class BlobDetector(nn.Module):
    """Detector-shaped toy: one box per image at the feature peak, torchvision's output format."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True))
        self.score = nn.Conv2d(4, 1, 1)

    def forward(self, images: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        logits = self.score(self.features(images))[:, 0]  # (B, H, W)
        detections = []
        for image_logits in logits:
            peak = image_logits.flatten().argmax()
            y, x = peak // image_logits.shape[1], peak % image_logits.shape[1]
            box = torch.stack([x - 2, y - 2, x + 2, y + 2]).float()[None]
            score = torch.sigmoid(image_logits.flatten()[peak])[None]
            detections.append({"boxes": box, "scores": score, "labels": torch.ones(1).long()})
        return detections


def test_box_score_target_on_a_detection_output():
    torch.manual_seed(5)
    detector = BlobDetector().eval()
    images = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        boxes = torch.cat([d["boxes"] for d in detector(images)])
    with GradCAM(detector, "features") as gradcam:
        matched = gradcam(images, BoxScoreTarget(boxes, 1))
        other_class = gradcam(images, BoxScoreTarget(boxes, 2))
    assert (matched.raw.flatten(1).amax(1) > 0).all()
    assert (other_class.raw == 0).all() and (other_class.maps == 0).all()


@pytest.mark.slow
def test_torchvision_detector_with_a_box_score_target():
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

    torch.manual_seed(5)
    detector = fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=3, box_score_thresh=0.0
    ).eval()
    images = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        detection = detector(images)[0]
    box, label = detection["boxes"][:1], detection["labels"][:1]
    with GradCAM(detector, "backbone.body.16") as gradcam:
        result = gradcam(images, BoxScoreTarget(box, label))
    assert result.maps.shape == (1, 128, 128)
    assert result.raw.max() > 0
