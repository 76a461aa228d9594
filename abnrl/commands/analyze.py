"""``abnrl analyze``: measure what an agent's attention shows against the game's objects."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from torch import nn
from tyro.conf import arg

from abnrl.analysis.attention import analyse, default_sources
from abnrl.analysis.attention_report import (
    attention_table,
    charted,
    examples_figure,
    heads_table,
    metrics_table,
    objects_table,
    plot_metrics,
    save_png,
)
from abnrl.analysis.events_report import events_table, plot_events
from abnrl.analysis.play import SEED, has_attention
from abnrl.analysis.scoring import CURVE_STEPS
from abnrl.analysis.sources import ATTENTION, BALL_CELL, SOURCE_NAMES, source_of
from abnrl.analysis.summary import summarise
from abnrl.commands.arguments import OptionalPath, choices
from abnrl.errors import UserError
from abnrl.media.peaks import PEAK_WINDOW
from abnrl.training.checkpoints import check_actions, load_checkpoint
from abnrl.training.run_dir import choose_checkpoint
from abnrl.validation import (
    DeviceName,
    check_at_least,
    check_between,
    check_device,
    check_output,
)
from agents.policy_view import policy_network
from envs.games import ProtocolName
from envs.objects import ObjectReader, games_with_objects, object_reader
from vision.files import write_json_atomic, write_text_atomic

MapNames = Annotated[tuple[str, ...], arg(metavar=f"{choices(SOURCE_NAMES)} [...]")]


@dataclass
class AnalyzeConfig:
    """Measure an agent's attention against the game's objects in the RAM (any game with
    an object reader: breakout, freeway, ms_pacman, pong, seaquest, space_invaders):
    pointing game and mass near each object kind (ball, player, enemy, ...), the ball's
    path, deletion and insertion AUC, dependence of the policy on its maps, map
    statistics, and on Breakout the maps' statistics around paddle hits, brick hits and
    lost lives against random times. Prints tables; writes JSON, markdown and figures."""

    path: OptionalPath = None
    """A run dir (its latest checkpoint) or an agent .zip: abnrl's, or a plain
    Stable-Baselines3 PPO or A2C zip (give --game and --protocol); omit with --pretrained."""
    game: str | None = None
    """The game a plain Stable-Baselines3 zip plays (abnrl's files record it); the
    shipped agent that --pretrained takes: breakout (the default) or pong."""
    protocol: ProtocolName | None = None
    """classic or v5: the protocol of a plain Stable-Baselines3 zip (classic when not
    given); abnrl's files record their own, and the games are played on it."""
    pretrained: bool = False
    """Analyse an ABN-PPO agent that ships with abnrl: Breakout's, or Pong's with --game pong."""
    maps: MapNames = ("attention", "ball-cell", "gradcam", "perturbation", "random")
    """Map sources: attention (the agent's own maps, and each head's; abn is its former
    name), ball-cell (a reference: 1 in the cell of the agent's map grid that holds the
    ball, the best any map of that resolution can do; games with a ball), random, and the
    explainers of vision.explain that explain the action taken (perturbation: the whole
    policy, as Greydanus et al., 2018). Agents without attention maps: all but attention
    and ball-cell."""
    episodes: int = 30
    """Full games to play (all lives)."""
    every: int = 10
    """Score every Nth agent step."""
    max_steps_per_game: int = 27_000
    """Cap on a game's agent steps (108,000 frames)."""
    radius: float = 8.0
    """Radius of the disc around the ball (and each object), in observation pixels."""
    tolerance: float = 4.0
    """The pointing game's tolerance, in observation pixels."""
    peak_window: int = PEAK_WINDOW
    """Half-width in observation pixels of the square around a map's maximum whose
    centre of mass is its refined peak (the refined pointing); 14 is a cell and a
    half of the 9x9 map."""
    curves: bool = True
    """Deletion and insertion AUC, most of the analysis's time; --no-curves for a quick
    screen of pointing, dependence and map statistics."""
    placement: Literal["registered", "even"] = "registered"
    """Where coarse maps (the agent's, Grad-CAM's, the ball's cell) go on the observation:
    registered puts each cell's value at the centre of the input window it sees, even
    stretches the map evenly over the frame, as pytorch-grad-cam and Captum do."""
    seed: int = SEED
    """Seed of the first game, of action sampling and of the random maps."""
    device: DeviceName = "auto"
    """auto, cpu or cuda."""
    out: Path | None = None
    """Folder for attention-analysis.json/.md and the figures; attention-analysis/ beside
    the checkpoint (here for --pretrained)."""


def _validate(config: AnalyzeConfig) -> None:
    check_at_least(
        config,
        {"episodes": 1, "every": 1, "max_steps_per_game": 1, "peak_window": 0, "seed": 0},
    )
    check_between(config, {"radius": (0.5, 84.0), "tolerance": (0.0, 84.0)})
    check_device(config.device)
    unknown = [name for name in config.maps if source_of(name) is None]
    if unknown or not config.maps:
        raise UserError(
            f"Unknown --maps {' '.join(unknown) or '(none)'}; choose from "
            f"{', '.join(SOURCE_NAMES)}."
        )


def _reader(game: str) -> ObjectReader:
    """The object reader of the agent's game; a game without one ends in one sentence."""
    try:
        return object_reader(game)
    except ValueError:
        raise UserError(
            f"This agent plays {game}, and analyze has no object reader for {game} (the "
            f"objects are read from the RAM); games with one: {', '.join(games_with_objects())}."
        ) from None


def _sources(network: nn.Module, wanted: list[str | None], reader: ObjectReader) -> list[str]:
    """The sources asked for, in the order of the defaults (the own maps with each
    head's), then the others as given; the ball's cell left out in a game without a ball
    (the analysis says so)."""
    if {ATTENTION, BALL_CELL} & set(wanted) and not has_attention(network):
        others = [name for name, s in SOURCE_NAMES.items() if s not in (ATTENTION, BALL_CELL)]
        raise UserError(
            f"This agent has no attention maps of its own; analyse it with --maps "
            f"{' '.join(others)}."
        )
    ball = "ball" in reader.kinds
    wanted = [s for s in wanted if ball or s != BALL_CELL]
    if not wanted:
        raise UserError(f"{reader.game} has no ball: --maps ball-cell has nothing to mark.")
    sources = [
        s
        for s in default_sources(network, ball=ball)
        if s in wanted or (ATTENTION in wanted and s.startswith(ATTENTION))
    ]
    return sources + [s for s in dict.fromkeys(wanted) if s is not None and s not in sources]


def run(config: AnalyzeConfig) -> int:
    _validate(config)
    checkpoint = choose_checkpoint(config.path, config.pretrained, config.game)
    out = config.out or (
        Path("attention-analysis")
        if config.pretrained
        else checkpoint.parent / "attention-analysis"
    )
    check_output(out, folder=True)
    model, meta = load_checkpoint(
        checkpoint, device=config.device, game=config.game, protocol=config.protocol
    )
    reader = _reader(meta["game"])
    check_actions(model, meta["game"])
    network = policy_network(model.policy).eval()
    sources = _sources(network, [source_of(name) for name in config.maps], reader)
    started = time.perf_counter()
    analysis = analyse(
        network,
        game=meta["game"],
        episodes=config.episodes,
        every=config.every,
        max_steps_per_game=config.max_steps_per_game,
        sources=sources,
        seed=config.seed,
        radius=config.radius,
        tolerance=config.tolerance,
        peak_window=config.peak_window,
        curve_steps=CURVE_STEPS if config.curves else 0,
        placement=config.placement,
        protocol=meta["protocol"],
        log=print,
    )
    summary = summarise(analysis)
    tables = (
        metrics_table(summary, config.radius, config.tolerance, config.peak_window)
        + "\n"
        + attention_table(summary)
        + "\n"
        + heads_table(summary)
    )
    if summary["events"]:
        tables += "\n" + events_table(summary["events"])
    tables += "\n" + objects_table(summary, config.radius, config.tolerance, config.peak_window)
    if summary["skipped"]:
        tables += "\n" + "".join(f"Not measured: {line}.\n" for line in summary["skipped"])
    out.mkdir(exist_ok=True)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "checkpoint": str(checkpoint),
        "protocol": meta["protocol"],
        "steps_trained": int(model.num_timesteps),
        "attention": getattr(model.policy, "attention", None),
        "settings": {k: str(v) for k, v in vars(config).items()},
        "seconds": round(time.perf_counter() - started, 1),
        **summary,
    }
    write_json_atomic(out / "attention-analysis.json", results)
    write_text_atomic(out / "attention-analysis.md", tables)
    # A run dir's checkpoint is named after its run, a loose file after itself.
    name = (
        checkpoint.parent.parent.name
        if checkpoint.parent.name == "checkpoints"
        else checkpoint.name
    )
    game = reader.game.replace("_", " ").capitalize()
    title = f"{name}, {model.num_timesteps:,} steps, {game} ({meta['protocol']})"
    if charted(summary):
        plot_metrics(summary, out / "attention-metrics.png", title)
    else:
        print("no metrics chart: none of its metrics applies to this game (try with curves)")
    if summary["events"]:
        plot_events(summary["events"], out / "attention-events.png", title)
    if analysis.examples:
        save_png(out / "attention-examples.png", examples_figure(analysis.examples))
    games = summary["games"]
    print(f"games: {games['score_mean']:.1f} +- {games['score_std']:.1f} over {config.episodes}")
    print(tables)
    print(f"wrote {out}/attention-analysis.json, .md and figures")
    return 0
