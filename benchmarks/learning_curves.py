"""Learning curves of the long ABN-PPO and stock PPO runs, with the published anchors.

Draws each run's mean training score (last 100 games) against agent steps into
one PNG, with dashed lines at the RL Zoo's and CleanRL's PPO scores on the runs' game
after 10M steps, and prints each run's score at its last step and at the steps all runs
have reached. ``--abn`` takes one run or several (seeds of one design, labelled by seed).
Without arguments it draws ``docs/learning-curves.png`` from the landed copies of the
three seeds of the shipped design and of stock PPO in ``benchmarks/long-runs/``:

    python benchmarks/learning_curves.py
    python benchmarks/learning_curves.py --abn runs/abn-s0 runs/abn-s1 --stock runs/cnn --out c.png
    python benchmarks/learning_curves.py --abn runs/pong-abn-ppo-s1 --no-stock --out pong.png

The title and the ABN labels come from the runs' configs (envs, seeds, attention design,
the maps' loss weights) and branch points (the step a branch's change took effect at).
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

from abnrl.media.plots import plot_learning_curves, read_curve
from abnrl.training.run_dir import RunDir

# Published PPO scores after 10M agent steps, per game: the RL Zoo's benchmark table
# (Breakout 398.0 +- 33.3, Pong 20.989 +- 0.105) and CleanRL's ppo_atari.py (414.66 +- 28.09,
# 20.36 +- 0.20).
ANCHORS = {
    "breakout": {"RL Zoo PPO": (10_000_000, 398), "CleanRL PPO": (10_000_000, 415)},
    "pong": {"RL Zoo PPO": (10_000_000, 21.0), "CleanRL PPO": (10_000_000, 20.4)},
}
# The landed copies of the long runs (seeds 0, 1, 2 of the shipped design).
LONG_RUNS = Path(__file__).resolve().parent / "long-runs"
SEEDS = ("softmax8-motion-mi05", "softmax8-motion-s1-mi05", "softmax8-motion-s2-mi05")


def score_at(progress: Path, steps: int) -> float:
    """The run's mean training score in its last logged row at or before ``steps``.

    Rows are searched from the end: after a resume the log can repeat steps that a
    killed session had logged past its last checkpoint.
    """
    rows = zip(*read_curve(progress), strict=True)
    return next(score for at, score in reversed(list(rows)) if at <= steps)


def design(config: dict) -> str:
    """E.g. "softmax attention, 8 heads, map entropy 0.05 from 4.0M steps".

    A change made at a branch point (``config["branches"]``, see ``RunDir.branches``)
    names the step it took effect at.
    """
    since = {
        name: branch["step"] for branch in config.get("branches", []) for name in branch["changes"]
    }

    def part(text: str, name: str) -> str:
        return f"{text} from {since[name] / 1e6:.1f}M steps" if name in since else text

    name = config.get("attention", "abn-groupnorm")
    parts = [f"{name} attention"]
    if name == "softmax":
        parts.append(f"{config['attention_heads']} heads")
    if config.get("attention_motion"):
        parts.append(part("motion channel", "attention_motion"))
    for term in ("entropy", "spread"):
        if value := config.get(f"map_{term}_coef"):
            parts.append(part(f"map {term} {value:g}", f"map_{term}_coef"))
    return ", ".join(parts)


def labels_and_title(abn_configs: list[dict], stock_config: dict | None) -> tuple[list[str], str]:
    """The ABN runs' legend labels and the figure's title (game, protocol, seeds, envs).

    Seeds of one design are labelled by seed alone and the design goes into the title;
    runs of different designs are labelled by their design (and seed when several).
    """
    configs = [*abn_configs, *([stock_config] if stock_config else [])]
    first = configs[0]
    seeds = sorted({c["seed"] for c in configs})
    envs = sorted({c["n_envs"] for c in configs})
    seed_list = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
    title = (
        f"{first['game'].capitalize()}, {first['protocol']} protocol, {seed_list} "
        f"(RL Zoo PPO settings, {' / '.join(map(str, envs))} envs)"
    )
    designs = [design(config) for config in abn_configs]
    seeds_of = [
        f", seed {config['seed']}" if len(abn_configs) > 1 else "" for config in abn_configs
    ]
    if len(abn_configs) > 1 and len(set(designs)) == 1:
        labels = [f"ABN-PPO (ours){seed}" for seed in seeds_of]
        return labels, "\n".join([title, *textwrap.wrap(f"ABN-PPO: {designs[0]}", len(title))])
    labels = [f"ABN-PPO (ours): {d}{seed}" for d, seed in zip(designs, seeds_of, strict=True)]
    return labels, title


def described(run: RunDir) -> dict:
    """The run's config, with its branch points under ``"branches"``."""
    return {**json.loads(run.config.read_text()), "branches": run.read_branches()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abn", type=Path, nargs="+", default=[LONG_RUNS / name for name in SEEDS])
    parser.add_argument("--stock", type=Path, default=LONG_RUNS / "ship-stock")
    parser.add_argument("--no-stock", action="store_true", help="draw the ABN runs alone")
    parser.add_argument(
        "--out", type=Path, default=LONG_RUNS.parent.parent / "docs/learning-curves.png"
    )
    args = parser.parse_args()
    abn = [RunDir(path) for path in args.abn]
    configs = [described(run) for run in abn]
    stock = None if args.no_stock else RunDir(args.stock)
    stock_config = json.loads(stock.config.read_text()) if stock else None
    labels, title = labels_and_title(configs, stock_config)
    curves = {label: run.progress for label, run in zip(labels, abn, strict=True)}
    if stock:
        curves["stock PPO (SB3 CnnPolicy)"] = stock.progress
    anchors = ANCHORS.get(configs[0]["game"])
    plot_learning_curves(curves, args.out, title=title, anchors=anchors)
    reached = min(int(read_curve(path)[0][-1]) for path in curves.values())
    for label, path in curves.items():
        steps, scores = read_curve(path)
        print(
            f"{label}: {scores[-1]:.1f} at {int(steps[-1]):,} steps; "
            f"{score_at(path, reached):.1f} at {reached:,} (the steps all runs reached)"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
