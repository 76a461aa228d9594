"""Detectors build offline, learn on a tiny batch, and give valid detections in eval mode."""

import pytest
import torch

from vision.detection import TrainSettings, predict, shapes_detection_dataset, train_detector
from vision.models.detection import build_detector, detector_backbones, list_detectors

torch.set_num_threads(1)
TINY = {"min_size": 64, "max_size": 64}  # R-CNNs only; SSDs have fixed input sizes
FAST = ["faster_rcnn", "mask_rcnn", "ssdlite"]


def tiny_detector(name):
    torch.manual_seed(0)
    backbone = "resnet18_fpn" if name.endswith("rcnn") else None
    return build_detector(name, num_classes=6, backbone=backbone, **TINY)


@pytest.fixture(scope="module")
def shapes():
    return shapes_detection_dataset(2, seed=0, image_size=64)


def test_registry_names_every_detector():
    assert list_detectors() == ["faster_rcnn", "mask_rcnn", "ssd300", "ssdlite"]
    assert detector_backbones("faster_rcnn")[0] == "resnet50_fpn"
    assert detector_backbones("ssd300") == ["vgg16"]


def test_default_backbone_builds_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache: nothing can be loaded
    model = build_detector("faster_rcnn", num_classes=4)
    assert sum(p.numel() for p in model.backbone.body.parameters()) > 20_000_000  # ResNet-50
    assert not any(tmp_path.iterdir())


def test_uncached_weights_are_not_downloaded(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not in the local torch hub cache"):
        build_detector("faster_rcnn", num_classes=4, backbone="resnet18_fpn", weights="DEFAULT")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "yolo", "num_classes": 3}, "Unknown detector"),
        ({"name": "ssd300", "num_classes": 3, "backbone": "resnet18_fpn"}, "Unknown backbone"),
        ({"name": "faster_rcnn", "num_classes": 1}, "background"),
        ({"name": "mask_rcnn", "num_classes": 3, "weights": "NOPE"}, "Unknown weights"),
    ],
)
def test_bad_build_arguments_are_clear(kwargs, message):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=message):
        build_detector(name, backbone=kwargs.pop("backbone", "resnet18_fpn"), **kwargs)


def _loss_goes_down(name, shapes):
    model = tiny_detector(name)
    settings = TrainSettings(steps=3, batch_size=2, lr=0.01, warmup_steps=1)
    result = train_detector(model, shapes, settings)  # both images every step
    assert result.step == 3 and all(torch.isfinite(torch.tensor(result.losses)))
    assert result.losses[-1] < result.losses[0]


@pytest.mark.parametrize("name", FAST)
def test_training_steps_lower_the_loss(name, shapes):
    _loss_goes_down(name, shapes)


@pytest.mark.slow
def test_ssd300_training_steps_lower_the_loss(shapes):
    _loss_goes_down("ssd300", shapes)


@pytest.mark.parametrize("name", list_detectors())
def test_eval_mode_outputs_are_valid(name, shapes):
    model = tiny_detector(name)
    image = shapes[0][0]
    (output,) = predict(model, [image], batch_size=1)
    count = len(output["boxes"])
    assert output["boxes"].shape == (count, 4) and output["scores"].shape == (count,)
    assert count > 0  # random weights still score some boxes above torchvision's thresholds
    boxes = output["boxes"]
    assert torch.isfinite(boxes).all() and (boxes[:, 2:] >= boxes[:, :2]).all()
    assert boxes.min() >= 0 and boxes[:, [0, 2]].max() <= 64 and boxes[:, [1, 3]].max() <= 64
    assert ((output["scores"] >= 0) & (output["scores"] <= 1)).all()
    assert ((output["labels"] >= 1) & (output["labels"] <= 5)).all()
    if name == "mask_rcnn":
        assert output["masks"].shape == (count, 1, 64, 64)
    assert model.training  # predict restores the caller's mode


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ([], "at least one image"),
        ([torch.zeros(1, 32, 32)], "3 channels"),
        ([torch.zeros(3, 0, 32)], "non-zero size"),
        ([torch.zeros(32, 32)], "RGB image"),
    ],
)
def test_bad_images_are_clear_errors(images, message):
    model = tiny_detector("faster_rcnn")
    with pytest.raises(ValueError, match=message):
        predict(model, images)
