"""A sweep's trials: a grid of ``abnrl train`` options times seeds, each an ordinary run dir.

No Ray here: this module turns ``--grid`` and ``--seeds`` into trials, checks every trial's
options as ``abnrl train`` would, keeps the sweep's plan in ``sweep.json`` and tells from a
trial's run dir how far it got.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

from abnrl.errors import UserError
from abnrl.flags import parse_flags
from abnrl.training.config import DEFAULT_TOTAL_STEPS, RESUME_OVERRIDES, TrainConfig, resolve
from abnrl.training.run_dir import RunDir
from agents.safe_loading import read_data
from vision.files import write_json_atomic

FORMAT = "abnrl.sweep/1"

# Options the sweep itself sets for every trial.
SET_BY_THE_SWEEP = {"seed": "--seeds", "run_dir": "the sweep", "resume": "the sweep"}


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its folder name and its ``abnrl train`` options."""

    name: str
    options: dict[str, str]  # option name (as on the command line, without --) -> value
    seed: int

    def run_dir(self, sweep_dir: Path) -> RunDir:
        return RunDir(sweep_dir / "trials" / self.name)

    def train_config(self, sweep_dir: Path, threads: int) -> TrainConfig:
        """The config of ``abnrl train`` with this trial's options (the trial's first start)."""
        args = [*_command_line(self.options), "--seed", str(self.seed)]
        config = parse_train_options(args, " ".join(args))
        return replace(
            config, run_dir=self.run_dir(sweep_dir).root, threads=threads, progress=False
        )

    def resume_config(self, sweep_dir: Path, threads: int) -> TrainConfig:
        """The config that continues this trial from its checkpoint. A resumed run takes
        only ``RESUME_OVERRIDES`` from its flags, and forgets ``--stop-at`` and
        ``--time-limit-min``: the grid's values of those are given again so that a retry
        ends where the first try would."""
        first = self.train_config(sweep_dir, threads)
        given = {name: getattr(first, name) for name in RESUME_OVERRIDES}
        return replace(TrainConfig(**given), resume=first.run_dir)

    def target_steps(self, sweep_dir: Path) -> int:
        """Agent steps at which the trial is finished."""
        config = self.train_config(sweep_dir, threads=0)
        return config.stop_at or config.total_steps or DEFAULT_TOTAL_STEPS


def parse_grid(grid: list[str]) -> dict[str, list[str]]:
    """``["policy=abn,cnn", "total-steps=300000"]`` -> ``{"policy": ["abn", "cnn"], ...}``.

    Raises:
        UserError: an item without ``=``, an option ``abnrl train`` does not have, one the
            sweep sets itself, an option given twice, or an empty value.
    """
    known = {f.name.replace("_", "-") for f in fields(TrainConfig)}
    axes: dict[str, list[str]] = {}
    for item in grid:
        name, equals, values = item.partition("=")
        name = name.strip().removeprefix("--")
        if not equals:
            raise UserError(f"--grid {item!r}: write OPTION=VALUE[,VALUE...], e.g. policy=abn,cnn.")
        if name not in known:
            raise UserError(f"--grid {item!r}: abnrl train has no option --{name}.")
        if name.replace("-", "_") in SET_BY_THE_SWEEP:
            raise UserError(
                f"--grid {item!r}: --{name} is set by {SET_BY_THE_SWEEP[name.replace('-', '_')]}."
            )
        if name in axes:
            raise UserError(f"--grid names {name} twice; give all its values in one item.")
        split = [v.strip() for v in values.split(",")]
        if not all(split):
            raise UserError(f"--grid {item!r}: a value is empty.")
        axes[name] = split
    return axes


def plan_trials(axes: dict[str, list[str]], seeds: list[int]) -> list[Trial]:
    """Every combination of the grid's values and the seeds, each checked as ``abnrl train``
    would check its flags. Trials are named by the options that vary, then the seed.

    Raises:
        UserError: no seeds, a seed twice, or a combination ``abnrl train`` would refuse.
    """
    if not seeds:
        raise UserError("--seeds needs at least one seed.")
    if len(set(seeds)) != len(seeds):
        raise UserError(f"--seeds lists a seed twice ({' '.join(map(str, seeds))}).")
    names = list(axes)
    varying = [name for name in names if len(axes[name]) > 1]
    trials = []
    for values in itertools.product(*(axes[name] for name in names)):
        options = dict(zip(names, values, strict=True))
        for seed in seeds:
            label = [f"{name}-{options[name]}" for name in varying] + [f"seed-{seed}"]
            trial = Trial(_safe_name("_".join(label)), options, seed)
            trial.train_config(Path("."), threads=0)  # raises on options train refuses
            trials.append(trial)
    if len({t.name for t in trials}) != len(trials):
        raise UserError("Two trials of the grid get one folder name; make its values distinct.")
    return trials


def parse_train_options(args: list[str], shown: str) -> TrainConfig:
    """``args`` read as ``abnrl train`` reads its flags, then checked as it checks them.

    Raises:
        UserError: flags or values ``abnrl train`` would refuse (``shown`` names them).
    """
    try:
        config = parse_flags(TrainConfig, args, "abnrl train")
    except UserError as error:
        raise UserError(f"abnrl train refuses {shown!r}: {error}") from None
    assert isinstance(config, TrainConfig)
    return resolve(config)


def _command_line(options: dict[str, str]) -> list[str]:
    """Options as ``abnrl train`` flags; booleans (true/false) become --x / --no-x."""
    booleans = {f.name.replace("_", "-") for f in fields(TrainConfig) if f.type in (bool, "bool")}
    args = []
    for name, value in options.items():
        if name in booleans and value.lower() in ("true", "false"):
            args.append(f"--{name}" if value.lower() == "true" else f"--no-{name}")
        else:
            args += [f"--{name}", value]
    return args


def _safe_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", label)


def save_plan(sweep_dir: Path, axes: dict[str, list[str]], seeds: list[int]) -> None:
    """Write the sweep's plan on its first start; on a later start, check that the command
    is the same sweep.

    Raises:
        UserError: the folder holds another sweep, or an unreadable plan.
    """
    path = sweep_dir / "sweep.json"
    plan = {"format": FORMAT, "grid": axes, "seeds": seeds}
    if path.exists():
        if read_plan(path) != plan:
            raise UserError(
                f"{sweep_dir} holds another sweep (its grid or seeds differ); repeat that "
                "sweep's command to resume it, or choose another folder."
            )
        return
    sweep_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, plan)


def read_plan(path: Path) -> dict:
    """A sweep's saved plan: {"format", "grid": option -> list of values as text,
    "seeds": list of whole numbers}.

    Raises:
        UserError: the file is not JSON or not of that shape.
    """
    try:
        plan = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{path} is not a readable sweep plan (not JSON).") from None
    grid = plan.get("grid") if isinstance(plan, dict) else None
    seeds = plan.get("seeds") if isinstance(plan, dict) else None
    well_formed = (
        isinstance(grid, dict)
        and all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in grid.values())
        and isinstance(seeds, list)
        and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in seeds)
    )
    if not well_formed:
        raise UserError(
            f"{path} is not a sweep plan (a grid of option value lists and a list of seeds)."
        )
    return plan


def saved_steps(run_dir: RunDir) -> int | None:
    """Agent steps in the run's latest checkpoint; None before its first checkpoint.

    Raises:
        UserError: the checkpoint is unreadable, damaged or unsafe.
    """
    if not run_dir.latest.is_file():
        return None
    try:
        plain, _ = read_data(run_dir.latest)
        return int(plain["num_timesteps"])
    except (ValueError, OSError, KeyError) as error:  # UnsafeCheckpointError is a ValueError
        raise UserError(f"{run_dir.latest} is not a readable checkpoint: {error}.") from None
