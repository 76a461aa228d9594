"""Learning sanity check: ABN-PPO on real Breakout for 300k agent steps, then 30 games.

The agent is ``abnrl train``'s default run (RL Zoo settings, learning rate and
clip range decaying over 10M steps) stopped at 300k steps, so the check
measures the start of the training that users run, not a run whose schedules
were squeezed into 300k steps. A random policy's 30 games are played in the
same run. Writes the learning curve (PNG) and the figures (JSON) into ``--out``.

    python benchmarks/learning_check.py --steps 300000 --out runs/learning-check
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from abnrl.media.plots import plot_learning_curves
from abnrl.training.checkpoints import load_checkpoint
from abnrl.training.config import DEFAULT_TOTAL_STEPS, TrainConfig
from abnrl.training.evaluation import evaluate
from abnrl.training.run_dir import RunDir
from abnrl.training.trainer import run as train
from agents.policy_view import PolicyOutput


class RandomAgent(torch.nn.Module):
    """Uniformly random actions: equal logits for every action, sampled by the
    evaluation's action rule."""

    def __init__(self, n_actions: int) -> None:
        super().__init__()
        self.n_actions = n_actions

    def forward(self, observations: torch.Tensor) -> PolicyOutput:
        zeros = torch.zeros(len(observations), self.n_actions)
        return PolicyOutput(zeros, zeros[:, 0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300_000)
    parser.add_argument(
        "--schedule-steps",
        type=int,
        default=DEFAULT_TOTAL_STEPS,
        help="agent steps over which the learning rate and clip range decay",
    )
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument(
        "--time-limit-min",
        type=float,
        default=None,
        help="stop training early (the JSON records the steps reached)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/learning-check"))
    args = parser.parse_args()

    run_dir = RunDir(args.out)
    started = time.time()
    config = TrainConfig(
        total_steps=args.schedule_steps,
        stop_at=args.steps,
        run_dir=args.out,
        device=args.device,
        threads=args.threads,
        eval_every=0,
        progress=False,
        time_limit_min=args.time_limit_min,
    )
    if run_dir.latest.exists():
        config = TrainConfig(
            resume=args.out,
            stop_at=args.steps,
            device=args.device,
            threads=args.threads,
            progress=False,
            time_limit_min=args.time_limit_min,
        )
    train(config)
    train_seconds = time.time() - started
    model, meta = load_checkpoint(run_dir.latest, device=args.device)
    protocol = meta["protocol"]
    trained = evaluate(model, "breakout", episodes=args.episodes, protocol=protocol).summary()
    random_play = evaluate(
        RandomAgent(4), "breakout", episodes=args.episodes, protocol=protocol
    ).summary()
    results = {
        "protocol": protocol,
        "agent_steps": model.num_timesteps,
        "schedule_steps": args.schedule_steps,
        "episodes": args.episodes,
        "device": str(model.device),
        "train_seconds": round(train_seconds),
        "abn_ppo": trained,
        "random": random_play,
        "ratio": trained["mean"] / max(random_play["mean"], 1e-9),
    }
    (args.out / "learning_check.json").write_text(json.dumps(results, indent=2))
    plot_learning_curves(
        {"ABN-PPO (Nature CNN)": run_dir.progress},
        args.out / "learning_curve.png",
        title="Breakout, classic protocol: ABN-PPO learning check",
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
