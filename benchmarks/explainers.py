"""Explainer throughput: ours against pytorch-grad-cam and Captum on the same model and batch.

Grad-CAM, Guided Backprop and SmoothGrad on torchvision's resnet18 (random weights),
with the model's forward-only rate as the ceiling. The methods run interleaved, one
call each per round, after a warm-up round; each figure is the best of the rounds,
the run least disturbed by other work on a shared machine (as ``timeit`` advises).

    .venv/bin/python benchmarks/explainers.py            # batch 8, 224 x 224, 2 threads
    .venv/bin/python benchmarks/explainers.py --device cuda --rounds 20
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings
from collections.abc import Callable

import torch
from captum.attr import GuidedBackprop as CaptumGuidedBackprop
from captum.attr import LayerAttribution, LayerGradCam, NoiseTunnel, Saliency
from pytorch_grad_cam import GradCAM as ReferenceGradCAM
from pytorch_grad_cam import GuidedBackpropReLUModel
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torchvision.models import resnet18

from abnrl.machine import cpu_model
from vision.explain import ClassTarget, GradCAM, GuidedBackprop, InputGradient, SmoothGrad

OURS = "abnrl"


def build_cases(args: argparse.Namespace) -> dict[str, dict[str, Callable[[], object]]]:
    """Per method, a zero-argument call per library that explains the whole batch."""
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = resnet18(weights=None).eval().to(device)
    images = torch.randn(args.batch, 3, args.size, args.size, device=device)
    with torch.no_grad():
        classes = model(images).argmax(dim=1)
    size = (args.size, args.size)
    flat = images.flatten(1)
    stdevs = args.noise_level * (flat.amax(1) - flat.amin(1)).mean().item()
    copies_per_pass = max(1, args.smoothgrad_batch // args.batch)

    channels_last = images.contiguous(memory_format=torch.channels_last)

    def forward(batch: torch.Tensor) -> object:
        with torch.inference_mode():
            return model(batch)

    ours_gradcam = GradCAM(model, "layer4")
    their_gradcam = ReferenceGradCAM(model, [model.layer4])
    their_targets = [ClassifierOutputTarget(int(c)) for c in classes]
    captum_gradcam = LayerGradCam(model, model.layer4)

    def captum_gradcam_maps() -> object:
        raw = captum_gradcam.attribute(images, target=classes, relu_attributions=True)
        return LayerAttribution.interpolate(raw, size, interpolate_mode="bilinear")

    ours_guided = GuidedBackprop(model)
    captum_guided = CaptumGuidedBackprop(model)
    # pytorch-grad-cam's guided backprop explains one image per call and swaps the
    # model's ReLU modules, so it gets its own copy of the model.
    their_guided = GuidedBackpropReLUModel(copy.deepcopy(model), device=device)

    def their_guided_batch() -> object:
        return [their_guided(images[i : i + 1], int(classes[i])) for i in range(len(images))]

    ours_smooth = SmoothGrad(
        InputGradient(model),
        samples=args.smoothgrad_samples,
        noise_level=args.noise_level,
        seed=0,
        batch_size=args.smoothgrad_batch,
    )
    captum_smooth = NoiseTunnel(Saliency(model))

    def captum_smooth_batch() -> object:
        return captum_smooth.attribute(
            images,
            nt_type="smoothgrad",
            nt_samples=args.smoothgrad_samples,
            nt_samples_batch_size=copies_per_pass,
            stdevs=stdevs,
            target=classes,
            abs=False,
        )

    return {
        "forward only (ceiling)": {
            "torchvision": lambda: forward(images),
            "torchvision, channels-last input": lambda: forward(channels_last),
        },
        "Grad-CAM": {
            OURS: lambda: ours_gradcam(images, ClassTarget(classes)),
            "pytorch-grad-cam": lambda: their_gradcam(images, their_targets),
            "Captum": captum_gradcam_maps,
        },
        "Guided Backprop": {
            OURS: lambda: ours_guided(images, ClassTarget(classes)),
            "pytorch-grad-cam": their_guided_batch,
            "Captum": lambda: captum_guided.attribute(images, target=classes),
        },
        f"SmoothGrad (n={args.smoothgrad_samples})": {
            OURS: lambda: ours_smooth(images, ClassTarget(classes)),
            "Captum": captum_smooth_batch,
        },
    }


def measure(cases: dict[str, dict[str, Callable[[], object]]], rounds: int, device: str):
    """Seconds per call, per (method, library), over interleaved rounds after one warm-up."""
    synchronize = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    calls = [
        (method, library, call) for method, libs in cases.items() for library, call in libs.items()
    ]
    seconds: dict[tuple[str, str], list[float]] = {(m, lib): [] for m, lib, _ in calls}
    for round_index in range(rounds + 1):
        for method, library, call in calls:
            synchronize()
            start = time.perf_counter()
            call()
            synchronize()
            if round_index:  # round 0 warms up
                seconds[method, library].append(time.perf_counter() - start)
    return seconds


def report(seconds, batch: int) -> str:
    best = {key: min(times) for key, times in seconds.items()}
    forward = best["forward only (ceiling)", "torchvision"]
    lines = [
        "| method | library | maps/s | abnrl speed-up | rate / forward-only rate |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for (method, library), time_per_call in best.items():
        ours = best.get((method, OURS))
        speedup = "" if ours is None or library == OURS else f"{time_per_call / ours:.2f}x"
        lines.append(
            f"| {method} | {library} | {batch / time_per_call:.1f} | {speedup} "
            f"| {forward / time_per_call:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--smoothgrad-samples", type=int, default=10)
    parser.add_argument("--smoothgrad-batch", type=int, default=32, help="images per pass")
    parser.add_argument("--noise-level", type=float, default=0.15)
    parser.add_argument(
        "--only", nargs="*", default=None, help="method names to run (default: all), e.g. Grad-CAM"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", module=r"captum\..*")  # notes on hooks it sets

    machine = torch.cuda.get_device_name() if args.device.startswith("cuda") else cpu_model()
    print(
        f"resnet18 (random weights), batch {args.batch}, {args.size}x{args.size}, "
        f"{args.device} ({machine}), {args.threads} threads, {args.rounds} rounds, "
        f"torch {torch.__version__}"
    )
    cases = build_cases(args)
    if args.only:
        cases = {
            method: calls
            for method, calls in cases.items()
            if method.startswith("forward") or any(method.startswith(o) for o in args.only)
        }
    seconds = measure(cases, args.rounds, args.device)
    print(report(seconds, args.batch))


if __name__ == "__main__":
    main()
