"""Faithfulness metrics for saliency maps: deletion and insertion (Petsiuk et al., "RISE:
Randomized Input Sampling for Explanation of Black-box Models", BMVC 2018) and the pointing
game (Zhang et al., "Top-down Neural Attention by Excitation Backprop", ECCV 2016).

Deletion and insertion work for image classifiers and for RL policies alike: by
default the score is the probability of the class (or action) the model picks on
the clean input, fixed for the whole curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn
from torchvision.transforms.functional import gaussian_blur

from vision.explain.base import model_device, model_session, tile_target, upsample
from vision.explain.targets import LogitTarget, PredictedTarget, Target

Baseline = float | Tensor | Literal["blur"]


class ScoreCurve(NamedTuple):
    """A deletion or insertion curve and the area under it."""

    auc: Tensor
    """(B,) area under the curve, the fraction of pixels changed on the x axis in [0, 1]."""
    scores: Tensor
    """(B, steps + 1) the score after changing 0, 1/steps, ..., all of the pixels."""


def rise_blur(images: Tensor) -> Tensor:
    """The blurred canvas of RISE's insertion metric: Gaussian, sigma 5, 11 x 11 kernel."""
    return gaussian_blur(images, kernel_size=[11, 11], sigma=[5.0, 5.0])


def deletion(
    model: nn.Module,
    inputs: Tensor,
    maps: Tensor,
    target: Target | None = None,
    *,
    steps: int = 100,
    baseline: Baseline = 0.0,
    batch_size: int = 64,
) -> ScoreCurve:
    """Deletion: remove the most salient pixels first; a lower AUC is better.

    Args:
        model: the model the maps explain.
        inputs: (B, C, H, W) batch (uint8 frames are made float).
        maps: (B, h, w) saliency maps, upsampled bilinearly to (H, W) if needed.
        target: the score ``target(output) -> (B,)``; by default the probability of
            the class or action predicted on the clean input. A ``ClassTarget`` or
            ``ActionTarget`` without index is fixed on the clean input too.
        steps: points of the curve after the first; pixels change in ``steps`` equal parts.
        baseline: what replaces deleted pixels: a value, a tensor broadcastable to
            the inputs, or ``"blur"`` for a blurred copy.
        batch_size: the most images in one forward pass.
    """
    return _score_curve(model, inputs, maps, target, steps, baseline, batch_size, insert=False)


def insertion(
    model: nn.Module,
    inputs: Tensor,
    maps: Tensor,
    target: Target | None = None,
    *,
    steps: int = 100,
    baseline: Baseline = "blur",
    batch_size: int = 64,
) -> ScoreCurve:
    """Insertion: add the most salient pixels to a blank canvas first; higher AUC is better.

    Arguments as in ``deletion``; the canvas (``baseline``) is by default RISE's
    blurred copy of the input.
    """
    return _score_curve(model, inputs, maps, target, steps, baseline, batch_size, insert=True)


def _score_curve(
    model: nn.Module,
    inputs: Tensor,
    maps: Tensor,
    target: Target | None,
    steps: int,
    baseline: Baseline,
    batch_size: int,
    *,
    insert: bool,
) -> ScoreCurve:
    if inputs.ndim != 4:
        raise ValueError(f"Expected a batch of images (B, C, H, W); got {tuple(inputs.shape)}.")
    if maps.ndim != 3 or len(maps) != len(inputs):
        raise ValueError(
            f"Expected one (h, w) map per image, shape ({len(inputs)}, h, w); "
            f"got {tuple(maps.shape)}."
        )
    if steps < 1:
        raise ValueError(f"A curve needs at least one step; got {steps}.")
    device = model_device(model) or inputs.device
    images = inputs.detach().to(device).float()
    batch, _, height, width = images.shape
    pixels = height * width
    maps = upsample(maps.detach().to(device).float(), (height, width))
    order = maps.flatten(1).argsort(dim=1, descending=True, stable=True)  # (B, H*W)
    rank = torch.empty_like(order).scatter_(
        1, order, torch.arange(pixels, device=device).expand(batch, -1)
    )
    rank = rank.reshape(batch, 1, height, width)  # 0 for the most salient pixel
    counts = torch.arange(steps + 1, device=device) * pixels // steps  # pixels changed per point

    with model_session(model, grad=False):
        if isinstance(baseline, str):
            if baseline != "blur":
                raise ValueError(
                    f"Unknown baseline {baseline!r}; give a value, a tensor or 'blur'."
                )
            canvas = rise_blur(images)
        else:
            canvas = torch.as_tensor(baseline, dtype=images.dtype, device=device).expand_as(images)
        start, finish = (canvas, images) if insert else (images, canvas)
        if target is None:
            target = PredictedTarget(probability=True)
        if isinstance(target, LogitTarget) and target.index is None:
            target = target.fixed(model(images))
        copies_per_pass = max(1, batch_size // batch)
        curve = []
        for first in range(0, steps + 1, copies_per_pass):
            count = counts[first : first + copies_per_pass]
            copies = len(count)
            changed = rank < count[:, None, None, None, None]  # (k, B, 1, H, W)
            stepped = torch.where(changed, finish, start).flatten(0, 1)  # (k * B, C, H, W)
            scores = tile_target(target, copies, batch)(model(stepped))
            curve.append(scores.reshape(copies, batch))
    scores = torch.cat(curve).T  # (B, steps + 1)
    auc = (scores.sum(dim=1) - 0.5 * (scores[:, 0] + scores[:, -1])) / steps  # trapezoid rule
    return ScoreCurve(auc, scores)


def pointing_game(
    maps: Tensor, regions: Tensor, *, tolerance: float = 15.0, window: int = 0
) -> Tensor:
    """Whether each map's peak falls on its object, within ``tolerance`` pixels.

    Args:
        maps: (B, h, w) saliency maps, upsampled bilinearly to the regions' size if needed.
        regions: (B, H, W) bool masks of the target object (all its instances);
            ``box_regions`` makes them from boxes.
        tolerance: the radius in pixels around the peak that may touch the
            region (15 in the paper).
        window: 0 for the paper's peak, the map's maximum (the first on ties); else the
            half-width in pixels of the square around the maximum whose centre of mass
            is the peak (``map_peaks``).

    Returns:
        (B,) bool hits; the pointing accuracy is their mean.
    """
    if regions.ndim != 3 or maps.ndim != 3 or len(maps) != len(regions):
        raise ValueError(
            f"Expected maps (B, h, w) and regions (B, H, W); got {tuple(maps.shape)} and "
            f"{tuple(regions.shape)}."
        )
    height, width = regions.shape[-2:]
    peak_x, peak_y = map_peaks(upsample(maps.float(), (height, width)), window=window).unbind(1)
    y = torch.arange(height, device=maps.device) + 0.5  # pixel centres
    x = torch.arange(width, device=maps.device) + 0.5
    near = (y[None, :, None] - peak_y[:, None, None]) ** 2 + (
        x[None, None, :] - peak_x[:, None, None]
    ) ** 2 <= tolerance**2  # (B, H, W)
    return (near & regions.to(maps.device).bool()).flatten(1).any(dim=1)


def map_peaks(maps: Tensor, *, window: int = 0) -> Tensor:
    """(B, 2) peaks (x, y) of (B, H, W) maps, in pixels (a pixel's centre is at +0.5).

    With ``window`` 0 the peak is the centre of the maximum's pixel. Otherwise it is the
    centre of mass of the square of half-width ``window`` pixels around the maximum: a
    coarse map upsampled bilinearly peaks at a cell's centre, while the weights of the
    cells around it place its object more finely (keypoint detectors refine heat maps
    the same way).
    """
    height, width = maps.shape[-2:]
    peak = maps.flatten(1).argmax(dim=1)  # (B,)
    row, col = peak // width, peak % width
    y = torch.arange(height, device=maps.device)[None, :, None]
    x = torch.arange(width, device=maps.device)[None, None, :]
    inside = ((y - row[:, None, None]).abs() <= window) & ((x - col[:, None, None]).abs() <= window)
    weights = (maps - maps.flatten(1).amin(dim=1)[:, None, None]) * inside
    mass = weights.flatten(1).sum(dim=1)
    centre_x = (weights * (x + 0.5)).flatten(1).sum(dim=1) / mass.clamp_min(1e-12)
    centre_y = (weights * (y + 0.5)).flatten(1).sum(dim=1) / mass.clamp_min(1e-12)
    flat = mass <= 0  # a constant map: its maximum's pixel
    centre_x = torch.where(flat, col + 0.5, centre_x)
    centre_y = torch.where(flat, row + 0.5, centre_y)
    return torch.stack([centre_x, centre_y], dim=1)


def box_regions(boxes: Sequence[Tensor] | Tensor, size: tuple[int, int]) -> Tensor:
    """(B, H, W) bool masks of the pixels whose centres lie in any of each image's boxes.

    Args:
        boxes: per image, (N, 4) boxes (x1, y1, x2, y2) in pixels; or a (B, 4) tensor
            with one box per image.
        size: (H, W) of the masks.
    """
    if isinstance(boxes, Tensor) and boxes.ndim == 2:
        boxes = list(boxes[:, None])
    height, width = size
    masks = []
    for image_boxes in boxes:
        image_boxes = torch.as_tensor(image_boxes, dtype=torch.float32).reshape(-1, 4)
        centre_y = torch.arange(height, device=image_boxes.device) + 0.5
        centre_x = torch.arange(width, device=image_boxes.device) + 0.5
        x1, y1, x2, y2 = (image_boxes[:, i, None, None] for i in range(4))  # (N, 1, 1)
        inside_y = (centre_y[None, :, None] >= y1) & (centre_y[None, :, None] <= y2)
        inside_x = (centre_x[None, None, :] >= x1) & (centre_x[None, None, :] <= x2)
        masks.append((inside_y & inside_x).any(dim=0))  # (H, W)
    return torch.stack(masks)
