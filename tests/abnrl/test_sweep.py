"""``abnrl sweep`` on a real two-node Ray cluster made on this machine, with real trials."""

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from abnrl.errors import UserError
from abnrl.sweeps.plan import parse_grid, plan_trials, saved_steps
from abnrl.sweeps.runner import import_ray
from abnrl.training.run_dir import RunDir
from tests.abnrl.cli import abnrl, cli_process, stderr_at_exit
from tests.crafted_files import env_module, with_fields

ray = pytest.importorskip("ray", reason="the sweep extra: pip install -e '.[sweep]'")
from ray.cluster_utils import Cluster  # noqa: E402

# Trials of a few hundred agent steps: 2 games, 64 steps per rollout, a checkpoint each.
TINY = "n-envs=2 n-steps=32 batch-size=32 eval-every=0 video-frames=0 checkpoint-every=64"


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes of one CPU each, started as ``abnrl sweep`` starts Ray: once for all
    the sweeps below."""
    import_ray()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


def sweep(sweep_dir, cluster, *grid, seeds=(0,)):
    """``abnrl sweep`` on the cluster, started in the background."""
    args = ["sweep", sweep_dir, "--address", cluster.address, "--seeds", *seeds]
    return cli_process(*args, "--grid", *TINY.split(), "device=cpu", *grid)


def finish(process, timeout=300):
    stderr = stderr_at_exit(process, timeout)
    assert process.returncode == 0, stderr
    return stderr


def attempts(sweep_dir, name):
    path = Path(sweep_dir) / "attempts" / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(condition, what, timeout=240):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_two_trials_run_on_both_nodes_and_leave_run_dirs(cluster, tmp_path):
    stderr = finish(sweep(tmp_path, cluster, "total-steps=256", seeds=(0, 1)))
    assert "all 2 trials finished" in stderr
    nodes = {attempts(tmp_path, name)[0]["node"] for name in ("seed-0", "seed-1")}
    assert nodes == {node.node_id for node in cluster.list_all_nodes()}
    for seed in (0, 1):
        run_dir = RunDir(tmp_path / "trials" / f"seed-{seed}")
        config = json.loads(run_dir.config.read_text())
        assert (config["seed"], config["total_steps"], config["n_envs"]) == (seed, 256, 2)
        assert saved_steps(run_dir) == 256
        assert len(run_dir.progress.read_text().splitlines()) == 1 + 256 // 64


def test_a_killed_worker_is_retried_from_its_checkpoint(cluster, tmp_path):
    process = sweep(tmp_path, cluster, "total-steps=512")
    run_dir = RunDir(tmp_path / "trials" / "seed-0")
    wait_for(lambda: run_dir.latest.exists(), "the first checkpoint")
    worker = attempts(tmp_path, "seed-0")[0]["pid"]
    assert os.getpriority(os.PRIO_PROCESS, worker) == 0  # not Ray's nice 15
    os.kill(worker, signal.SIGKILL)
    finish(process)
    first, retry = attempts(tmp_path, "seed-0")
    assert first["from_step"] == 0 and retry["from_step"] > 0 and retry["from_step"] % 64 == 0
    assert retry["pid"] != first["pid"] and saved_steps(run_dir) == 512


def test_a_killed_sweep_run_again_skips_finished_trials(cluster, tmp_path):
    grid = "total-steps=256,1536"  # the long trial is still running when the short one ends
    short, long = "total-steps-256_seed-0", "total-steps-1536_seed-0"
    driver = sweep(tmp_path, cluster, grid)
    wait_for(lambda: saved_steps(RunDir(tmp_path / "trials" / short)) == 256, "the short trial")
    wait_for(lambda: RunDir(tmp_path / "trials" / long).latest.exists(), "a long checkpoint")
    driver.kill()
    driver.wait()
    stderr = finish(sweep(tmp_path, cluster, grid))
    assert f"{short}: skipped, 256 steps" in stderr and f"{long}: done, 1536 steps" in stderr
    assert len(attempts(tmp_path, short)) == 1
    assert [a["from_step"] > 0 for a in attempts(tmp_path, long)] == [False, True]


@pytest.mark.slow
def test_without_an_address_the_sweep_starts_ray_on_this_machine(tmp_path):
    abnrl("sweep", tmp_path, "--seeds", 3, "--grid", *TINY.split(), "total-steps=128")
    assert saved_steps(RunDir(tmp_path / "trials" / "seed-3")) == 128


def test_a_trial_larger_than_any_node_is_refused(cluster, tmp_path):
    result = abnrl("sweep", tmp_path, "--address", cluster.address, "--cpus-per-trial", 4,
                   "--grid", "total-steps=128", check=False)  # fmt: skip
    assert result.returncode == 2
    assert "--cpus-per-trial 4: no node of the cluster has that many CPUs" in result.stderr


def test_the_grid_is_every_combination_times_the_seeds():
    axes = parse_grid(["policy=abn,cnn", "total-steps=300000", "attention=softmax,mask"])
    trials = plan_trials(axes, [0, 1, 2])
    assert len(trials) == 12 and len({t.name for t in trials}) == 12
    assert trials[0].name == "policy-abn_attention-softmax_seed-0"
    assert {t.options["total-steps"] for t in trials} == {"300000"}


def test_a_retried_trial_keeps_its_stop_step(tmp_path):
    [trial] = plan_trials(parse_grid(["stop-at=300000", "n-envs=4"]), [5])
    config = trial.resume_config(tmp_path, threads=1)
    assert config.resume == tmp_path / "trials" / "seed-5"
    assert (config.stop_at, config.threads, config.progress) == (300_000, 1, False)
    assert trial.target_steps(tmp_path) == 300_000


@pytest.mark.parametrize(
    "grid, seeds, message",
    [
        (["policy"], [0], "write OPTION=VALUE"),
        (["colour=red"], [0], "has no option --colour"),
        (["seed=1,2"], [0], "set by --seeds"),
        (["policy=abn", "policy=cnn"], [0], "names policy twice"),
        (["policy=abn,"], [0], "a value is empty"),
        (["policy=abn,dqn"], [0], "'dqn'"),
        (["n-envs=two"], [0], "Error parsing --n-envs"),
        ([], [1, 1], "lists a seed twice"),
    ],
)
def test_a_bad_grid_is_one_sentence(grid, seeds, message):
    with pytest.raises(UserError, match=message):
        plan_trials(parse_grid(grid), seeds)


def test_without_ray_the_sweep_says_how_to_get_it(monkeypatch, tmp_path):
    from abnrl.sweeps.runner import run_sweep

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    [trial] = plan_trials(parse_grid(["total-steps=128"]), [0])
    with pytest.raises(UserError, match=r"pip install 'abnrl\[sweep\]'"):
        run_sweep(tmp_path, [trial], address=None, cpus_per_trial=1, gpus_per_trial=0,
                  max_retries=0, report=print)  # fmt: skip


def test_an_address_nothing_answers_at_is_refused_at_once_and_nothing_is_written(tmp_path):
    with socket.socket() as closed:  # a port that was free a moment ago
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    started = time.monotonic()
    result = abnrl("sweep", tmp_path / "sweep", "--address", f"127.0.0.1:{port}", check=False)
    assert result.returncode == 2 and "No Ray cluster answers" in result.stderr
    assert time.monotonic() - started < 30
    assert not (tmp_path / "sweep").exists()


def test_negative_seeds_are_refused_before_planning(tmp_path):
    result = abnrl("sweep", tmp_path / "sweep", "--seeds", "-1", check=False)
    assert result.returncode == 2 and "--seeds" in result.stderr
    assert not (tmp_path / "sweep").exists()


def test_a_trial_cannot_import_modules_from_the_sweep_folder(tmp_path, monkeypatch):
    from abnrl.sweeps import runner

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", ["", str(tmp_path), *sys.path])
    monkeypatch.setattr(runner, "_wait_for_the_run", lambda run_dir: None)
    monkeypatch.setattr(runner, "_log_attempt", lambda *args: None)
    monkeypatch.setattr(runner, "train", lambda config: 0)
    [trial] = plan_trials(parse_grid(["total-steps=128"]), [0])
    runner.run_trial(str(tmp_path), trial, threads=1)
    assert "" not in sys.path and str(tmp_path) not in sys.path


@pytest.mark.parametrize("damage", ["truncated", "env id"])
def test_a_damaged_trial_checkpoint_fails_that_trial_in_one_sentence(
    tmp_path, trained_run, monkeypatch, damage
):
    sweep_dir = tmp_path / "sweep"
    [trial] = plan_trials(parse_grid(["total-steps=128"]), [0])
    latest = trial.run_dir(sweep_dir).latest
    latest.parent.mkdir(parents=True)
    marker = tmp_path / "ran"
    if damage == "truncated":
        latest.write_bytes(b"PK\x03\x04 cut short")
    else:  # a module kept in the sweep folder, named by the checkpoint, run from there
        env_id = env_module(sweep_dir, marker)
        with_fields(trained_run / "checkpoints" / "latest.zip", latest, {"env": env_id})
        monkeypatch.chdir(sweep_dir)
        monkeypatch.syspath_prepend(str(sweep_dir))
    result = abnrl("sweep", sweep_dir, "--grid", "total-steps=128", "--seeds", "0", check=False)
    assert not marker.exists()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{trial.name}: failed" in result.stderr and "not a readable checkpoint" in result.stderr
    assert "1 of 1 trials failed" in result.stderr
