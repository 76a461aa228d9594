"""``abnrl train``: train an agent on an Atari game, resumable, with logs and evaluations."""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
from stable_baselines3.common.logger import configure

from abnrl.checkpoints import load_checkpoint, save_checkpoint, set_rng_state
from abnrl.errors import UserError
from abnrl.evaluation import evaluate
from abnrl.files import write_json_atomic
from abnrl.illustrations import record_attention
from abnrl.monitor import TrainingMonitor
from abnrl.run_dir import RunDir
from agents import ALGORITHMS, N_ENVS, POLICIES, make_agent
from agents.attention import ATTENTIONS, DEFAULT_ATTENTION, LEGACY_ATTENTION
from agents.backbones import BACKBONES, MAP_SIZES
from envs import PROTOCOLS, make_vec_env, normalize_game

DEFAULT_TOTAL_STEPS = 10_000_000


@dataclass
class TrainConfig:
    """Train an agent (ABN-PPO by default) on an Atari game."""

    game: str = "breakout"
    """ALE game, e.g. breakout."""
    algo: str = "ppo"
    """ppo or a2c."""
    policy: str = "abn"
    """abn (Attention Branch Network policy) or cnn (SB3's stock Nature-CNN policy)."""
    backbone: str = "nature"
    """ABN backbone: nature (Nature CNN, 9x9 attention map) or impala (21x21 map)."""
    total_steps: int | None = None
    """Agent steps to train in all (1 step = 4 frames); 10M for a new run; on --resume, the
    run's own unless given."""
    n_envs: int | None = None
    """Games played side by side; the RL Zoo's (8 for PPO, 16 for A2C) when not given."""
    seed: int = 0
    """Seed of the network, the games and the sampling."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""
    protocol: str = "classic"
    """classic (no sticky actions, up to 30 no-op starts) or v5 (sticky actions 0.25)."""
    run_dir: Path | None = None
    """Folder of the run; runs/<game>-<algo>-<policy>-s<seed> when not given."""
    resume: Path | None = None
    """Continue the run in this folder from its last checkpoint, with its saved config."""
    attention: str = DEFAULT_ATTENTION
    """Attention design (ABN only): abn (Fukui et al.'s branch, 3x3 map conv), abn-groupnorm
    (the branch with GroupNorm on its map), mask (Mask-Attention A3C's sigmoid masks) or
    softmax (spatial-softmax heads that pool the features)."""
    map_size: int | None = None
    """Side of the attention map (ABN only): 9 (after conv2) or 20 (after conv1) for the
    Nature CNN, 21 for IMPALA; the backbone's first when not given."""
    attention_heads: int = 4
    """Attention heads of the softmax design, each with its own map."""
    attention_coef: float = 1.0
    """Weight of the attention branch's loss (abn designs only)."""
    map_entropy_coef: float = 0.0
    """Weight of the attention maps' normalized entropy in the loss (ABN only; > 0 sharpens)."""
    n_steps: int | None = None
    """Rollout length per env between updates; the RL Zoo's when not given."""
    batch_size: int | None = None
    """PPO minibatch size; the RL Zoo's (256) when not given."""
    checkpoint_every: int = 100_000
    """Agent steps between checkpoints (one is also written on Ctrl-C, SIGTERM and the end)."""
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
    threads: int = 0
    """CPU threads for the emulators and torch; 0 uses every core."""
    progress: bool = True
    """Show a progress bar."""


# Fields a --resume may change; all others come from the run's saved config.
RESUME_OVERRIDES = ("total_steps", "device", "time_limit_min", "stop_at", "threads", "progress")


def _validate(config: TrainConfig) -> None:
    choices = {
        "algo": ALGORITHMS,
        "policy": POLICIES,
        "backbone": tuple(BACKBONES),
        "attention": ATTENTIONS,
        "protocol": tuple(PROTOCOLS),
        "device": ("auto", "cpu", "cuda"),
    }
    for name, allowed in choices.items():
        if getattr(config, name) not in allowed:
            raise UserError(
                f"Unknown --{name} {getattr(config, name)!r}; choose one of {', '.join(allowed)}."
            )
    try:
        config.game = normalize_game(config.game)
    except ValueError as error:
        raise UserError(str(error)) from error
    if config.device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but PyTorch sees no CUDA GPU here.")
    sizes = MAP_SIZES[config.backbone]
    if config.map_size is not None and config.map_size not in sizes:
        raise UserError(
            f"The {config.backbone} backbone has attention maps of side "
            f"{' or '.join(map(str, sizes))}, not {config.map_size}."
        )
    for name in ("total_steps", "stop_at", "n_envs", "n_steps", "batch_size", "attention_heads"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {value}.")


def _resolve(config: TrainConfig) -> TrainConfig:
    """The full config of a new run: every default filled in."""
    _validate(config)
    run_dir = config.run_dir or Path("runs") / (
        f"{config.game}-{config.algo}-{config.policy}-s{config.seed}"
    )
    return replace(
        config,
        run_dir=run_dir,
        resume=None,
        total_steps=config.total_steps or DEFAULT_TOTAL_STEPS,
        n_envs=config.n_envs or N_ENVS[config.algo],
    )


def _load_saved_config(run_dir: Path, overrides: TrainConfig) -> TrainConfig:
    path = RunDir(run_dir).config
    if not path.is_file():
        raise UserError(f"{run_dir} is not a run dir ({path.name} is missing).")
    try:
        saved = json.loads(path.read_text())
        # Fields added since the run started take their defaults.
        config = TrainConfig(
            **{f.name: saved[f.name] for f in fields(TrainConfig) if f.name in saved}
        )
        if "attention" not in saved:  # runs from before the designs had this one
            config.attention = LEGACY_ATTENTION
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise UserError(f"{path} is not a readable run config ({error}).") from error
    config.run_dir = run_dir
    config.stop_at = None
    for name in RESUME_OVERRIDES:
        value = getattr(overrides, name)
        if value is not None and value != getattr(TrainConfig, name, None):
            setattr(config, name, value)
    _validate(config)
    return config


def _best_score(evaluations_csv: Path) -> float:
    if not evaluations_csv.exists():
        return float("-inf")
    with evaluations_csv.open() as file:
        return max((float(row["mean"]) for row in csv.DictReader(file)), default=float("-inf"))


def run(config: TrainConfig) -> int:
    resuming = config.resume is not None
    config = _load_saved_config(config.resume, config) if resuming else _resolve(config)
    run_dir = RunDir(Path(config.run_dir))
    if not resuming and run_dir.latest.exists():
        raise UserError(
            f"{run_dir.root} already holds a run; continue it with "
            f"--resume {run_dir.root} or choose another --run-dir."
        )
    if config.threads:
        torch.set_num_threads(config.threads)
    run_dir.create()
    write_json_atomic(
        run_dir.config, {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
    )

    # Resumed runs play new games: the emulators' states are not in the checkpoint.
    env = make_vec_env(
        config.game,
        config.n_envs,
        protocol=config.protocol,
        seed=config.seed,
        training=True,
        num_threads=config.threads,
    )
    if resuming:
        model, meta = load_checkpoint(run_dir.latest, device=config.device)
        model.set_env(env)
        env.seed(config.seed + model.num_timesteps)
        model._last_obs = None  # start from the new games' first observations
        set_rng_state(meta["rng"])
    else:
        overrides = {
            k: getattr(config, k)
            for k in ("n_steps", "batch_size")
            if getattr(config, k) is not None and not (k == "batch_size" and config.algo != "ppo")
        }
        model = make_agent(
            env,
            algo=config.algo,
            policy=config.policy,
            backbone=config.backbone,
            attention=config.attention,
            map_size=config.map_size,
            heads=config.attention_heads,
            attention_coef=config.attention_coef,
            map_entropy_coef=config.map_entropy_coef,
            seed=config.seed,
            device=config.device,
            **overrides,
        )
    model.set_logger(configure(str(run_dir.tensorboard), ["tensorboard"]))

    def checkpoint(kind: str) -> None:
        path = run_dir.latest if kind == "latest" else run_dir.best
        save_checkpoint(model, path, game=config.game, protocol=config.protocol)

    def evaluate_now():
        return evaluate(
            model,
            config.game,
            episodes=config.eval_episodes,
            protocol=config.protocol,
            seed=10_000 + model.num_timesteps,
        )

    def illustrate() -> None:
        record_attention(model, config.game, config.protocol, run_dir, config.video_frames)

    monitor = TrainingMonitor(
        total_steps=config.total_steps,
        progress_csv=run_dir.progress,
        evaluations_csv=run_dir.evaluations,
        checkpoint=checkpoint,
        evaluate=evaluate_now if config.eval_every > 0 else None,
        checkpoint_every=config.checkpoint_every,
        eval_every=config.eval_every or 1,
        time_limit_s=None if config.time_limit_min is None else 60 * config.time_limit_min,
        stop_at=config.stop_at,
        best_score=_best_score(run_dir.evaluations),
        illustrate=illustrate if config.video_frames > 0 else None,
        show_progress=config.progress,
    )
    # learn() gets the whole schedule's remainder; the monitor stops at --stop-at.
    remaining = config.total_steps - model.num_timesteps
    if config.stop_at is not None and model.num_timesteps >= config.stop_at:
        remaining, monitor.stop_requested = 0, "step limit"
    started = time.time()
    interrupted = False
    if remaining > 0:
        try:
            model.learn(
                remaining, callback=monitor, reset_num_timesteps=not resuming, progress_bar=False
            )
        except KeyboardInterrupt:
            interrupted = True
    checkpoint("latest")
    env.close()
    reason = "interrupted" if interrupted else (monitor.stop_requested or "done")
    print(
        f"{reason}: {model.num_timesteps} steps ({time.time() - started:.0f} s this session); "
        f"checkpoint {run_dir.latest}",
        file=sys.stderr,
    )
    if reason != "done":
        print(f"continue with: abnrl train --resume {run_dir.root}", file=sys.stderr)
    return 130 if interrupted else 0
