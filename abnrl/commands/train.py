"""``abnrl train``: train an agent on an Atari game, resumable, with logs and evaluations."""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat
from torch.utils.tensorboard import SummaryWriter

from abnrl.checkpoints import load_checkpoint, save_checkpoint, set_rng_state
from abnrl.errors import UserError
from abnrl.evaluation import evaluate
from abnrl.illustrations import AttentionVideos
from abnrl.monitor import TrainingMonitor, keep_rows_through
from abnrl.run_dir import RunDir
from abnrl.validation import (
    DeviceName,
    check_at_least,
    check_choice,
    check_device,
    typed_config,
)
from agents import ALGORITHMS, N_ENVS, POLICIES, make_agent
from agents.attention import (
    ATTENTIONS,
    DEFAULT_ATTENTION,
    DEFAULT_HEADS,
    LEGACY_ATTENTION,
    AttentionName,
)
from agents.backbones import BACKBONES, MAP_SIZES, BackboneName
from agents.factory import AlgorithmName, PolicyName
from agents.training import AttentionBranchTraining
from envs import PROTOCOLS, make_vec_env, normalize_game
from envs.games import ProtocolName
from vision.files import remove_stale_temporaries, write_json_atomic

DEFAULT_TOTAL_STEPS = 10_000_000


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
    attention: AttentionName = DEFAULT_ATTENTION
    """Attention design (ABN only): softmax (spatial-softmax heads that pool the features:
    the policy sees only what they weight), abn (Fukui et al.'s branch, 3x3 map conv),
    abn-groupnorm (the branch with GroupNorm on its map, as the shipped agent) or mask
    (Mask-Attention A3C's sigmoid masks)."""
    map_size: int | None = None
    """Side of the attention map (ABN only): 9 (after conv2) or 20 (after conv1) for the
    Nature CNN, 21 for IMPALA; the backbone's first when not given."""
    attention_heads: int = DEFAULT_HEADS
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


# Fields a --resume may change; all others come from the run's saved config.
RESUME_OVERRIDES = ("total_steps", "device", "time_limit_min", "stop_at", "threads", "progress")


# Smallest value of each numeric flag (None: not given).
MINIMUMS = {
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
}


def _validate(config: TrainConfig) -> None:
    choices = {
        "algo": ALGORITHMS,
        "policy": POLICIES,
        "backbone": tuple(BACKBONES),
        "attention": ATTENTIONS,
        "protocol": tuple(PROTOCOLS),
    }
    for name, allowed in choices.items():
        check_choice(name, getattr(config, name), allowed)
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


def resolve(config: TrainConfig) -> TrainConfig:
    """The full config of a new run: every default filled in."""
    config = replace(config, device=config.device or "auto", threads=config.threads or 0)
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
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{path} is not a readable run config (not JSON).") from None
    if not isinstance(saved, dict):
        raise UserError(f"{path} is not a readable run config (not a JSON object).")
    # Fields added since the run started take their defaults.
    config = typed_config(TrainConfig, saved, path)
    if "attention" not in saved:  # runs from before the designs had this one
        config.attention = LEGACY_ATTENTION
    config.run_dir = run_dir
    config.stop_at = None
    for name in RESUME_OVERRIDES:
        value = getattr(overrides, name)
        if value is not None:  # given (progress, a display choice, always is)
            setattr(config, name, value)
    _validate(config)
    return config


def _load_resumed_model(config: TrainConfig, run_dir: RunDir) -> tuple[BaseAlgorithm, dict]:
    """The run's latest checkpoint, checked against its config.

    Raises:
        UserError: no checkpoint, an unreadable one, or one that is not this config's agent.
    """
    if not run_dir.latest.is_file():
        raise UserError(f"The run dir {run_dir.root} has no checkpoint ({run_dir.latest}).")
    model, meta = load_checkpoint(run_dir.latest, device=config.device)
    abn = isinstance(model, AttentionBranchTraining)
    saved = {
        "game": meta["game"],
        "protocol": meta["protocol"],
        "algo": "ppo" if isinstance(model, PPO) else "a2c",
        "policy": "abn" if abn else "cnn",
        "n_envs": model.n_envs,
        "attention": model.policy.attention if abn else config.attention,
    }
    for name, value in saved.items():
        if getattr(config, name) != value:
            raise UserError(
                f"{run_dir.config} says {name} {getattr(config, name)!r}, but the run's "
                f"checkpoint has {value!r}: the two are not from one run."
            )
    return model, meta


def _best_score(evaluations_csv: Path) -> float:
    if not evaluations_csv.exists():
        return float("-inf")
    try:
        with evaluations_csv.open(newline="") as file:
            means = [float(row["mean"]) for row in csv.DictReader(file)]
    except (KeyError, ValueError, TypeError, csv.Error):
        raise UserError(f"{evaluations_csv} is malformed (a row without a mean score).") from None
    return max(means, default=float("-inf"))


# Exit codes of a run stopped by a signal: 128 + the signal's number, as shells report.
SIGNAL_EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


def run(config: TrainConfig) -> int:
    resuming = config.resume is not None
    config = _load_saved_config(config.resume, config) if resuming else resolve(config)
    run_dir = RunDir(Path(config.run_dir))
    resumed = _load_resumed_model(config, run_dir) if resuming else None
    if not resuming and run_dir.latest.exists():
        raise UserError(
            f"{run_dir.root} already holds a run; continue it with "
            f"--resume {run_dir.root} or choose another --run-dir."
        )
    if config.threads:
        torch.set_num_threads(config.threads)
    run_dir.create()
    with run_dir.lock():
        remove_stale_temporaries(run_dir.root)
        if resumed is not None:
            _forget_the_discarded_future(run_dir, resumed[0].num_timesteps)
        write_json_atomic(
            run_dir.config,
            {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        )
        return _train(config, run_dir, resumed)


def _forget_the_discarded_future(run_dir: RunDir, step: int) -> None:
    """Drop the log rows written after the checkpoint a run resumes from."""
    for log in (run_dir.progress, run_dir.evaluations):
        try:
            keep_rows_through(log, step)
        except (ValueError, IndexError, csv.Error):
            raise UserError(f"{log} is malformed (a row without a step number).") from None


def _tensorboard(folder: Path, resumed_at: int | None) -> Logger:
    """SB3's TensorBoard logger. A resumed run's writer purges the events logged after its
    checkpoint (a killed run's lost future), as the CSV logs are trimmed."""
    output = TensorBoardOutputFormat(str(folder))
    if resumed_at is not None:
        output.writer.close()
        output.writer = SummaryWriter(log_dir=str(folder), purge_step=resumed_at + 1)
    return Logger(str(folder), [output])


def _train(config: TrainConfig, run_dir: RunDir, resumed: tuple[BaseAlgorithm, dict] | None) -> int:
    # Resumed runs play new games: the emulators' states are not in the checkpoint.
    env = make_vec_env(
        config.game,
        config.n_envs,
        protocol=config.protocol,
        seed=config.seed,
        training=True,
        num_threads=config.threads,
    )
    if resumed is not None:
        model, meta = resumed
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
    model.set_logger(_tensorboard(run_dir.tensorboard, model.num_timesteps if resumed else None))

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
        show_progress=config.progress,
    )
    callbacks: list[BaseCallback] = [monitor]
    if config.video_frames > 0:
        videos = AttentionVideos(
            monitor,
            game=config.game,
            protocol=config.protocol,
            run_dir=run_dir,
            frames=config.video_frames,
        )
        callbacks.append(videos)
    # learn() gets the whole schedule's remainder; the monitor stops at --stop-at.
    remaining = config.total_steps - model.num_timesteps
    if config.stop_at is not None and model.num_timesteps >= config.stop_at:
        remaining, monitor.stop_requested = 0, "step limit"
    started = time.time()
    if remaining > 0:
        try:
            model.learn(
                remaining,
                callback=CallbackList(callbacks),
                reset_num_timesteps=resumed is None,
                progress_bar=False,
            )
        except KeyboardInterrupt:
            # A second Ctrl-C, perhaps mid-update: the model may be half updated.
            env.close()
            print(f"interrupted: not saved; {run_dir.latest} stands.", file=sys.stderr)
            return SIGNAL_EXIT_CODES["SIGINT"]
    checkpoint("latest")
    env.close()
    reason = monitor.stop_requested or "done"
    print(
        f"{reason}: {model.num_timesteps} steps ({time.time() - started:.0f} s this session); "
        f"checkpoint {run_dir.latest}",
        file=sys.stderr,
    )
    if reason != "done":
        print(f"continue with: abnrl train --resume {run_dir.root}", file=sys.stderr)
    return SIGNAL_EXIT_CODES.get(reason, 0)
