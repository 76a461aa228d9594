"""ABN against its plain twin: accuracy, explanation quality and training throughput.

Accuracy (``accuracy``): every (dataset, model, seed) trains once plain and once
as ABN with ``vision.train`` on the same budget; the table gives the top-1 error
mean +- std over the seeds. On the same test images it scores the ABN attention
map against Grad-CAM of the plain model (at its last stage, the usual layer):
the deletion AUC (Petsiuk et al., BMVC 2018; lower is
better) and, on the shapes set whose object masks are known, the pointing game
(Zhang et al., ECCV 2016; tolerance scaled from 15 px at 224 to 2 px at 32), with
the map's maximum as its peak and, as ``abnrl analyze`` also reads an agent's maps,
with the refined peak: the centre of mass within 5 px of the maximum (the agent's
14 px at 84 scaled to 32).

Throughput (``throughput``): training steps (forward, backward, SGD update) per
second of each ABN model and its plain twin, back to back in one process.

    python benchmarks/vision_abn.py accuracy --out /tmp/abn_accuracy.json
    python benchmarks/vision_abn.py throughput --out /tmp/abn_throughput.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from vision.checkpoint import load_trained
from vision.data import load_dataset
from vision.explain import ABNAttention, GradCAM, deletion, pointing_game
from vision.models import ABN_MAPS, ABNMap, abn_loss, build, feature_layer, get_spec
from vision.train import TrainConfig, train

EXPLAINED_IMAGES = 200
DELETION_STEPS = 32
POINTING_TOLERANCE = 2.0
POINTING_WINDOW = 5
BUDGET = {"digits": 4, "shapes": 3}  # epochs; batch 64, SGD 0.1, cosine, weight decay 5e-4


def train_and_score(
    dataset: str, model: str, seed: int, abn: bool, root: Path, *, abn_map: ABNMap = "positive"
) -> dict:
    """Train one model and score its explanations on the first test images.

    ``abn_map`` is the ABN attention map's conv (one of ``ABN_MAPS``); the record
    holds it for an ABN model and None for a plain one.
    """
    config = TrainConfig(
        model=model,
        abn=abn,
        abn_map=abn_map,
        dataset=dataset,
        epochs=BUDGET[dataset],
        batch_size=64,
        lr=0.1,
        weight_decay=5e-4,
        schedule="cosine",
        seed=seed,
        out_dir=root / f"{dataset}-{model}-{seed}-{'abn' if abn else 'plain'}",
        progress=False,
        tensorboard=False,
    )
    started = time.perf_counter()
    result = train(config)
    seconds = time.perf_counter() - started
    trained = load_trained(result.checkpoint)
    data = load_dataset(dataset, augment=False)
    count = min(EXPLAINED_IMAGES, len(data.test))
    images = torch.stack([data.test[i][0] for i in range(count)])
    if abn:
        with ABNAttention(trained.model) as explainer:
            maps = explainer(images).maps
    else:
        with GradCAM(trained.model, feature_layer(trained.model, model)) as explainer:
            maps = explainer(images).maps
    record = {
        "dataset": dataset,
        "model": model,
        "seed": seed,
        "abn": abn,
        "abn_map": abn_map if abn else None,
        "top1_error": result.final.top1_error,
        "train_seconds": seconds,
        "deletion_auc": float(
            deletion(trained.model, images, maps, steps=DELETION_STEPS).auc.mean()
        ),
    }
    if data.regions is not None:
        hits = pointing_game(maps, data.regions[:count], tolerance=POINTING_TOLERANCE)
        record["pointing_game"] = hits.float().mean().item()
        refined = pointing_game(
            maps, data.regions[:count], tolerance=POINTING_TOLERANCE, window=POINTING_WINDOW
        )
        record["pointing_game_refined"] = refined.float().mean().item()
        labels = torch.tensor([data.test[i][1] for i in range(count)])
        record["pointing_by_class"] = {
            name: hits[labels == index].float().mean().item()
            for index, name in enumerate(data.classes)
        }
    return record


def throughput(name: str, abn: bool, side: int, batch: int, steps: int) -> float:
    """Training images per second of ``name`` (plain or ABN) on random images."""
    torch.manual_seed(0)
    model = build(name, num_classes=10, abn=abn)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images, labels = torch.randn(batch, 3, side, side), torch.randint(0, 10, (batch,))
    for step in range(steps + 1):  # the first step warms up and is not timed
        if step == 1:
            started = time.perf_counter()
        output = model(images)
        loss = abn_loss(output, labels) if abn else F.cross_entropy(output, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return batch * steps / (time.perf_counter() - started)


def _mean_std(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.2f} +- {100 * spread:.2f}"


def accuracy_table(records: list[dict]) -> str:
    lines = [
        "| dataset | model | plain top-1 error % | ABN top-1 error % | deletion AUC: Grad-CAM "
        "(plain) / ABN map | pointing game %: Grad-CAM (plain) / ABN map | the same, "
        "refined peak |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["dataset"], r["model"]) for r in records})
    for dataset, model in keys:
        runs = {
            abn: [
                r for r in records if (r["dataset"], r["model"], r["abn"]) == (dataset, model, abn)
            ]
            for abn in (False, True)
        }
        errors = [_mean_std([r["top1_error"] for r in runs[abn]]) for abn in (False, True)]
        auc = [statistics.mean(r["deletion_auc"] for r in runs[abn]) for abn in (False, True)]
        pointing = ["n/a (no masks)", "n/a (no masks)"]
        for column, key in enumerate(("pointing_game", "pointing_game_refined")):
            if key in runs[True][0]:
                points = [_mean_std([r[key] for r in runs[abn]]) for abn in (False, True)]
                pointing[column] = f"{points[0]} / {points[1]}"
        lines.append(
            f"| {dataset} | {model} | {errors[0]} | {errors[1]} | {auc[0]:.3f} / {auc[1]:.3f} "
            f"| {pointing[0]} | {pointing[1]} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["accuracy", "throughput"])
    parser.add_argument("--datasets", nargs="+", default=["digits", "shapes"])
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--abn-map",
        choices=ABN_MAPS,
        default="positive",
        help="the ABN attention map's conv (accuracy): positive (3x3, non-negative weights), "
        "3x3 (the ABN authors', free weights) or 1x1 (free weights, as before the choice)",
    )
    parser.add_argument("--steps", type=int, default=3, help="timed training steps (throughput)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the raw figures")
    args = parser.parse_args()

    if args.part == "accuracy":
        models = args.models or ["cifar_resnet20", "cifar_densenet_bc22_12"]
        records = []
        with tempfile.TemporaryDirectory() as root:
            for dataset in args.datasets:
                for model in models:
                    for seed in args.seeds:
                        for abn in (False, True):
                            record = train_and_score(
                                dataset,
                                model,
                                seed,
                                abn,
                                Path(root),
                                abn_map=args.abn_map,
                            )
                            records.append(record)
                            print(json.dumps(record), flush=True)
        args.out.write_text(json.dumps(records, indent=2))
        print(accuracy_table(records))
        return

    models = args.models or [
        "cifar_resnet20", "cifar_resnet110", "cifar_wrn16_8", "cifar_densenet_bc22_12",
        "cifar_densenet_bc100_12", "cifar_resnext29_8x64d", "alexnet", "vgg11_bn", "googlenet",
        "resnet18", "resnet50", "resnet152", "densenet121", "resnext50_32x4d", "wide_resnet50_2",
    ]  # fmt: skip
    rows = []
    print("| model | input | batch | plain images/s | ABN images/s | ABN extra time per image |")
    print("|---|---|---|---|---|---|")
    for name in models:
        side, batch = (32, 16) if get_spec(name).input_size == 32 else (112, 8)
        plain = throughput(name, False, side, batch, args.steps)
        with_abn = throughput(name, True, side, batch, args.steps)
        rows.append({"model": name, "side": side, "batch": batch, "plain": plain, "abn": with_abn})
        print(
            f"| {name} | {side}x{side} | {batch} | {plain:.1f} | {with_abn:.1f} "
            f"| {100 * (plain / with_abn - 1):+.0f}% |",
            flush=True,
        )
    args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
