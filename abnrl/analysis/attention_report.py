"""The attention analysis as tables, a metrics chart and an examples figure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import matplotlib
import numpy as np

from abnrl.analysis.dependence import TOP_CELLS
from abnrl.analysis.play import PATH_STEPS
from abnrl.analysis.summary import Example
from vision.files import write_atomic
from vision.overlay import overlay, panels

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BALL_COLOUR = (255, 0, 0)
METRIC_TITLES = {
    "ball_pointing": "pointing game: ball",
    "ball_pointing_refined": "pointing game: ball, refined peak",
    "ball_path_pointing": f"pointing game: ball's path ({PATH_STEPS} steps)",
    "paddle_pointing": "pointing game: paddle",
    "ball_mass_share": "map mass near the ball",
    "deletion_auc": "deletion AUC (lower is better)",
    "insertion_auc": "insertion AUC (higher is better)",
}


def _cell(stats: dict) -> str:
    if stats["mean"] is None:
        return "n/a"
    return f"{stats['mean']:.3f} +- {stats['sem'] or 0.0:.3f}"


def _lift(mass: float | None, area: float | None) -> str:
    return f"{mass / area:.1f}x" if mass is not None and area else "n/a"


def metrics_table(summary: dict, radius: float, tolerance: float, peak_window: int) -> str:
    """Markdown: one row per map source (mean +- standard error over frames), one column
    per metric the game has (``abnrl.analysis.scoring.game_metrics``), and the ball's
    mass over its disc's area beside its mass."""
    headers = {
        "ball_pointing": f"pointing: ball (tol. {tolerance:g} px)",
        "ball_pointing_refined": f"pointing: ball, peak = centre of mass within {peak_window} px",
        "ball_path_pointing": f"pointing: ball's path (next {PATH_STEPS} steps)",
        "paddle_pointing": "pointing: paddle",
        "ball_mass_share": f"mass within {radius:g} px of ball",
        "deletion_auc": "deletion AUC (lower is better)",
        "insertion_auc": "insertion AUC (higher is better)",
    }
    metrics_of = summary["metrics"]
    shown = [m for m in headers if any(m in metrics for metrics in metrics_of.values())]
    titles = [headers[m] for m in shown]
    if "ball_mass_share" in shown:
        titles.insert(shown.index("ball_mass_share") + 1, "mass / area")
    lines = [f"| map | {' | '.join(titles)} |", "| --- |" + " ---: |" * len(titles)]
    for source, metrics in metrics_of.items():
        cells = []
        for name in shown:
            cells.append(_cell(metrics[name]))
            if name == "ball_mass_share":
                cells.append(_lift(metrics[name]["mean"], summary["disc_area_share"]))
        lines.append(f"| {source} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def objects_table(summary: dict, radius: float, tolerance: float, peak_window: int) -> str:
    """Markdown: one row per object kind and map source (``summary["objects"]``): pointing
    on the kind, refined pointing, the mass near it and that mass over its area share."""
    lines = [
        f"| object kind | map | frames | pointing (tol. {tolerance:g} px) | pointing, peak = "
        f"centre of mass within {peak_window} px | mass within {radius:g} px of one or on "
        "it | mass / area |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, entry in summary["objects"].items():
        label = f"{kind} ({', '.join(entry['names'])})"
        for source, measures in entry["maps"].items():
            lift = measures["mass_over_area"]
            cells = [str(measures["pointing"]["frames"])]
            cells += [_cell(measures[m]) for m in ("pointing", "pointing_refined", "mass_near")]
            cells.append("n/a" if lift is None else f"{lift:.1f}x")
            lines.append(f"| {label} | {source} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def attention_table(summary: dict) -> str:
    """Markdown: dependence and map statistics of the agent's own maps ("" without them)."""
    dependence, statistics = summary["dependence"], summary["map_statistics"]
    if not dependence:
        return ""
    lines = ["| measure of the agent's own maps | value |", "| --- | ---: |"]
    for name, label in (("mean_map", "their spatial mean"), ("other_frame", "another frame's")):
        lines.append(
            f"| top action changes when the maps are replaced by {label} | "
            f"{_cell(dependence[name]['action_change'])} |"
        )
        lines.append(
            f"| KL(policy, edited policy), maps replaced by {label} | "
            f"{_cell(dependence[name]['kl'])} |"
        )
    mean = statistics["mean"]
    lines += [
        f"| per-frame mean of the map (spread over frames: std) | {mean['mean']:.3f} "
        f"(std {mean['std'] or 0.0:.3f}) |",
        f"| entropy of the map / a flat map's | {_cell(statistics['entropy'])} |",
        f"| mass of the top {TOP_CELLS} cells | {_cell(statistics[f'top{TOP_CELLS}_mass'])} |",
        f"| change between consecutive steps (total variation) | {_cell(statistics['change'])} |",
    ]
    return "\n".join(lines) + "\n"


def _r(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def _offset(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}"


def heads_table(summary: dict) -> str:
    """Markdown: what each head of the agent's own maps follows ("" without them); the
    player named as the game names it (Breakout's paddle)."""
    if not summary["heads"]:
        return ""
    player = summary.get("objects", {}).get("player", {}).get("names", ["player"])
    name = " or ".join(player)
    lines = [
        f"| head | centre of mass x, y (px; std) | r with ball x, y | r with {name} x, y | "
        f"offset from the {name} x, y (px) | top action changes when this head alone is "
        "flattened |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for k, head in enumerate(summary["heads"]):
        decides = _cell({"mean": head["decides"], "sem": head["decides_sem"]})
        lines.append(
            f"| {k} | {head['x']:.1f}, {head['y']:.1f} ({head['x_std']:.1f}, "
            f"{head['y_std']:.1f}) | {_r(head['ball_x_r'])}, {_r(head['ball_y_r'])} | "
            f"{_r(head['player_x_r'])}, {_r(head['player_y_r'])} | "
            f"{_offset(head['player_dx'])}, "
            f"{_offset(head['player_dy'])} | {decides} |"
        )
    return "\n".join(lines) + "\n"


def charted(summary: dict) -> dict[str, str]:
    """Metric -> its chart title, for the metrics with values."""
    return {
        metric: name
        for metric, name in METRIC_TITLES.items()
        if any(m.get(metric, {}).get("mean") is not None for m in summary["metrics"].values())
    }


def plot_metrics(summary: dict, out: Path, title: str) -> None:
    """A bar chart per metric that has values (``charted``: at least one; one bar per
    source with its standard error); PNG, atomic."""
    sources = list(summary["metrics"])
    titles = charted(summary)
    figure, axes = plt.subplots(1, len(titles), figsize=(20 * len(titles) / 6, 4), squeeze=False)
    tab10 = plt.get_cmap("tab10")
    colours = [tab10(i) for i in range(tab10.N)]
    for axis, (metric, name) in zip(axes[0], titles.items(), strict=True):
        stats = [summary["metrics"][s][metric] for s in sources]
        means = [s["mean"] or 0.0 for s in stats]
        errors = [s["sem"] or 0.0 for s in stats]
        axis.bar(range(len(sources)), means, yerr=errors, color=colours[: len(sources)], capsize=3)
        axis.set_xticks(range(len(sources)), [s.replace(" ", "\n") for s in sources], fontsize=7)
        axis.set_title(name, fontsize=9)
        if metric == "ball_mass_share" and summary["disc_area_share"]:
            axis.axhline(
                summary["disc_area_share"],
                color="black",
                linestyle="--",
                linewidth=1,
                label="disc's area",
            )
            axis.legend(fontsize=8)
    figure.suptitle(
        f"{title}: {len(summary['games']['scores'])} games, {summary['frames_scored']} frames "
        "scored (error bars: standard error)",
        fontsize=10,
    )
    figure.tight_layout()
    write_atomic(out, lambda tmp: figure.savefig(tmp, dpi=80), suffix=".png")
    plt.close(figure)


def draw_box(image: np.ndarray, box) -> np.ndarray:
    """A copy of an RGB frame with ``box`` outlined."""
    outlined = image.copy()
    corner0 = (int(box.x0) - 2, int(box.y0) - 2)
    corner1 = (int(np.ceil(box.x1)) + 1, int(np.ceil(box.y1)) + 1)
    cv2.rectangle(outlined, corner0, corner1, BALL_COLOUR, 1)
    return outlined


def examples_figure(examples: Sequence[Example]) -> np.ndarray:
    """One row per example: the frame, then each source's map over it, ball box drawn
    (in games with a ball)."""
    rows = []
    for example in examples:
        ball = example.ball
        images = [
            example.frame,
            *(overlay(example.frame, m, alpha=0.5) for m in example.maps.values()),
        ]
        if ball is not None:
            images = [draw_box(image, ball) for image in images]
        rows.append(panels(images, ["frame", *example.maps]))
    return np.concatenate(rows, axis=0)


def save_png(path: Path, image: np.ndarray) -> None:
    """Write an RGB image as PNG at OpenCV's highest compression, atomically."""
    ok, encoded = cv2.imencode(
        ".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9]
    )
    if not ok:
        raise OSError(f"OpenCV could not encode {path.name} as PNG.")
    write_atomic(path, lambda tmp: tmp.write_bytes(encoded.tobytes()), suffix=".png")
