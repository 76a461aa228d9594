"""Object detectors of the survey on torchvision's implementations, built by name.

``build_detector("faster_rcnn", num_classes=4, backbone="resnet18_fpn")`` builds
Faster R-CNN (Ren et al., NeurIPS 2015) with its Region Proposal Network;
``"mask_rcnn"`` (He et al., ICCV 2017) adds the mask head; ``"ssd300"`` is SSD300
on VGG-16 (Liu et al., ECCV 2016) and ``"ssdlite"`` SSDlite320 on MobileNetV3-Large
(Howard et al., ICCV 2019). ``num_classes`` counts the background (class 0).

The R-CNNs default to anchors and input scales for Atari frames: a 210x160 frame
is upscaled 3x (``min_size=630``) so that Breakout's 2x4-pixel ball spans 6x12
pixels, and the anchors start at 8 pixels with ratios down to 1:10 for brick rows.
The SSDs keep their fixed input size (300, 320) and get default boxes for the same
objects: from 2% of the input side (the ball) up, with width:height ratios 4 and 10
(paddle, brick rows) in place of torchvision's 2 and 3.

Building never touches the network: ``weights`` (ImageNet weights of the
backbone) load from the local torch hub cache only.
"""

from __future__ import annotations

from dataclasses import replace

from torch import Tensor, nn
from torchvision.models import WeightsEnum
from torchvision.models.detection import (
    FasterRCNN,
    MaskRCNN,
    ssd300_vgg16,
    ssdlite320_mobilenet_v3_large,
)
from torchvision.models.detection.anchor_utils import AnchorGenerator, DefaultBoxGenerator
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.models.detection.generalized_rcnn import GeneralizedRCNN
from torchvision.models.detection.ssd import SSD

from vision.explain.registration import Registration, layer_registration
from vision.models.builder import cached_weights

DETECTORS = ("faster_rcnn", "mask_rcnn", "ssd300", "ssdlite")
RESNET_BACKBONES = ("resnet18_fpn", "resnet34_fpn", "resnet50_fpn", "resnet101_fpn")
_FIXED_BACKBONES = {"ssd300": "vgg16", "ssdlite": "mobilenet_v3_large"}

ANCHOR_SIZES = ((8,), (16,), (32,), (64,), (128,))  # one size per FPN level, P2 to P6
ASPECT_RATIOS = (0.1, 0.25, 0.5, 1.0, 2.0)  # height / width
FRAME_MIN_SIZE, FRAME_MAX_SIZE = 630, 840  # a 210x160 frame upscaled 3x (R-CNNs)
SSD_SCALES = (0.02, 0.06, 0.12, 0.25, 0.45, 0.7, 0.95)  # default-box sizes / input side
SSD_RATIOS = {2: 4, 3: 10}  # torchvision's width:height ratios -> ours (same count per cell)


def list_detectors() -> list[str]:
    """Names ``build_detector`` accepts."""
    return list(DETECTORS)


def detector_backbones(name: str) -> list[str]:
    """Backbones a detector can be built with, the default first."""
    _check_name(name)
    if name in _FIXED_BACKBONES:
        return [_FIXED_BACKBONES[name]]
    return ["resnet50_fpn", *(b for b in RESNET_BACKBONES if b != "resnet50_fpn")]


def build_detector(
    name: str,
    *,
    num_classes: int,
    backbone: str | None = None,
    weights: str | WeightsEnum | None = None,
    min_size: int = FRAME_MIN_SIZE,
    max_size: int = FRAME_MAX_SIZE,
    trainable_backbone_layers: int | None = None,
) -> nn.Module:
    """A torchvision detector with random weights (or a cached ImageNet backbone).

    In training mode the model takes ``(images, targets)`` and returns a dict of
    losses; in eval mode it takes images and returns one dict per image with
    ``boxes`` (x1, y1, x2, y2 in input pixels), ``labels``, ``scores`` (and
    ``masks`` for Mask R-CNN). Images are float (3, H, W) in [0, 1].

    Args:
        name: one of ``list_detectors()``.
        num_classes: object classes plus one for the background.
        backbone: one of ``detector_backbones(name)``; None for the default
            (ResNet-50-FPN for the R-CNNs; SSDs have one backbone each).
        weights: ImageNet weights of the backbone (e.g. ``"DEFAULT"``) from the
            local torch hub cache, or None for random initialization.
        min_size: R-CNNs: the shorter image side after resizing.
        max_size: R-CNNs: the longest side allowed after resizing.
        trainable_backbone_layers: backbone stages left trainable; None trains all of a
            random backbone and torchvision's default share of a pretrained one.

    Raises:
        ValueError: unknown name or backbone, or fewer than 2 classes.
        FileNotFoundError: ``weights`` are not in the local cache.
    """
    _check_name(name)
    if num_classes < 2:
        raise ValueError(f"num_classes counts the background too; got {num_classes}, need >= 2.")
    backbone = backbone or detector_backbones(name)[0]
    if backbone not in detector_backbones(name):
        raise ValueError(
            f"Unknown backbone {backbone!r} for {name}; "
            f"choose one of {', '.join(detector_backbones(name))}."
        )
    arch = backbone.removesuffix("_fpn")
    backbone_weights = _cached_weights(arch, weights)
    if name in _FIXED_BACKBONES:
        builder = ssd300_vgg16 if name == "ssd300" else ssdlite320_mobilenet_v3_large
        ssd = builder(
            num_classes=num_classes,
            weights_backbone=backbone_weights,
            trainable_backbone_layers=trainable_backbone_layers,
        )
        ssd.anchor_generator = frame_default_boxes(ssd.anchor_generator)
        return ssd
    if trainable_backbone_layers is None:
        trainable_backbone_layers = 3 if backbone_weights is not None else 5
    features = resnet_fpn_backbone(
        backbone_name=arch, weights=backbone_weights, trainable_layers=trainable_backbone_layers
    )
    anchors = AnchorGenerator(ANCHOR_SIZES, (ASPECT_RATIOS,) * len(ANCHOR_SIZES))
    detector = MaskRCNN if name == "mask_rcnn" else FasterRCNN
    return detector(
        features,
        num_classes=num_classes,
        rpn_anchor_generator=anchors,
        min_size=min_size,
        max_size=max_size,
    )


def frame_default_boxes(stock: DefaultBoxGenerator) -> DefaultBoxGenerator:
    """Default boxes for Atari objects with as many boxes per cell as ``stock``, so that
    the SSD heads built for ``stock`` fit them."""
    ratios = [[SSD_RATIOS[ratio] for ratio in level] for level in stock.aspect_ratios]
    return DefaultBoxGenerator(ratios, scales=list(SSD_SCALES), steps=stock.steps, clip=stock.clip)


def detector_feature_layer(name: str) -> str:
    """The dotted name of the detector's last backbone stage, for Grad-CAM."""
    _check_name(name)
    layers = {"ssd300": "backbone.features", "ssdlite": "backbone.features.1"}
    return layers.get(name, "backbone.body.layer4")


def detector_registration(
    model: GeneralizedRCNN | SSD, layer: nn.Module, image: Tensor
) -> Registration:
    """Where the cells of ``layer`` (a module of the detector's backbone) sit in ``image``
    (C, H, W): the backbone's registration on the image as the detector's transform
    resizes it, mapped back to the image's pixels. Faster than registering through the
    whole detector, whose post-processing has no plain graph."""
    resized = model.transform([image])[0]  # an ImageList, padded to a multiple of 32
    height, width = resized.image_sizes[0]
    found = layer_registration(model.backbone, layer, resized.tensors[:1])
    scale = (height / image.shape[-2], width / image.shape[-1])
    # Resized pixel r covers image pixel (r + 0.5) / scale - 0.5 (half-pixel centres).
    offset = ((found.offset[0] + 0.5) / scale[0] - 0.5, (found.offset[1] + 0.5) / scale[1] - 0.5)
    stride = (found.stride[0] / scale[0], found.stride[1] / scale[1])
    size = (image.shape[-2], image.shape[-1])
    return replace(found, size=size, offset=offset, stride=stride, extent=None)


def _check_name(name: str) -> None:
    if name not in DETECTORS:
        raise ValueError(f"Unknown detector {name!r}; choose one of {', '.join(DETECTORS)}.")


def _cached_weights(arch: str, weights: str | WeightsEnum | None) -> WeightsEnum | None:
    """torchvision's ``weights`` of ``arch``, checked to be in the local cache (no download)."""
    return None if weights is None else cached_weights(arch, weights)
