"""What ``abnrl train`` trains: its flags, their checks, and the full config of a run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated

from tyro.conf import arg

from abnrl.errors import UserError
from abnrl.training.run_dir import RunDir
from abnrl.validation import (
    DeviceName,
    check_at_least,
    check_choice,
    check_device,
    typed_config,
)
from agents import ALGORITHMS, N_ENVS, POLICIES
from agents.attention import (
    ATTENTIONS,
    DEFAULT_ATTENTION,
    DESIGNS,
    LEGACY_ATTENTION,
    AttentionName,
    AttentionSpec,
    MotionPooling,
    attention_spec,
    design,
    saved_attention_spec,
)
from agents.backbones import BACKBONES, MAP_SIZES, BackboneName
from agents.factory import AlgorithmName, PolicyName
from envs import PROTOCOLS, normalize_game
from envs.games import ProtocolName

DEFAULT_TOTAL_STEPS = 10_000_000
ATTENTION_HELP = "Attention design (ABN only): " + "; ".join(
    f"{name} ({entry.summary})" for name, entry in DESIGNS.items()
)


@dataclass
class TrainConfig:
    """Train an agent (ABN-PPO by default) on an Atari game."""

    game: str = "breakout"
    """ALE game, e.g. breakout."""
    algo: AlgorithmName = "ppo"
    """ppo or a2c."""
    policy: PolicyName = "abn"
    """abn (Attention Branch Network policy) or cnn (SB3's stock Nature-CNN policy)."""
    backbone: BackboneName = "nature"
    """ABN backbone: nature (Nature CNN, 9x9 attention map) or impala (21x21 map)."""
    total_steps: int | None = None
    """Agent steps to train in all (1 step = 4 frames); 10M for a new run; on --resume, the
    run's own unless given."""
    n_envs: int | None = None
    """Games played side by side; the RL Zoo's (8 for PPO, 16 for A2C) when not given."""
    seed: int = 0
    """Seed of the network, the games and the sampling."""
    device: DeviceName | None = None
    """auto (CUDA when present), cpu or cuda; auto for a new run, the run's own on --resume,
    when not given."""
    protocol: ProtocolName = "classic"
    """classic (no sticky actions, up to 30 no-op starts) or v5 (sticky actions 0.25)."""
    run_dir: Path | None = None
    """Folder of the run; runs/<game>-<algo>-<policy>-s<seed> when not given."""
    resume: Path | None = None
    """Continue the run in this folder from its last checkpoint, with its saved config."""
    attention: Annotated[AttentionName, arg(help=ATTENTION_HELP)] = DEFAULT_ATTENTION
    map_size: int | None = None
    """Side of the attention map (ABN only): 9 (after conv2) or 20 (after conv1) for the
    Nature CNN, 21 for IMPALA; the backbone's first when not given."""
    attention_heads: int | None = None
    """Attention heads, each with its own map (designs that take heads); the design's
    default when not given."""
    attention_motion: bool = bool(DESIGNS[DEFAULT_ATTENTION].options["motion"])
    """The softmax heads also score and pool the change between the last two
    frames (the largest in each map cell), so that a head can select what moves; the
    designs without the option ignore it."""
    attention_motion_pooling: MotionPooling | None = None
    """Where each map cell's motion is taken from (designs with the motion channel):
    even (its tile of an even partition of the frame) or receptive-field (the input
    window the cell's features see, whose windows overlap); the design's default when
    not given."""
    attention_coef: float = 1.0
    """Weight of the attention branch's loss (abn designs only)."""
    map_entropy_coef: float = 0.0
    """Weight of the attention maps' normalized entropy in the loss (ABN only; > 0 sharpens)."""
    map_spread_coef: float = 0.0
    """Weight of the normalized entropy of each attention head's map averaged over a
    minibatch, subtracted from the loss (ABN only; > 0 keeps heads moving from frame to
    frame instead of parking on one cell; at the weight of --map-entropy-coef the two
    reward the mutual information between the frame and each head's position)."""
    map_terms_from: int = 0
    """Agent step after which --map-entropy-coef and --map-spread-coef count (0: from
    the start; the shipped agent's is 4000768); their weights are 0 in the updates up
    to it."""
    n_steps: int | None = None
    """Rollout length per env between updates; the RL Zoo's when not given."""
    batch_size: int | None = None
    """PPO minibatch size; the RL Zoo's (256) when not given."""
    checkpoint_every: int = 100_000
    """Agent steps between checkpoints (one is also written at the end, on SIGTERM and on the
    first Ctrl-C, after the update under way; a second Ctrl-C quits without saving)."""
    eval_every: int = 250_000
    """Agent steps between evaluations on separate games (0: none)."""
    eval_episodes: int = 10
    """Full games per evaluation during training."""
    video_frames: int = 600
    """Emulator frames of the attention video recorded after each evaluation into
    videos/ and TensorBoard (0: none)."""
    time_limit_min: float | None = None
    """Stop cleanly, with a checkpoint, after this many minutes (on --resume: this session's)."""
    stop_at: int | None = None
    """Stop cleanly, with a checkpoint, at this many agent steps; the learning-rate and clip
    schedules still span --total-steps (e.g. the first 1M steps of a 10M run). Not kept
    for --resume."""
    threads: int | None = None
    """CPU threads for the emulators and torch; 0 uses every core; 0 for a new run, the
    run's own on --resume, when not given."""
    progress: bool = True
    """Show a progress bar."""


@dataclass
class ResolvedTrainConfig(TrainConfig):
    """A run's full config: what was not given, filled in (``resolve``) or read from the
    run dir (``load_saved_config``)."""

    total_steps: int = DEFAULT_TOTAL_STEPS
    n_envs: int = 8
    device: DeviceName = "auto"
    run_dir: Path = Path("runs")
    threads: int = 0
    attention_motion: bool = False  # a run saved before the option had no motion channel


# Fields that mean nothing for SB3's stock policy, which has no attention: a --policy cnn
# run's config.json leaves them out.
ABN_ONLY = (
    "backbone",
    "attention",
    "map_size",
    "attention_heads",
    "attention_motion",
    "attention_motion_pooling",
    "attention_coef",
    "map_entropy_coef",
    "map_spread_coef",
    "map_terms_from",
)

# The design options that are flags of their own (their values None: not given).
OPTION_FLAGS = {"heads": "attention_heads", "motion_pooling": "attention_motion_pooling"}

# Fields a --resume may change; all others come from the run's saved config.
RESUME_OVERRIDES = ("total_steps", "device", "time_limit_min", "stop_at", "threads", "progress")


# Smallest value of each numeric flag (None: not given).
MINIMUMS = {
    "seed": 0,
    "total_steps": 1,
    "stop_at": 1,
    "n_envs": 1,
    "n_steps": 1,
    "batch_size": 1,
    "attention_heads": 1,
    "checkpoint_every": 1,
    "eval_every": 0,
    "eval_episodes": 1,
    "video_frames": 0,
    "time_limit_min": 0,
    "threads": 0,
    "attention_coef": 0,
    "map_entropy_coef": 0,
    "map_spread_coef": 0,
    "map_terms_from": 0,
}


def validate(config: TrainConfig) -> None:
    choices = {
        "algo": ALGORITHMS,
        "policy": POLICIES,
        "backbone": tuple(BACKBONES),
        "attention": ATTENTIONS,
        "protocol": tuple(PROTOCOLS),
    }
    for name, allowed in choices.items():
        check_choice(name, getattr(config, name), allowed)
    if config.device is not None:
        check_device(config.device)
    try:
        config.game = normalize_game(config.game)
    except ValueError as error:
        raise UserError(str(error)) from error
    sizes = MAP_SIZES[config.backbone]
    if config.map_size is not None and config.map_size not in sizes:
        raise UserError(
            f"The {config.backbone} backbone has attention maps of side "
            f"{' or '.join(map(str, sizes))}, not {config.map_size}."
        )
    check_at_least(config, MINIMUMS)


def resolve(config: TrainConfig) -> ResolvedTrainConfig:
    """The full config of a new run: every default filled in.

    Raises:
        UserError: a bad value, or an attention option that the design does not take.
    """
    validate(config)
    options = design(config.attention).options
    for option, field in OPTION_FLAGS.items():
        if getattr(config, field) is not None and option not in options:
            takers = [name for name, entry in DESIGNS.items() if option in entry.options]
            raise UserError(
                f"--{field.replace('_', '-')} is an option of {' and '.join(takers)}, "
                f"not of {config.attention}."
            )
    spec = attention_spec(
        config.attention,
        heads=config.attention_heads,
        motion=config.attention_motion if "motion" in options else None,
        motion_pooling=config.attention_motion_pooling,
    )
    config = replace(
        config,
        attention_heads=spec.heads,
        attention_motion=bool(spec.motion),
        attention_motion_pooling=spec.motion_pooling,
    )
    defaults = {
        "device": "auto",
        "threads": 0,
        "total_steps": DEFAULT_TOTAL_STEPS,
        "n_envs": N_ENVS[config.algo],
        "run_dir": Path("runs") / f"{config.game}-{config.algo}-{config.policy}-s{config.seed}",
    }
    given = {name: value for name, value in vars(config).items() if value is not None}
    return ResolvedTrainConfig(**{**defaults, **given, "resume": None})


def saved_config(config: ResolvedTrainConfig) -> dict:
    """What a run's config.json holds: the config as JSON values, without the fields
    that do not apply to its policy."""
    skipped = ABN_ONLY if config.policy == "cnn" else ()
    return {
        name: str(value) if isinstance(value, Path) else value
        for name, value in asdict(config).items()
        if name not in skipped
    }


def load_saved_config(run_dir: Path, overrides: TrainConfig) -> ResolvedTrainConfig:
    path = RunDir(run_dir).config
    if not path.is_file():
        raise UserError(f"{run_dir} is not a run dir ({path.name} is missing).")
    try:
        saved = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{path} is not a readable run config (not JSON).") from None
    if not isinstance(saved, dict):
        raise UserError(f"{path} is not a readable run config (not a JSON object).")
    # Fields added since the run started take their defaults.
    config = typed_config(ResolvedTrainConfig, saved, path)
    if "attention" not in saved:  # runs from before the designs had this one
        config.attention = LEGACY_ATTENTION
    if config.attention_motion and "motion" not in design(config.attention).options:
        raise UserError(
            f"{path} says attention_motion true with attention {json.dumps(config.attention)}, "
            "a design without the motion channel."
        )
    config.run_dir = run_dir
    # Limits of the session that wrote the config; only this resume's own flags set them.
    config.stop_at = None
    config.time_limit_min = None
    for name in RESUME_OVERRIDES:
        value = getattr(overrides, name)
        if value is not None:  # given (progress, a display choice, always is)
            setattr(config, name, value)
    validate(config)
    return config


def run_attention_spec(config: ResolvedTrainConfig) -> AttentionSpec:
    """The attention of a run's agent, from its config (runs saved before the designs'
    options were checked stored a head count for every design)."""
    options = {
        "heads": config.attention_heads,
        "motion": config.attention_motion,
        "motion_pooling": config.attention_motion_pooling,
    }
    return saved_attention_spec(config.attention, options)
