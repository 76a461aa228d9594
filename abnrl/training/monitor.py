"""The training loop's companion: progress bar, CSV log, evaluations, checkpoints, stopping."""

from __future__ import annotations

import csv
import io
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from abnrl.training.clock import ActiveClock
from abnrl.training.evaluation import EvalResult
from vision.files import write_atomic

# Logged by the algorithms' train(): read back at the end of the next rollout.
TRAIN_KEYS = (
    "value_loss",
    "entropy_loss",
    "attention_loss",
    "map_entropy",
    "map_spread",
    "approx_kl",
    "clip_fraction",
    "explained_variance",
    "learning_rate",
)
PROGRESS_COLUMNS = (
    "step",
    "time_s",
    "steps_per_s",
    "games",
    "score_mean",
    "score_max",
    "length_mean",
    "policy_loss",
    *TRAIN_KEYS,
)
EVAL_COLUMNS = ("step", "time_s", "episodes", "mean", "std", "median", "min", "max", "length_mean")


def append_row(path: Path, columns: tuple[str, ...], row: dict) -> None:
    """Append ``row`` to a CSV file, writing the header first if the file is new.

    An existing file keeps its own columns (a run started before a column was added)."""
    new = not path.exists()
    if not new:
        with path.open(newline="") as file:
            columns = tuple(next(csv.reader(file), columns))
    with path.open("a", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)


class TrainingMonitor(BaseCallback):
    """Reports, evaluates and checkpoints a run; stops it on SIGTERM, Ctrl-C, its time limit
    or its step limit, at the end of an update (a second Ctrl-C raises KeyboardInterrupt).

    Args:
        total_steps: the run's target step count (for the progress bar).
        progress_csv: where rollout metrics are appended.
        evaluations_csv: where evaluation summaries are appended.
        checkpoint: ``checkpoint(kind)`` saves the model; kind is ``"latest"`` or ``"best"``.
        evaluate: ``evaluate()`` plays evaluation games, or None for no evaluations.
        checkpoint_every: agent steps between checkpoints.
        eval_every: agent steps between evaluations.
        time_limit_s: stop after this many seconds (None: no limit).
        stop_at: stop at this many agent steps, before ``total_steps`` (None: no limit).
        best_score: the best evaluation mean of the run so far.
        show_progress: draw a progress bar.
        trained_s: seconds the run trained before this session (the logs' ``time_s``
            counts on from it, leaving out the time the process spent stopped).
    """

    def __init__(
        self,
        *,
        total_steps: int,
        progress_csv: Path,
        evaluations_csv: Path,
        checkpoint: Callable[[str], None],
        evaluate: Callable[[], EvalResult] | None,
        checkpoint_every: int,
        eval_every: int,
        time_limit_s: float | None = None,
        stop_at: int | None = None,
        best_score: float = -np.inf,
        show_progress: bool = True,
        trained_s: float = 0.0,
    ) -> None:
        super().__init__()
        self.total_steps = total_steps
        self.progress_csv = progress_csv
        self.evaluations_csv = evaluations_csv
        self.checkpoint = checkpoint
        self.evaluate = evaluate
        self.checkpoint_every = checkpoint_every
        self.eval_every = eval_every
        self.time_limit_s = time_limit_s
        self.stop_at = stop_at
        self.best_score = best_score
        self.show_progress = show_progress
        self.trained_s = trained_s
        self.stop_requested: str | None = None
        self.evaluations = 0
        """Evaluations run so far in this session (callbacks after this one watch it)."""

    def _on_training_start(self) -> None:
        self.clock = ActiveClock().start()
        self.last_time = 0.0
        self.last_steps = self.rollout_start_steps = self.num_timesteps
        # Multiples of the intervals, so that a run resumed often still evaluates.
        self.next_checkpoint = next_multiple(self.num_timesteps, self.checkpoint_every)
        self.next_eval = next_multiple(self.num_timesteps, self.eval_every)
        self.bar = tqdm(
            total=self.total_steps,
            initial=self.num_timesteps,
            unit="step",
            disable=not self.show_progress,
            dynamic_ncols=True,
            # The speed is the postfix's, timed by the run's own clock (tqdm's would count
            # evaluations and time stopped, and show a second, different figure).
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
        )
        self._previous_handlers = {
            signum: signal.signal(signum, self._request_stop)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }

    def _request_stop(self, signum: int, frame: object) -> None:
        if signum == signal.SIGINT and self.stop_requested == "SIGINT":
            raise KeyboardInterrupt  # a second Ctrl-C quits without saving
        self.stop_requested = signal.Signals(signum).name

    def _on_rollout_start(self) -> None:
        # The update on the last rollout is done: only here is the model whole (every step
        # it counts trained on), so checkpoints, evaluations and stops happen here.
        self.rollout_start_steps = self.num_timesteps
        if self.time_limit_s is not None and self.clock.elapsed() > self.time_limit_s:
            self.stop_requested = self.stop_requested or "time limit"
        if self.stop_at is not None and self.num_timesteps >= self.stop_at:
            self.stop_requested = self.stop_requested or "step limit"
        self._evaluate_if_due()
        if self.num_timesteps >= self.next_checkpoint:
            self.next_checkpoint = next_multiple(self.num_timesteps, self.checkpoint_every)
            self.checkpoint("latest")

    def _on_step(self) -> bool:
        self.bar.update(self.num_timesteps - self.bar.n)
        if self.stop_requested is None:
            return True
        # SB3 drops the rollout under way; the step that noticed the stop is not counted
        # either, so the saved model has trained on every step it counts.
        self.model.num_timesteps = self.rollout_start_steps
        return False

    def _on_rollout_end(self) -> None:
        now = self.clock.elapsed()
        steps_per_s = (self.num_timesteps - self.last_steps) / max(now - self.last_time, 1e-9)
        self.last_time, self.last_steps = now, self.num_timesteps
        games = list(self.model.ep_info_buffer or ())
        scores = [g["r"] for g in games]
        train = self.model.logger.name_to_value
        row = {
            "step": self.num_timesteps,
            "time_s": self._run_time_s(now),
            "steps_per_s": round(steps_per_s, 1),
            "games": len(games),
            "score_mean": np.mean(scores) if scores else "",
            "score_max": np.max(scores) if scores else "",
            "length_mean": np.mean([g["l"] for g in games]) if games else "",
            "policy_loss": train.get("train/policy_gradient_loss", train.get("train/policy_loss")),
            **{key: train.get(f"train/{key}") for key in TRAIN_KEYS},
        }
        append_row(self.progress_csv, PROGRESS_COLUMNS, row)
        score = f"{np.mean(scores):.1f}" if scores else "-"
        self.bar.set_postfix_str(f"{steps_per_s:.0f} steps/s, score {score}")

    def _run_time_s(self, elapsed: float) -> float:
        """The run's training time: earlier sessions' and ``elapsed`` of this one."""
        return round(self.trained_s + elapsed, 1)

    def _evaluate_if_due(self) -> None:
        if self.evaluate is not None and self.num_timesteps >= self.next_eval:
            self.next_eval = next_multiple(self.num_timesteps, self.eval_every)
            self._run_evaluation(self.evaluate)

    def _run_evaluation(self, evaluate: Callable[[], EvalResult]) -> None:
        result = evaluate()
        self.evaluations += 1
        summary = result.summary()
        append_row(
            self.evaluations_csv,
            EVAL_COLUMNS,
            {
                "step": self.num_timesteps,
                "time_s": self._run_time_s(self.clock.elapsed()),
                **summary,
            },
        )
        self.logger.record("eval/mean_score", summary["mean"])
        self.logger.record("eval/std_score", summary["std"])
        self.bar.write(
            f"step {self.num_timesteps}: eval {summary['mean']:.1f} +- {summary['std']:.1f} "
            f"over {summary['episodes']} games"
        )
        if summary["mean"] > self.best_score:
            self.best_score = summary["mean"]
            self.checkpoint("best")

    def _on_training_end(self) -> None:
        if self.stop_requested is None:  # learn() ran to its end, after an update
            self._evaluate_if_due()
        self.bar.close()
        self.clock.stop()
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)


def keep_rows_through(path: Path, step: int) -> None:
    """Drop the rows of a CSV log after ``step`` (a resumed run's discarded future), and a
    torn last row (one without its line end: a write cut short by a power loss), which is
    reported on stderr."""
    if not path.exists():
        return
    text = path.read_text()
    torn = bool(text) and not text.endswith("\n")
    rows = list(csv.reader(io.StringIO(text)))
    if torn:
        rows.pop()
        print(
            f"abnrl: {path} ended in a torn row (a write cut short); it was dropped.",
            file=sys.stderr,
        )
    if not rows:
        return
    column = rows[0].index("step")
    kept = [rows[0]] + [row for row in rows[1:] if int(row[column]) <= step]
    if torn or len(kept) < len(rows):
        write_atomic(path, lambda tmp: _write_rows(tmp, kept), suffix=".csv")


def logged_time_s(path: Path, step: int) -> float:
    """Seconds of training a progress log covers up to ``step``. Logs written before
    ``time_s`` counted across resumes restart it at each resume: each restart adds its own
    segment."""
    if not path.exists():
        return 0.0
    with path.open(newline="") as file:
        times = [float(row["time_s"]) for row in csv.DictReader(file) if int(row["step"]) <= step]
    total, previous = 0.0, 0.0
    for time_s in times:
        total += time_s - previous if time_s >= previous else time_s
        previous = time_s
    return total


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as file:
        csv.writer(file).writerows(rows)


def next_multiple(steps: int, every: int) -> int:
    """The first multiple of ``every`` above ``steps``."""
    return (steps // every + 1) * every
