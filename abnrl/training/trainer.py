"""Train an agent in a run dir: new or resumed, with logs, checkpoints, evaluations and
attention videos; stops cleanly on SIGTERM, Ctrl-C, a time limit or --stop-at."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat
from stable_baselines3.common.vec_env import VecEnv
from torch.utils.tensorboard import SummaryWriter

from abnrl.errors import UserError
from abnrl.training.attention_videos import AttentionVideos
from abnrl.training.checkpoints import load_checkpoint, save_checkpoint, set_rng_state
from abnrl.training.config import (
    ResolvedTrainConfig,
    TrainConfig,
    load_saved_config,
    resolve,
    run_attention_spec,
    saved_config,
)
from abnrl.training.evaluation import evaluate
from abnrl.training.monitor import TrainingMonitor, keep_rows_through, logged_time_s
from abnrl.training.run_dir import RunDir
from abnrl.training.segments import record_start
from abnrl.training.zoo import write_enjoy_files
from agents import make_agent
from agents.training import AttentionBranchTraining
from envs import make_vec_env
from vision.files import write_json_atomic


def _load_resumed_model(config: ResolvedTrainConfig, run_dir: RunDir) -> tuple[BaseAlgorithm, dict]:
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
        "attention_motion": model.policy.motion if abn else config.attention_motion,
    }
    for name, value in saved.items():
        if getattr(config, name) != value:
            raise UserError(
                f"{run_dir.config} says {name} {json.dumps(getattr(config, name))}, but the "
                f"run's checkpoint has {json.dumps(value)}: the two are not from one run."
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


def run(flags: TrainConfig) -> int:
    """Train as the flags say (a new run, or ``flags.resume``'s); returns the exit code."""
    resuming = flags.resume is not None
    config = load_saved_config(flags.resume, flags) if flags.resume else resolve(flags)
    run_dir = RunDir(config.run_dir)
    resumed = _load_resumed_model(config, run_dir) if resuming else None
    if not resuming and run_dir.latest.exists():
        raise UserError(
            f"{run_dir.root} already holds a run; continue it with "
            f"--resume {run_dir.root} or choose another --run-dir."
        )
    if not resuming and run_dir.is_foreign():
        raise UserError(
            f"{run_dir.root} holds files that abnrl did not write; choose a new or empty --run-dir."
        )
    if config.threads:
        torch.set_num_threads(config.threads)
    run_dir.create()
    print(f"{'resuming' if resuming else 'training'} in {run_dir.root}", flush=True)
    with run_dir.lock():
        run_dir.remove_stale_temporaries()
        step = resumed[0].num_timesteps if resumed else 0
        # A new run may start where an earlier start was killed before its first checkpoint.
        _forget_the_discarded_future(run_dir, step)
        trained_s = _trained_seconds(run_dir, step) if resumed else 0.0
        write_json_atomic(run_dir.config, saved_config(config))
        write_enjoy_files(
            run_dir.root,
            run_dir.latest,
            algo=config.algo,
            game=config.game,
            protocol=config.protocol,
        )
        return _train(config, run_dir, resumed, trained_s)


def _forget_the_discarded_future(run_dir: RunDir, step: int) -> None:
    """Drop the log rows written after the checkpoint a run resumes from."""
    for log in (run_dir.progress, run_dir.evaluations):
        try:
            keep_rows_through(log, step)
        except (ValueError, IndexError, csv.Error):
            raise UserError(f"{log} is malformed (a row without a step number).") from None


def _trained_seconds(run_dir: RunDir, step: int) -> float:
    try:
        return logged_time_s(run_dir.progress, step)
    except (KeyError, ValueError, TypeError, csv.Error):
        raise UserError(f"{run_dir.progress} is malformed (a row without a time).") from None


class _PurgingTensorBoard(TensorBoardOutputFormat):
    """SB3's TensorBoard output whose one writer purges the events logged after the run's
    starting step (a killed run's lost future), as the CSV logs are trimmed. SB3's own
    constructor would open a first writer, and with it an empty events file."""

    def __init__(self, folder: Path, start: int) -> None:
        self.writer = SummaryWriter(log_dir=str(folder), purge_step=start + 1)
        self._is_closed = False


def _tensorboard(folder: Path, start: int) -> Logger:
    """SB3's logger, writing TensorBoard events into ``folder`` from step ``start`` on."""
    return Logger(str(folder), [_PurgingTensorBoard(folder, start)])


LOSS_OPTIONS = ("attention_coef", "map_entropy_coef", "map_spread_coef", "map_terms_from")
"""The config's weights of the attention designs' loss terms, as ``make_agent`` takes them."""


def _agent(
    config: ResolvedTrainConfig, env: VecEnv, resumed: tuple[BaseAlgorithm, dict] | None
) -> BaseAlgorithm:
    """The agent to train on ``env``: the resumed one, on new games with its RNG states,
    or a new one as the config says."""
    if resumed is not None:
        model, meta = resumed
        model.set_env(env)
        env.seed(config.seed + model.num_timesteps)
        model._last_obs = None  # start from the new games' first observations
        set_rng_state(meta["rng"])
        return model
    overrides = {
        k: getattr(config, k)
        for k in ("n_steps", "batch_size")
        if getattr(config, k) is not None and not (k == "batch_size" and config.algo != "ppo")
    }
    return make_agent(
        env,
        algo=config.algo,
        policy=config.policy,
        backbone=config.backbone,
        attention=run_attention_spec(config),
        map_size=config.map_size,
        seed=config.seed,
        device=config.device,
        **{name: getattr(config, name) for name in LOSS_OPTIONS},
        **overrides,
    )


def _monitor(
    config: ResolvedTrainConfig,
    run_dir: RunDir,
    model: BaseAlgorithm,
    checkpoint: Callable[[str], None],
    trained_s: float,
) -> TrainingMonitor:
    """The callback that logs, checkpoints (``checkpoint("latest" or "best")``),
    evaluates and stops the run."""

    def evaluate_now():
        return evaluate(
            model,
            config.game,
            episodes=config.eval_episodes,
            protocol=config.protocol,
            seed=10_000 + model.num_timesteps,
        )

    return TrainingMonitor(
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
        trained_s=trained_s,
    )


def _train(
    config: ResolvedTrainConfig,
    run_dir: RunDir,
    resumed: tuple[BaseAlgorithm, dict] | None,
    trained_s: float,
) -> int:
    # Resumed runs play new games: the emulators' states are not in the checkpoint.
    env = make_vec_env(
        config.game,
        config.n_envs,
        protocol=config.protocol,
        seed=config.seed,
        training=True,
        num_threads=config.threads,
    )
    model = _agent(config, env, resumed)
    model.set_logger(_tensorboard(run_dir.tensorboard, model.num_timesteps))
    record_start(run_dir.segments, model.num_timesteps, model.device)

    def checkpoint(kind: str) -> None:
        path = run_dir.latest if kind == "latest" else run_dir.best
        save_checkpoint(model, path, game=config.game, protocol=config.protocol)

    monitor = _monitor(config, run_dir, model, checkpoint, trained_s)
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
