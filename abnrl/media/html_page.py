"""One self-contained HTML page: escaped text, tables, inlined images and videos, and the
table of an ``abnrl eval`` result (``abnrl report``'s parts)."""

from __future__ import annotations

import base64
import html
import json
import stat
from collections.abc import Sequence
from pathlib import Path

from abnrl.errors import UserError

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
td, th { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
img, video { max-width: 100%; border: 1px solid #ddd; }
"""


def text(value: object) -> str:
    """``value`` as HTML text: everything in a run dir may come from elsewhere."""
    return html.escape(str(value))


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{text(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{text(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def data_uri(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


def malformed(path: Path, detail: str) -> UserError:
    return UserError(f"{path} is malformed ({detail}); no report was written.")


def read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise malformed(path, "not JSON") from None
    if not isinstance(value, dict):
        raise malformed(path, "not a JSON object")
    return value


def final_evaluation(path: Path) -> str:
    result = read_json(path)
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
        raise malformed(path, f"{type(error).__name__}: {error}") from None
    return (
        f"<h2>Evaluation</h2><p>{text(game)}, {text(protocol)} protocol, {steps:,} agent "
        f"steps trained, {actions} actions.</p>"
        + table(["games", "mean", "std", "median", "min", "max", "length (steps)"], [cells])
    )


def page(title: str, parts: list[str]) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{text(title)}"
        f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )


MAX_VIDEO_BYTES = 64 << 20
"""The largest video inlined (a training run's are a few megabytes)."""


def videos(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
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
