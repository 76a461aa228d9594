"""``abnrl report``: one self-contained HTML page about a training run."""

from __future__ import annotations

import base64
import csv
import html
import json
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tyro.conf import Positional

from abnrl.analysis.comparison import compare, figures, find_runs, group_runs, summary_tables
from abnrl.errors import UserError
from abnrl.media.plots import learning_curves_png
from abnrl.sweeps.plan import read_plan
from abnrl.training.run_dir import RunDir
from abnrl.validation import check_output
from vision.files import write_text_atomic

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
td, th { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
img, video { max-width: 100%; border: 1px solid #ddd; }
"""


@dataclass
class ReportConfig:
    """Write a run's report: learning curves, evaluations, attention videos, config (HTML);
    or a sweep's: its trials compared (rliable's aggregates, improvement, curves)."""

    run_dir: Positional[Path]
    """The run's folder, or a sweep's (abnrl sweep)."""
    out: Path | None = None
    """The HTML file; report.html in the folder when not given."""


def _text(value: object) -> str:
    """``value`` as HTML text: everything in a run dir may come from elsewhere."""
    return html.escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{_text(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _data_uri(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


def _malformed(path: Path, detail: str) -> UserError:
    return UserError(f"{path} is malformed ({detail}); no report was written.")


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _malformed(path, "not JSON") from None
    if not isinstance(value, dict):
        raise _malformed(path, "not a JSON object")
    return value


def _read_rows(path: Path, row: Callable[[dict], list[object]]) -> list[list[object]]:
    """``row`` of each CSV record of ``path``; a missing column or a non-number is malformed."""
    try:
        with path.open(newline="") as file:
            return [row(record) for record in csv.DictReader(file)]
    except (KeyError, ValueError, TypeError, UnicodeDecodeError, csv.Error) as error:
        raise _malformed(path, f"{type(error).__name__}: {error}") from None


def _final_evaluation(path: Path) -> str:
    result = _read_json(path)
    try:
        s = result["summary"]
        cells = [int(s["episodes"])] + [
            f"{float(s[key]):.{digits}f}"
            for key, digits in [
                ("mean", 1),
                ("std", 1),
                ("median", 1),
                ("min", 0),
                ("max", 0),
                ("length_mean", 0),
            ]
        ]
        steps = int(result["agent_steps"])
        actions = "deterministic" if result["deterministic"] is True else "sampled"
        game, protocol = result["game"], result["protocol"]
    except (KeyError, ValueError, TypeError) as error:
        raise _malformed(path, f"{type(error).__name__}: {error}") from None
    return (
        f"<h2>Evaluation</h2><p>{_text(game)}, {_text(protocol)} protocol, {steps:,} agent "
        f"steps trained, {actions} actions.</p>"
        + _table(["games", "mean", "std", "median", "min", "max", "length (steps)"], [cells])
    )


def _evaluation_sections(run: RunDir) -> list[str]:
    sections = []
    final = run.latest.parent / "eval.json"
    if final.is_file():
        sections.append(_final_evaluation(final))
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
            + _table(["step", "games", "mean", "std", "max"], rows)
        )
    return sections


def _learning_curve(run: RunDir, config: dict) -> str:
    label = f"{config.get('policy')} ({config.get('backbone')})"
    title = f"{config.get('game')}, {config.get('protocol')} protocol"
    try:
        png = learning_curves_png({label: run.progress}, title=title)
    except (KeyError, ValueError, TypeError, UnicodeDecodeError, csv.Error) as error:
        raise _malformed(run.progress, f"{type(error).__name__}: {error}") from None
    return f'<h2>Learning curve</h2><img alt="learning curve" src="{_data_uri(png, "image/png")}">'


def _page(title: str, parts: list[str]) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_text(title)}"
        f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )


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
        f"<h1>{_text(title)}</h1><h2>Plan</h2>",
        _table(["option", "values"], grid + [["seeds", " ".join(map(str, plan["seeds"]))]]),
        "<h2>Comparison</h2>",
    ]
    for heading, header, rows in summary_tables(comparison):
        parts += [f"<p>{_text(heading)}</p>", _table(header, rows)]
    for name, png in figures(comparison).items():
        parts.append(f'<img alt="{_text(name)}" src="{_data_uri(png, "image/png")}">')
    trials = [
        [run.root.name, group, f"{run.score:.1f}", run.score_source]
        for group, runs in comparison.groups.items()
        for run in runs
    ]
    parts += ["<h2>Trials</h2>", _table(["trial", "group", "score", "from"], trials)]
    return _page(title, parts)


def build_report(run: RunDir) -> str:
    """The report's HTML, with every image and video inlined.

    Raises:
        UserError: a run file is malformed.
    """
    config = _read_json(run.config)
    algo = str(config.get("algo")).upper()
    title = f"{config.get('game')}: {algo} with the {config.get('policy')} policy"
    parts = [f"<h1>{_text(title)}</h1>"]
    if run.progress.is_file():
        parts.append(_learning_curve(run, config))
    parts += _evaluation_sections(run)
    videos, left_out = _videos(run.root)
    parts.append("<h2>Attention videos</h2>")
    for video in videos:
        uri = _data_uri(video.read_bytes(), "video/mp4")
        parts.append(f'<p>{_text(video.name)}</p><video controls muted src="{uri}"></video>')
    for video, reason in left_out:
        parts.append(f"<p>{_text(video.name)}: left out, {_text(reason)}.</p>")
    if not videos and not left_out:
        parts.append(f"<p>None yet: <code>abnrl watch {_text(run.root)}</code> records one.</p>")
    if run.segments.is_file():
        columns = ("started_utc", "machine", "device", "threads", "torch", "abnrl")
        rows = _read_rows(run.segments, lambda r: [f"{int(r['step']):,}", *(r[c] for c in columns)])
        parts.append(
            "<h2>Where it trained</h2><p>One row per start or resume.</p>"
            + _table(["from step", "started (UTC)", *columns[1:]], rows)
        )
    parts.append(
        "<h2>Config</h2>" + _table(["field", "value"], [[k, v] for k, v in config.items()])
    )
    return _page(title, parts)


MAX_VIDEO_BYTES = 64 << 20
"""The largest video inlined (a training run's are a few megabytes)."""


def _videos(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The run's videos to inline (regular files inside the run dir, not too large) and
    the others with the reason they are left out (a link, a FIFO, a large file)."""
    inside = root.resolve()
    kept, left_out = [], []
    for path in sorted(root.rglob("*.mp4")):
        mode = path.lstat().st_mode
        if not stat.S_ISREG(mode) or not path.resolve().is_relative_to(inside):
            left_out.append((path, "not a regular file inside the run dir"))
        elif path.lstat().st_size > MAX_VIDEO_BYTES:
            left_out.append((path, f"larger than {MAX_VIDEO_BYTES >> 20} MB"))
        else:
            kept.append(path)
    return kept, left_out


def run(config: ReportConfig) -> int:
    run = RunDir(config.run_dir)
    sweep = (run.root / "sweep.json").is_file()
    if not sweep and not run.config.is_file():
        raise UserError(f"{config.run_dir} is not a run dir ({run.config.name} is missing).")
    out = config.out or run.root / "report.html"
    check_output(out)
    write_text_atomic(out, build_sweep_report(run.root) if sweep else build_report(run))
    print(f"wrote {out}")
    return 0
