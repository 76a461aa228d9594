"""``abnrl compare``: groups of runs (seeds of each design) compared with rliable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tyro.conf import Positional

from abnrl.analysis.comparison import compare, find_runs, group_runs
from abnrl.analysis.comparison_report import figures, summary_tables
from abnrl.training.run_dir import RunDir
from abnrl.validation import check_at_least
from vision.files import write_bytes_atomic, write_json_atomic


@dataclass
class CompareConfig:
    """Compare groups of runs: mean, median, IQM and optimality gap with 95% CIs, the
    probability of improvement of each group over each other, IQM learning curves."""

    paths: Positional[list[Path]]
    """Run dirs, sweep dirs or folders of runs."""
    by: list[str] | None = None
    """Config fields that define a group (e.g. policy attention); every field in which the
    runs differ, seeds aside, when not given."""
    out: Path | None = None
    """Folder for compare.json, aggregates.png and curves.png; PATH/compare for one sweep
    dir or folder of runs, else ./compare, when not given."""
    reps: int = 5_000
    """Bootstrap resamples of each confidence interval."""
    seed: int = 0
    """Seed of the bootstrap."""


def default_out(paths: list[Path]) -> Path:
    if len(paths) == 1 and not RunDir(paths[0]).config.is_file():
        return paths[0] / "compare"
    return Path("compare")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def run(config: CompareConfig) -> int:
    check_at_least(config, {"reps": 100})
    out = config.out or default_out(config.paths)
    groups = group_runs(find_runs(config.paths), config.by)
    comparison = compare(groups, reps=config.reps, seed=config.seed)
    for title, header, rows in summary_tables(comparison):
        print(f"{title}\n\n{markdown_table(header, rows)}\n")
    pngs = figures(comparison)  # drawn before anything is written
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "compare.json", comparison.to_json())
    for name, png in pngs.items():
        write_bytes_atomic(out / name, png)
    print(f"wrote {out}/compare.json and its figures")
    return 0
