"""Learning curves of the long ABN-PPO and stock PPO runs, with the published anchors.

Draws each run's mean training score (last 100 games) against agent steps into
one PNG, with dashed lines at the RL Zoo's and CleanRL's PPO scores after 10M
steps, and prints each run's score at its last step and at the steps both
runs have reached.

    python benchmarks/learning_curves.py --abn runs/abn-ppo --stock runs/cnn-ppo \\
        --out docs/learning-curves.png
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abn", type=Path, default=Path("runs/abn-ppo"))
    parser.add_argument("--stock", type=Path, default=Path("runs/cnn-ppo"))
    parser.add_argument("--out", type=Path, default=Path("docs/learning-curves.png"))
    args = parser.parse_args()
    curves = {
        "ABN-PPO (ours)": RunDir(args.abn).progress,
        "stock PPO (SB3 CnnPolicy)": RunDir(args.stock).progress,
    }
    plot_learning_curves(
        curves,
        args.out,
        title="Breakout, classic protocol, seed 0 (RL Zoo PPO settings, 32 envs)",
        anchors=ANCHORS,
    )
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
