"""``abnrl report``: one self-contained HTML page about a training run."""

from __future__ import annotations

import base64
import csv
import html
import json
from dataclasses import dataclass
from pathlib import Path

from tyro.conf import Positional

from abnrl.errors import UserError
from abnrl.files import write_text_atomic
from abnrl.plots import plot_learning_curves
from abnrl.run_dir import RunDir

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
td, th { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
img, video { max-width: 100%; border: 1px solid #ddd; }
"""


@dataclass
class ReportConfig:
    """Write a run's report: learning curves, evaluations, attention videos, config (HTML)."""

    run_dir: Positional[Path]
    """The run's folder."""
    out: Path | None = None
    """The HTML file; report.html in the run dir when not given."""


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _evaluation_sections(run: RunDir) -> list[str]:
    sections = []
    final = run.latest.parent / "eval.json"
    if final.is_file():
        result = json.loads(final.read_text())
        s = result["summary"]
        sections.append(
            f"<h2>Evaluation</h2><p>{html.escape(result['game'])}, {result['protocol']} "
            f"protocol, {result['agent_steps']:,} agent steps trained, "
            f"{'deterministic' if result['deterministic'] else 'sampled'} actions.</p>"
            + _table(
                ["games", "mean", "std", "median", "min", "max", "length (steps)"],
                [
                    [
                        s["episodes"],
                        f"{s['mean']:.1f}",
                        f"{s['std']:.1f}",
                        f"{s['median']:.1f}",
                        f"{s['min']:.0f}",
                        f"{s['max']:.0f}",
                        f"{s['length_mean']:.0f}",
                    ]
                ],
            )
        )
    if run.evaluations.is_file():
        with run.evaluations.open() as file:
            rows = [
                [
                    f"{int(r['step']):,}",
                    r["episodes"],
                    f"{float(r['mean']):.1f}",
                    f"{float(r['std']):.1f}",
                    f"{float(r['max']):.0f}",
                ]
                for r in csv.DictReader(file)
            ]
        sections.append(
            "<h2>Evaluations during training</h2>"
            + _table(["step", "games", "mean", "std", "max"], rows)
        )
    return sections


def build_report(run: RunDir) -> str:
    """The report's HTML, with every image and video inlined."""
    config = json.loads(run.config.read_text())
    title = f"{config['game']}: {config['algo'].upper()} with the {config['policy']} policy"
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if run.progress.is_file():
        curve = run.root / "learning_curve.png"
        plot_learning_curves(
            {f"{config['policy']} ({config['backbone']})": run.progress},
            curve,
            title=f"{config['game']}, {config['protocol']} protocol",
        )
        parts.append(
            f'<h2>Learning curve</h2><img alt="learning curve" '
            f'src="{_data_uri(curve, "image/png")}">'
        )
    parts += _evaluation_sections(run)
    videos = sorted(run.root.rglob("*.mp4"))
    parts.append("<h2>Attention videos</h2>")
    parts += [
        f"<p>{html.escape(v.name)}</p><video controls muted "
        f'src="{_data_uri(v, "video/mp4")}"></video>'
        for v in videos
    ]
    if not videos:
        parts.append(
            f"<p>None yet: <code>abnrl watch {html.escape(str(run.root))}</code> records one.</p>"
        )
    parts.append(
        "<h2>Config</h2>" + _table(["field", "value"], [[k, v] for k, v in config.items()])
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def run(config: ReportConfig) -> int:
    run = RunDir(config.run_dir)
    if not run.config.is_file():
        raise UserError(f"{config.run_dir} is not a run dir ({run.config.name} is missing).")
    out = config.out or run.root / "report.html"
    if not out.parent.is_dir():
        raise UserError(f"Cannot write {out}: the folder {out.parent} does not exist.")
    write_text_atomic(out, build_report(run))
    print(f"wrote {out}")
    return 0
