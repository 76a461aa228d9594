"""Perturbation saliency of Greydanus et al. ("Visualizing and Understanding Atari
Agents", ICML 2018), the method RL papers use to show where an Atari agent looks."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torchvision.transforms.functional import gaussian_blur

from vision.explain.base import Explainer, tile_target
from vision.explain.targets import LogitTarget, Target, output_logits


def blur(images: Tensor, sigma: float) -> Tensor:
    """Gaussian blur of a (B, C, H, W) float batch, kernel truncated at 3 sigma."""
    radius = min(math.ceil(3 * sigma), min(images.shape[-2:]) - 1)
    return gaussian_blur(images, kernel_size=[2 * radius + 1] * 2, sigma=[sigma] * 2)


def grid_masks(
    height: int, width: int, stride: int, sigma: float, device: torch.device | None = None
) -> Tensor:
    """Gaussian masks (gh, gw, H, W), peak 1, centred on a grid of ``stride``-pixel cells.

    Centres sit in the middle of the cells of a ``ceil(H / stride)`` x
    ``ceil(W / stride)`` grid, so bilinear upsampling of the (gh, gw) saliency
    grid puts each value back over the pixels it was measured at.
    """
    rows, cols = math.ceil(height / stride), math.ceil(width / stride)
    centre_y = (torch.arange(rows, device=device) + 0.5) * height / rows - 0.5  # (gh,)
    centre_x = (torch.arange(cols, device=device) + 0.5) * width / cols - 0.5  # (gw,)
    y = torch.arange(height, device=device, dtype=torch.float32)
    x = torch.arange(width, device=device, dtype=torch.float32)
    dy2 = (y[None, :] - centre_y[:, None]) ** 2  # (gh, H)
    dx2 = (x[None, :] - centre_x[:, None]) ** 2  # (gw, W)
    squared_distance = dy2[:, None, :, None] + dx2[None, :, None, :]  # (gh, gw, H, W)
    return torch.exp(-squared_distance / (2 * sigma**2))


class PerturbationSaliency(Explainer):
    """How much the output moves when a blurred blob replaces each region of the input.

    For a mask ``M`` centred at each grid point, the input becomes
    ``x' = x * (1 - M) + blur(x) * M`` (all channels, e.g. all stacked frames)
    and the saliency there is ``0.5 * ||f(x) - f(x')||^2``, where ``f`` is the
    target: by default the whole logit vector (the policy's action logits, the
    paper's actor saliency); ``ValueTarget()`` gives the critic saliency, and any
    ``target(output) -> (B,)`` or ``(B, D)`` works. Perturbations are batched.
    The raw map is the (gh, gw) grid; maps are upsampled to the input.

    Args:
        model: the model to explain.
        stride: grid spacing in pixels (5 in the paper).
        mask_sigma: standard deviation of the Gaussian mask in pixels (5 in the paper).
        blur_sigma: standard deviation of the blur that replaces the region (3 in the paper).
        batch_size: the most perturbed images in one forward pass.
    """

    uses_gradients = False
    default_target = staticmethod(output_logits)

    def __init__(
        self,
        model: nn.Module,
        *,
        stride: int = 5,
        mask_sigma: float = 5.0,
        blur_sigma: float = 3.0,
        batch_size: int = 128,
    ) -> None:
        super().__init__(model)
        self.stride = stride
        self.mask_sigma = mask_sigma
        self.blur_sigma = blur_sigma
        self.batch_size = batch_size

    def _attribute(self, model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
        images = inputs.float()
        batch, height, width = len(images), images.shape[-2], images.shape[-1]
        clean_output = model(images)
        if isinstance(target, LogitTarget) and target.index is None:
            target = target.fixed(clean_output)
        clean = target(clean_output).reshape(batch, -1)  # (B, D)
        blurred = blur(images, self.blur_sigma)
        masks = grid_masks(height, width, self.stride, self.mask_sigma, images.device)
        grid_shape = masks.shape[:2]
        masks = masks.flatten(0, 1)  # (G, H, W)
        copies_per_pass = max(1, self.batch_size // batch)
        saliency = []
        for start in range(0, len(masks), copies_per_pass):
            mask = masks[start : start + copies_per_pass, None, None]  # (k, 1, 1, H, W)
            copies = len(mask)
            perturbed = images + (blurred - images) * mask  # (k, B, C, H, W)
            output = model(perturbed.flatten(0, 1))
            moved = tile_target(target, copies, batch)(output).reshape(copies, batch, -1) - clean
            saliency.append(0.5 * moved.pow(2).sum(dim=2))  # (k, B)
        return torch.cat(saliency).T.reshape(batch, *grid_shape)  # (B, gh, gw)
