"""Screen attention designs by distillation before training any with RL (issue 14).

Each candidate design is a student network that learns a teacher agent's policy
with DAgger (``experiments.distill``: the student plays, the teacher labels) for the same
wall-clock budget; then ``abnrl.analysis.attention`` plays games with each student
and measures its own map: pointing game on the ball and the paddle (RAM ground
truth), mass near the ball, deletion AUC and dependence (how often the top action
changes when the map is replaced by its spatial mean). A proxy: the decision rests
on RL runs.

    python -m experiments.attention_screening --stage distill --minutes 3.5
    python -m experiments.attention_screening --stage analyze --episodes 3

The teacher is the shipped agent unless ``--teacher`` names another checkpoint; the
screening in docs/results/attention.md distilled the agent shipped before the designs
(``--teacher tests/data/breakout-abn-groupnorm-4.63m.zip``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import NamedTuple

import torch

from abnrl.analysis.attention import analyse, default_sources
from abnrl.analysis.sources import ATTENTION
from abnrl.analysis.summary import summarise
from abnrl.pretrained import pretrained_checkpoint
from abnrl.training.checkpoints import load_checkpoint
from agents.actor_critic import ABNActorCritic
from agents.attention import saved_attention_spec
from agents.policy_view import policy_network
from envs import make_vec_env
from experiments.distill import distill
from vision.files import write_json_atomic, write_text_atomic


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
    options = {"heads": candidate.heads, "motion": False}
    spec = saved_attention_spec(candidate.attention, options)
    return ABNActorCritic(n_actions, spec, map_size=candidate.map_size)


def load_student(folder: Path, n_actions: int) -> ABNActorCritic:
    candidate = Candidate(**json.loads((folder / "candidate.json").read_text()))
    student = build_student(candidate, n_actions)
    student.load_state_dict(torch.load(folder / "student.pt", weights_only=True))
    return student.eval()


def distill_all(names: list[str], teacher_zip: Path, out: Path, minutes: float, seed: int) -> None:
    model, _ = load_checkpoint(teacher_zip, device="cpu")
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


def best_head(metrics: dict, metric: str) -> float:
    """The highest mean of ``metric`` over the combined map and each head's map."""
    means = [m[metric]["mean"] for source, m in metrics.items() if source.startswith(ATTENTION)]
    return max((v for v in means if v is not None), default=float("nan"))


def analyze_all(names: list[str], out: Path, episodes: int, seed: int) -> None:
    rows = [
        "| design | parameters | agreement with teacher | pointing: ball (best head) | "
        "pointing: paddle (best head) | mass near ball / area | deletion AUC | top action "
        "changes, map -> its mean | per-frame mean (std) | entropy / flat |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in names:
        folder = out / name
        student = load_student(folder, n_actions=4)
        sources = [s for s in default_sources(student) if s.startswith(ATTENTION)]
        analysis = analyse(
            student,
            game="breakout",
            protocol="classic",  # the students learn on make_vec_env's default protocol
            episodes=episodes,
            every=10,
            max_steps_per_game=5_000,
            sources=sources,
            seed=seed + 20_000,
            examples=0,
        )
        summary = summarise(analysis)
        write_json_atomic(folder / "attention-analysis.json", summary)
        distillation = json.loads((folder / "distillation.json").read_text())
        metrics = summary["metrics"]
        combined = metrics[ATTENTION]
        lift = combined["ball_mass_share"]["mean"] / summary["disc_area_share"]
        mean = summary["map_statistics"]["mean"]
        rows.append(
            f"| {name} | {distillation['parameters']:,} | "
            f"{distillation['agreement_last_10pct']:.2f} | "
            f"{combined['ball_pointing']['mean']:.2f} "
            f"({best_head(metrics, 'ball_pointing'):.2f}) | "
            f"{combined['paddle_pointing']['mean']:.2f} "
            f"({best_head(metrics, 'paddle_pointing'):.2f}) | {lift:.1f}x | "
            f"{combined['deletion_auc']['mean']:.3f} | "
            f"{summary['dependence']['mean_map']['action_change']['mean']:.2f} | "
            f"{mean['mean']:.3f} ({mean['std']:.3f}) | "
            f"{summary['map_statistics']['entropy']['mean']:.2f} |"
        )
        print(rows[-1], flush=True)
    write_text_atomic(out / "screening.md", "\n".join(rows) + "\n")
    print("\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", choices=("distill", "analyze"), required=True)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    parser.add_argument("--minutes", type=float, default=3.5, help="distillation per design")
    parser.add_argument("--episodes", type=int, default=3, help="games analysed per student")
    parser.add_argument(
        "--teacher", type=Path, help="the agent distilled, a checkpoint .zip (default: shipped)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/attention-screening"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.stage == "distill":
        teacher = args.teacher or pretrained_checkpoint()
        distill_all(args.candidates, teacher, args.out, args.minutes, args.seed)
    else:
        analyze_all(args.candidates, args.out, args.episodes, args.seed)


if __name__ == "__main__":
    main()
