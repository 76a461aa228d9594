"""The registration table: where the cells of common layers look, analytic and empirical.

    python benchmarks/registration_table.py

For each network and layer: the grid, the centre of cell 0 and the distance between
centres per axis (y, x) in input pixel-index coordinates, from the layers' geometry
(``analytic``, where the path is a chain or a graph that ``torch.fx`` traces) and from
input gradients (``empirical``, random weights, random inputs); and the even stretch's
centre of cell 0, which the explainer libraries assume. Prints a markdown table.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet18

from agents.backbones import impala_cnn, nature_cnn
from vision.explain.registration import (
    Registration,
    analytic_registration,
    empirical_registration,
)
from vision.models import build_detector


def _cases() -> list[tuple[str, str, nn.Module, nn.Module, torch.Tensor]]:
    """(network, layer, model, layer module, example input)."""
    torch.manual_seed(0)
    observation = torch.zeros(1, 4, 84, 84)
    conv1, conv2 = nature_cnn(20).stem, nature_cnn(9).stem
    conv3 = nn.Sequential(*nature_cnn(9).stem, nn.Conv2d(64, 64, 3), nn.ReLU())
    impala = impala_cnn().stem
    resnet = resnet18(weights=None)
    detector = build_detector("faster_rcnn", num_classes=4, backbone="resnet18_fpn")
    body = detector.backbone.body
    return [
        ("Nature CNN", "conv1", conv1, conv1, observation),
        ("Nature CNN", "conv2 (the agent's map)", conv2, conv2, observation),
        ("Nature CNN", "conv3 (SB3 CnnPolicy's Grad-CAM)", conv3, conv3, observation),
        ("IMPALA CNN", "stage 2 (the agent's map)", impala, impala, observation),
        ("ResNet-18, 224x224", "layer4", resnet, resnet.layer4, torch.zeros(1, 3, 224, 224)),
        ("Faster R-CNN backbone (ResNet-18-FPN body), 256x256", "layer4", body, body.layer4,
         torch.zeros(1, 3, 256, 256)),
    ]  # fmt: skip


def _describe(registration: Registration | None) -> str:
    if registration is None:
        return "n/a | n/a"
    offset = ", ".join(f"{v:.2f}" for v in registration.offset)
    stride = ", ".join(f"{v:.2f}" for v in registration.stride)
    return f"{offset} | {stride}"


def main() -> None:
    print(
        "| network | layer | grid | analytic: cell 0 (y, x) | analytic: stride | "
        "empirical: cell 0 | empirical: stride | even stretch: cell 0 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for network, layer_name, model, layer, example in _cases():
        model.eval()
        analytic = analytic_registration(model, layer, example)
        empirical = empirical_registration(model, layer, example)
        even = Registration.even(empirical.grid, empirical.size)
        grid = "x".join(map(str, empirical.grid))
        print(
            f"| {network} | {layer_name} | {grid} | {_describe(analytic)} | "
            f"{_describe(empirical)} | {even.offset[0]:.2f} |"
        )


if __name__ == "__main__":
    main()
