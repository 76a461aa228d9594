"""``abnrl report``: one self-contained HTML page about a training run."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tyro.conf import Positional

from abnrl.analysis.comparison import compare, find_runs, group_runs
from abnrl.analysis.comparison_report import figures, summary_tables
from abnrl.commands.report_agent import build_agent_report
from abnrl.errors import UserError
from abnrl.media.html_page import (
    data_uri,
    final_evaluation,
    malformed,
    page,
    read_json,
    table,
    text,
    videos,
)
from abnrl.media.plots import learning_curves_png
from abnrl.sweeps.plan import read_plan
from abnrl.training.run_dir import RunDir, find_checkpoint
from abnrl.training.zoo import settings_folder
from abnrl.validation import check_output
from envs.games import ProtocolName
from vision.files import write_text_atomic


@dataclass
class ReportConfig:
    """Write a run's report: learning curves, evaluations, attention videos, config (HTML);
    a sweep's: its trials compared (rliable's aggregates, improvement, curves); or an agent's
    from elsewhere (a Stable-Baselines3 zip, an RL Zoo run dir): its training games, its
    last evaluation, videos and settings."""

    run_dir: Positional[Path]
    """The run's folder, a sweep's (abnrl sweep), an RL Zoo run's, or an agent .zip."""
    out: Path | None = None
    """The HTML file; report.html in the folder when not given."""
    game: str | None = None
    """The game a plain Stable-Baselines3 zip plays (it records none)."""
    protocol: ProtocolName | None = None
    """classic or v5, for a plain Stable-Baselines3 zip; classic when not given."""


def _read_rows(path: Path, row: Callable[[dict], list[object]]) -> list[list[object]]:
    """``row`` of each CSV record of ``path``; a missing column or a non-number is malformed."""
    try:
        with path.open(newline="") as file:
            return [row(record) for record in csv.DictReader(file)]
    except (KeyError, ValueError, TypeError, UnicodeDecodeError, csv.Error) as error:
        raise malformed(path, f"{type(error).__name__}: {error}") from None


def _evaluation_sections(run: RunDir) -> list[str]:
    sections = []
    final = run.latest.parent / "eval.json"
    if final.is_file():
        sections.append(final_evaluation(final))
    if run.evaluations.is_file():
        rows = _read_rows(
            run.evaluations,
            lambda r: [
                f"{int(r['step']):,}",
                int(r["episodes"]),
                f"{float(r['mean']):.1f}",
                f"{float(r['std']):.1f}",
                f"{float(r['max']):.0f}",
            ],
        )
        sections.append(
            "<h2>Evaluations during training</h2>"
            + table(["step", "games", "mean", "std", "max"], rows)
        )
    return sections


def _learning_curve(run: RunDir, config: dict) -> str:
    label = f"{config.get('policy')} ({config.get('backbone')})"
    title = f"{config.get('game')}, {config.get('protocol')} protocol"
    try:
        png = learning_curves_png({label: run.progress}, title=title)
    except (KeyError, ValueError, TypeError, UnicodeDecodeError, csv.Error) as error:
        raise malformed(run.progress, f"{type(error).__name__}: {error}") from None
    return f'<h2>Learning curve</h2><img alt="learning curve" src="{data_uri(png, "image/png")}">'


def build_sweep_report(sweep_dir: Path) -> str:
    """A sweep's page: its plan, its trials' scores and their comparison, figures inlined.

    Raises:
        UserError: the plan, a trial's files, or rliable missing.
    """
    plan = read_plan(sweep_dir / "sweep.json")
    comparison = compare(group_runs(find_runs([sweep_dir / "trials"])))
    title = f"Sweep {sweep_dir.name}: {comparison.game}"
    grid = [[name, ", ".join(values)] for name, values in plan["grid"].items()]
    parts = [
        f"<h1>{text(title)}</h1><h2>Plan</h2>",
        table(["option", "values"], grid + [["seeds", " ".join(map(str, plan["seeds"]))]]),
        "<h2>Comparison</h2>",
    ]
    for heading, header, rows in summary_tables(comparison):
        parts += [f"<p>{text(heading)}</p>", table(header, rows)]
    for name, png in figures(comparison).items():
        parts.append(f'<img alt="{text(name)}" src="{data_uri(png, "image/png")}">')
    trials = [
        [run.root.name, group, f"{run.score:.1f}", run.score_source]
        for group, runs in comparison.groups.items()
        for run in runs
    ]
    parts += ["<h2>Trials</h2>", table(["trial", "group", "score", "from"], trials)]
    return page(title, parts)


def build_report(run: RunDir) -> str:
    """The report's HTML, with every image and video inlined.

    Raises:
        UserError: a run file is malformed.
    """
    config = read_json(run.config)
    algo = str(config.get("algo")).upper()
    title = f"{config.get('game')}: {algo} with the {config.get('policy')} policy"
    parts = [f"<h1>{text(title)}</h1>"]
    if run.progress.is_file():
        parts.append(_learning_curve(run, config))
    parts += _evaluation_sections(run)
    kept, left_out = videos(run.root)
    parts.append("<h2>Attention videos</h2>")
    for video in kept:
        uri = data_uri(video.read_bytes(), "video/mp4")
        parts.append(f'<p>{text(video.name)}</p><video controls muted src="{uri}"></video>')
    for video, reason in left_out:
        parts.append(f"<p>{text(video.name)}: left out, {text(reason)}.</p>")
    if not kept and not left_out:
        parts.append(f"<p>None yet: <code>abnrl watch {text(run.root)}</code> records one.</p>")
    if run.segments.is_file():
        columns = ("started_utc", "machine", "device", "threads", "torch", "abnrl")
        rows = _read_rows(run.segments, lambda r: [f"{int(r['step']):,}", *(r[c] for c in columns)])
        parts.append(
            "<h2>Where it trained</h2><p>One row per start or resume.</p>"
            + table(["from step", "started (UTC)", *columns[1:]], rows)
        )
    parts.append("<h2>Config</h2>" + table(["field", "value"], [[k, v] for k, v in config.items()]))
    return page(title, parts)


def run(config: ReportConfig) -> int:
    run = RunDir(config.run_dir)
    sweep = (run.root / "sweep.json").is_file()
    if sweep or run.config.is_file():
        out = config.out or run.root / "report.html"
        check_output(out)
        write_text_atomic(out, build_sweep_report(run.root) if sweep else build_report(run))
    else:  # an agent that no abnrl run made
        if run.root.is_dir() and settings_folder(run.root) is None:
            raise UserError(
                f"{config.run_dir} is not a run dir ({run.config.name} is missing), nor an "
                "RL Zoo run dir; give one of those, a sweep's folder or an agent .zip."
            )
        agent_zip = find_checkpoint(config.run_dir)
        out = config.out or agent_zip.parent / "report.html"
        check_output(out)
        write_text_atomic(out, build_agent_report(agent_zip, config.game, config.protocol))
    print(f"wrote {out}")
    return 0
