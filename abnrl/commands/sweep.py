"""``abnrl sweep``: many ``abnrl train`` runs (a grid of options times seeds) on Ray."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from tyro.conf import Positional

from abnrl.errors import UserError
from abnrl.sweeps.plan import parse_grid, plan_trials, save_plan
from abnrl.sweeps.runner import Outcome, check_reachable, run_sweep
from abnrl.validation import check_at_least


@dataclass
class SweepConfig:
    """Train a grid of agents, every seed of every combination, on Ray (this machine or a
    cluster). Each trial is a run dir under SWEEP_DIR/trials/; the same command again
    resumes an interrupted sweep."""

    sweep_dir: Positional[Path]
    """Folder of the sweep (on a cluster: on a file system every node shares)."""
    grid: list[str] = field(default_factory=list)
    """abnrl train options, OPTION=VALUE[,VALUE...] each, e.g. policy=abn,cnn
    stop-at=300000; one value sets it for every trial."""
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    """Seeds of each combination."""
    address: str | None = None
    """A Ray cluster to run on (e.g. auto, or HEAD_IP:6379 of `ray start --head`); a new
    Ray instance on this machine when not given."""
    cpus_per_trial: float = 1.0
    """CPUs Ray reserves for each trial (its torch and emulator threads: the whole part)."""
    gpus_per_trial: float | None = None
    """GPUs Ray reserves for each trial (fractions share one); 1 where the cluster has GPUs,
    else 0, when not given."""
    max_retries: int = 3
    """Times a trial is started again when its worker or node dies."""


def run(config: SweepConfig) -> int:
    check_at_least(config, {"cpus_per_trial": 0.01, "gpus_per_trial": 0, "max_retries": 0})
    negative = [seed for seed in config.seeds if seed < 0]
    if negative or not config.seeds:
        raise UserError(f"--seeds must be whole numbers from 0, got {negative or 'none'}.")
    axes = parse_grid(config.grid)
    trials = plan_trials(axes, config.seeds)
    check_reachable(config.address)  # before anything is written
    save_plan(config.sweep_dir, axes, config.seeds)
    print(f"{len(trials)} trials in {config.sweep_dir}/trials", file=sys.stderr)
    outcomes = run_sweep(
        config.sweep_dir,
        trials,
        address=config.address,
        cpus_per_trial=config.cpus_per_trial,
        gpus_per_trial=config.gpus_per_trial,
        max_retries=config.max_retries,
        report=_report,
    )
    failed = [o for o in outcomes if o.status == "failed"]
    stopped = [o for o in outcomes if o.status == "stopped"]
    if failed:
        print(
            f"{len(failed)} of {len(trials)} trials failed (the reasons above); fix them and "
            "run the same command again.",
            file=sys.stderr,
        )
    if stopped:
        print(
            f"{len(stopped)} of {len(trials)} trials were stopped; the same command resumes them.",
            file=sys.stderr,
        )
    if failed or stopped:
        return 1
    print(
        f"all {len(trials)} trials finished; compare them with: abnrl compare {config.sweep_dir}",
        file=sys.stderr,
    )
    return 0


def _report(outcome: Outcome) -> None:
    steps = "" if outcome.steps is None else f", {outcome.steps} steps"
    detail = f" ({outcome.detail})" if outcome.detail else ""
    print(f"{outcome.trial.name}: {outcome.status}{steps}{detail}", file=sys.stderr)
