"""Learning curves of the long ABN-PPO and stock PPO runs, with the published anchors.

Draws each run's mean training score (last 100 games) against agent steps into
one PNG, with dashed lines at the RL Zoo's and CleanRL's PPO scores after 10M
steps, and prints each run's score at its last step and at the steps both
runs have reached.

    python benchmarks/learning_curves.py --abn runs/softmax8-motion-mi05 --stock runs/ship-stock \\
        --out docs/learning-curves.png

The title and the ABN label come from the runs' configs (envs, seed, attention design,
the maps' loss weights).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from abnrl.media.plots import plot_learning_curves, read_curve
from abnrl.training.run_dir import RunDir

ANCHORS = {"RL Zoo PPO": (10_000_000, 398), "CleanRL PPO": (10_000_000, 415)}
"""Published PPO scores on Breakout after 10M agent steps."""


def score_at(progress: Path, steps: int) -> float:
    """The run's mean training score in its last logged row at or before ``steps``.

    Rows are searched from the end: after a resume the log can repeat steps that a
    killed session had logged past its last checkpoint.
    """
    rows = zip(*read_curve(progress), strict=True)
    return next(score for at, score in reversed(list(rows)) if at <= steps)


def abn_label(config: dict) -> str:
    """E.g. "ABN-PPO (ours): softmax attention, 8 heads, map entropy 0.05"."""
    design = config.get("attention", "abn-groupnorm")
    parts = [f"{design} attention"]
    if design == "softmax":
        parts.append(f"{config['attention_heads']} heads")
    if config.get("attention_motion"):
        parts.append("motion channel")
    for term in ("entropy", "spread"):
        if config.get(f"map_{term}_coef"):
            parts.append(f"map {term} {config[f'map_{term}_coef']:g}")
    return f"ABN-PPO (ours): {', '.join(parts)}"


def title(configs: list[dict]) -> str:
    """The game, protocol, seeds and envs of the runs drawn."""
    first = configs[0]
    seeds = sorted({c["seed"] for c in configs})
    envs = sorted({c["n_envs"] for c in configs})
    return (
        f"{first['game'].capitalize()}, {first['protocol']} protocol, seed "
        f"{', '.join(map(str, seeds))} (RL Zoo PPO settings, {' / '.join(map(str, envs))} envs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abn", type=Path, default=Path("runs/softmax8-motion-mi05"))
    parser.add_argument("--stock", type=Path, default=Path("runs/ship-stock"))
    parser.add_argument("--out", type=Path, default=Path("docs/learning-curves.png"))
    args = parser.parse_args()
    abn, stock = RunDir(args.abn), RunDir(args.stock)
    configs = [json.loads(run.config.read_text()) for run in (abn, stock)]
    curves = {abn_label(configs[0]): abn.progress, "stock PPO (SB3 CnnPolicy)": stock.progress}
    plot_learning_curves(curves, args.out, title=title(configs), anchors=ANCHORS)
    reached = min(int(read_curve(path)[0][-1]) for path in curves.values())
    for label, path in curves.items():
        steps, scores = read_curve(path)
        print(
            f"{label}: {scores[-1]:.1f} at {int(steps[-1]):,} steps; "
            f"{score_at(path, reached):.1f} at {reached:,} (the steps both runs reached)"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
