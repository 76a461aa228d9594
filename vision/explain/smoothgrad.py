"""SmoothGrad (Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vision.explain.base import Explainer, tile_target
from vision.explain.registration import Registration
from vision.explain.targets import LogitTarget, Target


class SmoothGrad(Explainer):
    """The mean of another method's attributions over Gaussian-noised copies of the input.

    Wraps any explainer (``InputGradient``, ``GuidedBackprop``, ``GradCAM``, ...)
    and closes it when closed. Noisy copies are batched; the target's class is
    fixed on the clean input, so every copy explains the same class.

    Copy ``i`` of a batch ``x`` is ``x + sigma * randn(x.shape)``, drawn in the
    order ``i = 0, 1, ...`` from a generator on the model's device, with
    ``sigma = noise_level * (max(x_b) - min(x_b))`` for each sample ``b``.

    Args:
        explainer: the method to smooth, built on the model to explain.
        samples: noisy copies per input (the paper's n).
        noise_level: noise standard deviation as a fraction of each input's value range.
        seed: seeds a ``torch.Generator`` on every call, so the same inputs get the
            same noise; None draws from torch's global generator.
        batch_size: the most images in one forward pass.
    """

    uses_gradients = False  # the wrapped explainer enables autograd where it needs it

    def __init__(
        self,
        explainer: Explainer,
        *,
        samples: int = 50,
        noise_level: float = 0.15,
        seed: int | None = None,
        batch_size: int = 64,
    ) -> None:
        super().__init__(explainer.model)
        if samples < 1:
            raise ValueError(f"SmoothGrad needs at least one sample; got {samples}.")
        self.explainer = explainer
        self.samples = samples
        self.noise_level = noise_level
        self.seed = seed
        self.batch_size = batch_size

    def _parts(self) -> tuple[Explainer, ...]:
        return (self.explainer,)

    def registration(self, inputs: Tensor, grid: tuple[int, int]) -> Registration:
        return self.explainer.registration(inputs, grid)  # the wrapped method's grid

    def _attribute(self, model: nn.Module, inputs: Tensor, target: Target) -> Tensor:
        inputs = inputs.float()
        if isinstance(target, LogitTarget) and target.index is None:
            target = target.fixed(model(inputs))
        batch = len(inputs)
        flat = inputs.flatten(1)
        sigma = self.noise_level * (flat.amax(1) - flat.amin(1))  # (B,)
        sigma = sigma.reshape(batch, *[1] * (inputs.ndim - 1))  # (B, 1, 1, 1)
        generator = None
        if self.seed is not None:
            generator = torch.Generator(device=inputs.device).manual_seed(self.seed)
        copies_per_pass = max(1, self.batch_size // batch)
        total = inputs.new_zeros(())  # broadcasts to the attributions' shape
        for start in range(0, self.samples, copies_per_pass):
            copies = min(copies_per_pass, self.samples - start)
            noise = torch.stack(
                [
                    torch.randn(
                        inputs.shape, generator=generator, device=inputs.device, dtype=inputs.dtype
                    )
                    for _ in range(copies)
                ]
            )  # (copies, B, C, H, W)
            noisy = (inputs + sigma * noise).flatten(0, 1)  # (copies * B, C, H, W)
            attribution = self.explainer.attribute(noisy, tile_target(target, copies, batch))
            summed = attribution.unflatten(0, (copies, batch)).sum(dim=0)
            total = total + summed
        return total / self.samples
