"""``abnrl report`` on an agent that no abnrl run made: a plain Stable-Baselines3 zip or an
RL Zoo run dir. Its page holds what the folder has: the Zoo's training games, the last
``abnrl eval``, videos, and the agent's settings."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from abnrl.errors import UserError
from abnrl.media.html_page import (
    data_uri,
    final_evaluation,
    malformed,
    page,
    table,
    text,
    videos,
)
from abnrl.media.plots import training_games_png
from abnrl.training.checkpoints import read_agent_file
from abnrl.training.zoo import read_settings, settings_folder

MAX_MONITOR_BYTES = 64 << 20
"""The largest monitor file read (a 10M-step Zoo run's are a few megabytes)."""


def training_games(run_dir: Path) -> list[float]:
    """The scores of the training games that the Zoo's monitor files (``N.monitor.csv``:
    a JSON line, then ``r,l,t`` per game) hold, in the order the games ended."""
    games: list[tuple[float, float]] = []
    for path in sorted(run_dir.glob("*.monitor.csv")):
        if path.stat().st_size > MAX_MONITOR_BYTES:
            raise malformed(path, f"over {MAX_MONITOR_BYTES >> 20} MB")
        try:
            with path.open(newline="") as file:
                file.readline()  # the monitor's JSON header
                games += [(float(row["t"]), float(row["r"])) for row in csv.DictReader(file)]
        except (KeyError, ValueError, TypeError, UnicodeDecodeError, csv.Error) as error:
            raise malformed(path, type(error).__name__) from None
    return [score for _, score in sorted(games)]


def _settings_rows(agent_zip: Path, plain: dict) -> list[list[object]]:
    """The Zoo's settings of the run, else the zip's plain fields."""
    folder = settings_folder(agent_zip.parent)
    if folder is not None:
        rows: list[list[object]] = []
        for name in ("config.yml", "args.yml"):
            if (folder / name).is_file():
                try:
                    settings = read_settings(folder / name)
                except ValueError as error:
                    raise UserError(f"{error}; no report was written.") from None
                rows += [[f"{name}: {key}", json.dumps(value)] for key, value in settings.items()]
        return rows
    return [[key, json.dumps(value)] for key, value in plain.items() if not isinstance(value, dict)]


def build_agent_report(agent_zip: Path, game: str | None, protocol: str | None) -> str:
    """The page of an agent from elsewhere.

    Raises:
        UserError: the zip, its settings or a file beside it cannot be read.
    """
    plain, _, meta = read_agent_file(agent_zip, game, protocol)
    source = "an RL Zoo run" if "zoo_env" in meta else "a Stable-Baselines3 zip"
    title = f"{meta['game']}, {meta['protocol']} protocol: an agent from {source}"
    parts = [
        f"<h1>{text(title)}</h1>",
        f"<p>{text(agent_zip)}: {int(plain.get('num_timesteps', 0)):,} agent steps trained.</p>",
    ]
    scores = training_games(agent_zip.parent)
    if scores:
        png = training_games_png(scores, title=f"{meta['game']}, {len(scores):,} training games")
        parts.append(
            f'<h2>Training games</h2><img alt="training games" src="{data_uri(png, "image/png")}">'
        )
    evaluation = agent_zip.parent / "eval.json"
    if evaluation.is_file():
        parts.append(final_evaluation(evaluation))
    kept, left_out = videos(agent_zip.parent)
    parts.append("<h2>Videos</h2>")
    for video in kept:
        uri = data_uri(video.read_bytes(), "video/mp4")
        parts.append(f'<p>{text(video.name)}</p><video controls muted src="{uri}"></video>')
    parts += [f"<p>{text(v.name)}: left out, {text(reason)}.</p>" for v, reason in left_out]
    if not kept and not left_out:
        parts.append(f"<p>None yet: <code>abnrl watch {text(agent_zip)}</code> records one.</p>")
    parts.append("<h2>Settings</h2>" + table(["field", "value"], _settings_rows(agent_zip, plain)))
    return page(title, parts)
