"""Sweeps on Ray: each trial one Ray task that runs ``abnrl train`` in its worker.

Plain Ray tasks, not Ray Tune: a trial's state is its run dir, which ``abnrl train`` already
checkpoints and resumes exactly, so what Ray adds is placement (CPUs and GPUs per trial,
any node of a cluster) and retries. A task whose worker dies (killed, out of memory, its
node gone) is run again by Ray, and the new attempt resumes the run dir's checkpoint; a
sweep started again after its driver died skips finished trials and resumes the others.
On a cluster every node needs abnrl installed and the sweep dir on a shared file system.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from abnrl.errors import UserError
from abnrl.sweeps.plan import Trial, saved_steps
from abnrl.training.run_dir import RunDir
from abnrl.training.trainer import run as train


@dataclass
class Outcome:
    """How a trial ended in this sweep: done, stopped (a signal), skipped or failed."""

    trial: Trial
    status: str
    steps: int | None
    detail: str = ""


def attempts_log(sweep_dir: Path, trial: Trial) -> Path:
    """One JSON line per start of the trial: where it ran and the step it started from."""
    return sweep_dir / "attempts" / f"{trial.name}.jsonl"


def run_trial(sweep_dir: str, trial: Trial, threads: int) -> dict:
    """A trial's attempt, in a Ray worker: a new run, or the resume of its checkpoint."""
    # Ray puts the driver's working folder on its workers' import path: a module kept
    # there (in a shared sweep folder) must never be importable by a trial.
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd(), sweep_dir)]
    root = Path(sweep_dir)
    run_dir = trial.run_dir(root)
    try:
        _wait_for_the_run(run_dir)
        start = saved_steps(run_dir)
        _log_attempt(root, trial, start or 0)
        if start is None:
            config = trial.train_config(root, threads)
        else:
            config = trial.resume_config(root, threads)
        exit_code = train(config)
        return {"exit_code": exit_code, "error": "", "steps": saved_steps(run_dir)}
    except UserError as error:
        return {"exit_code": 2, "error": str(error), "steps": None}


def _log_attempt(sweep_dir: Path, trial: Trial, from_step: int) -> None:
    import ray

    attempt = {
        "time": time.time(),
        "node": ray.get_runtime_context().get_node_id(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "from_step": from_step,
    }
    log = attempts_log(sweep_dir, trial)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as file:  # one short line per write: appends do not interleave
        file.write(json.dumps(attempt) + "\n")


def _wait_for_the_run(run_dir: RunDir, timeout_s: float = 120) -> None:
    """After a sweep's driver dies, Ray stops its workers within moments; a re-run's
    attempt waits for the old one to let go of the run dir rather than fail."""
    deadline = time.time() + timeout_s
    while run_dir.root.is_dir():
        try:
            with run_dir.lock():
                return
        except UserError:
            if time.time() > deadline:
                raise
            time.sleep(1)


def run_sweep(
    sweep_dir: Path,
    trials: list[Trial],
    *,
    address: str | None,
    cpus_per_trial: float,
    gpus_per_trial: float | None,
    max_retries: int,
    report: Callable[[Outcome], None],
) -> list[Outcome]:
    """Run the unfinished trials on Ray (a new local instance, or the cluster at
    ``address``); finished ones are skipped. ``report`` hears of each trial as it ends.

    Raises:
        UserError: Ray is not installed or the cluster cannot be reached.
    """
    ray = import_ray()
    outcomes, pending = [], []
    for trial in trials:
        try:
            steps = saved_steps(trial.run_dir(sweep_dir))
        except UserError as error:  # a damaged or crafted checkpoint: that trial fails
            outcomes.append(Outcome(trial, "failed", None, str(error)))
            report(outcomes[-1])
            continue
        if steps is not None and steps >= trial.target_steps(sweep_dir):
            outcomes.append(Outcome(trial, "skipped", steps, "finished before"))
            report(outcomes[-1])
        else:
            pending.append(trial)
    if not pending:
        return outcomes
    try:
        ray.init(address=address, include_dashboard=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise UserError(f"Ray could not start or reach a cluster at {address!r}: {error}") from None
    try:
        if gpus_per_trial is None:  # one GPU per trial where the cluster has GPUs
            gpus_per_trial = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
        _check_fits(ray, {"CPU": cpus_per_trial, "GPU": gpus_per_trial})
        task = ray.remote(run_trial)
        resources = {"num_cpus": cpus_per_trial, "num_gpus": gpus_per_trial}
        threads = max(1, int(cpus_per_trial))
        running = {
            task.options(name=trial.name, max_retries=max_retries, **resources).remote(
                str(sweep_dir), trial, threads
            ): trial
            for trial in pending
        }
        while running:
            [ready], _ = ray.wait(list(running), num_returns=1)
            outcomes.append(_outcome(ray, running.pop(ready), ready))
            report(outcomes[-1])
    finally:
        ray.shutdown()
    return outcomes


REACH_TIMEOUT_S = 10.0


def check_reachable(address: str | None) -> None:
    """Refuse, within ``REACH_TIMEOUT_S``, a cluster address nothing answers at (Ray itself
    retries a closed port for minutes).

    Raises:
        UserError: the address does not parse or nothing listens there.
    """
    if address in (None, "auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--address {address!r} is not host:port.")
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UserError(f"No Ray cluster answers at {address!r} ({reason}).") from None


def _check_fits(ray, needs: dict[str, float]) -> None:
    """Refuse a trial no node can hold (Ray would wait for such a node forever)."""
    nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]
    for resource, amount in needs.items():
        largest = max((node.get(resource, 0) for node in nodes), default=0)
        if amount > largest:
            flag = f"--{resource.lower()}s-per-trial"
            raise UserError(
                f"{flag} {amount:g}: no node of the cluster has that many {resource}s "
                f"(the largest has {largest:g})."
            )


def _outcome(ray, trial: Trial, ref) -> Outcome:
    try:
        result = ray.get(ref)
    except ray.exceptions.RayError as error:  # retries spent, or an error in the trial
        return Outcome(trial, "failed", None, type(error).__name__)
    if result["error"]:
        return Outcome(trial, "failed", result["steps"], result["error"])
    if result["exit_code"] != 0:
        return Outcome(trial, "stopped", result["steps"], f"exit code {result['exit_code']}")
    return Outcome(trial, "done", result["steps"])


def import_ray():
    """Ray, set up for trials; the settings reach the Ray instances started from here.

    Raises:
        UserError: Ray is not installed.
    """
    # Every trial's lines as they come: Ray would merge alike lines of different trials
    # ("repeated 2x across cluster") and colour their prefixes in log files.
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_COLOR_PREFIX", "0")
    # Ray runs its workers at nice 15, so on a machine with other work a trial ran about
    # 5x slower than the same `abnrl train` (docs/results/sweeps.md, "Many runs").
    os.environ.setdefault("RAY_worker_niceness", "0")
    try:
        import ray
    except ImportError:
        raise UserError(
            "abnrl sweep runs on Ray, which is not installed: pip install 'abnrl[sweep]'."
        ) from None
    return ray
