"""Screen attention designs by distillation before training any with RL (issue 14).

Each candidate design is a student network that learns the shipped agent's policy
with DAgger (``agents.distill``: the student plays, the teacher labels) for the same
wall-clock budget; then ``abnrl.attention_analysis`` plays games with each student
and measures its own map: pointing game on the ball and the paddle (RAM ground
truth), mass near the ball, deletion AUC and dependence (how often the top action
changes when the map is replaced by its spatial mean). A proxy: the decision rests
on RL runs.

    .venv/bin/python benchmarks/attention_screening.py --stage distill --minutes 3.5
    .venv/bin/python benchmarks/attention_screening.py --stage analyze --episodes 3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import NamedTuple

import torch

from abnrl.checkpoints import load_checkpoint
from abnrl.files import write_json_atomic
from abnrl.pretrained import pretrained_checkpoint
from agents.distill import distill
from agents.network import ABNActorCritic
from agents.policy_network import policy_network
from envs import make_vec_env


class Candidate(NamedTuple):
    """A design to screen: the network's options and the distillation's map penalty."""

    attention: str
    map_size: int = 9
    heads: int = 4
    map_entropy_coef: float = 0.0


CANDIDATES = {
    "abn-groupnorm": Candidate("abn-groupnorm"),
    "abn": Candidate("abn"),
    "abn-entropy": Candidate("abn", map_entropy_coef=0.05),
    "mask": Candidate("mask"),
    "softmax": Candidate("softmax"),
    "softmax-20": Candidate("softmax", map_size=20),
    "softmax-8heads": Candidate("softmax", heads=8),
}


def build_student(candidate: Candidate, n_actions: int) -> ABNActorCritic:
    return ABNActorCritic(
        n_actions,
        attention=candidate.attention,
        map_size=candidate.map_size,
        heads=candidate.heads,
    )


def load_student(folder: Path, n_actions: int) -> ABNActorCritic:
    candidate = Candidate(**json.loads((folder / "candidate.json").read_text()))
    student = build_student(candidate, n_actions)
    student.load_state_dict(torch.load(folder / "student.pt", weights_only=True))
    return student.eval()


def distill_all(names: list[str], out: Path, minutes: float, seed: int) -> None:
    model, _ = load_checkpoint(pretrained_checkpoint(), device="cpu")
    teacher = policy_network(model.policy).eval()
    n_actions = int(model.action_space.n)
    for name in names:
        candidate = CANDIDATES[name]
        torch.manual_seed(seed)
        student = build_student(candidate, n_actions)
        env = make_vec_env("breakout", 8, seed=seed, training=True, num_threads=1)
        log = distill(
            teacher,
            student,
            env,
            steps=10**9,
            map_entropy_coef=candidate.map_entropy_coef,
            seed=seed,
            time_limit_s=60 * minutes,
        )
        env.close()
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(student.state_dict(), folder / "student.pt")
        write_json_atomic(folder / "candidate.json", candidate._asdict())
        tail = max(1, len(log.agreement) // 10)
        summary = {
            "steps": log.steps[-1],
            "seconds": round(log.seconds, 1),
            "agreement_last_10pct": sum(log.agreement[-tail:]) / tail,
            "kl_last_10pct": sum(log.kl[-tail:]) / tail,
            "parameters": sum(p.numel() for p in student.parameters()),
        }
        write_json_atomic(folder / "distillation.json", {**summary, "log": log.__dict__})
        print(name, json.dumps(summary), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", choices=("distill", "analyze"), required=True)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    parser.add_argument("--minutes", type=float, default=3.5, help="distillation per design")
    parser.add_argument("--episodes", type=int, default=3, help="games analysed per student")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/attention-screening"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.stage == "distill":
        distill_all(args.candidates, args.out, args.minutes, args.seed)


if __name__ == "__main__":
    main()
