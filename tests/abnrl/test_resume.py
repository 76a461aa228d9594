"""Interrupted and resumed training runs: nothing lost beyond one checkpoint interval,
nothing counted twice, nothing left behind, and the same result from the same checkpoint."""

import csv
import json
import random
import re
import shutil
import signal
import time
import zipfile

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from abnrl.pretrained import slim_run_dir
from abnrl.training.run_dir import RunDir
from agents.safe_loading import read_data
from tests.abnrl.cli import TINY, abnrl, cli_process, stderr_at_exit
from vision.files import TEMPORARY_NAME

ROLLOUT = 2 * 16  # TINY: 2 envs x 16 steps
EPOCHS = 4  # the RL Zoo's PPO epochs per update


def saved_counts(run_dir):
    """(agent steps, PPO epochs run) of the run's latest checkpoint."""
    plain, _ = read_data(run_dir / "checkpoints" / "latest.zip")
    return plain["num_timesteps"], plain["_n_updates"]


def logged_steps(run_dir):
    lines = (run_dir / "progress.csv").read_text().splitlines()[1:]
    return [int(line.split(",")[0]) for line in lines]


def logged_times(run_dir):
    lines = (run_dir / "progress.csv").read_text().splitlines()[1:]
    return [float(line.split(",")[1]) for line in lines]


def policy_weights(run_dir):
    with zipfile.ZipFile(run_dir / "checkpoints" / "latest.zip") as archive:
        with archive.open("policy.pth") as file:
            return torch.load(file, weights_only=True)


def temporaries(run_dir):
    return [p for p in run_dir.rglob(".*") if TEMPORARY_NAME.match(p.name)]


def check_consistent(run_dir):
    steps, epochs = saved_counts(run_dir)
    assert steps % ROLLOUT == 0 and epochs == EPOCHS * steps // ROLLOUT, (steps, epochs)
    logged = logged_steps(run_dir)
    assert logged == sorted(set(logged)), "one row per step, none from a discarded timeline"
    assert not temporaries(run_dir)
    return steps


def test_resumes_update_once_per_rollout_and_repeat_exactly(tmp_path):
    first = tmp_path / "first"
    abnrl("train", "--run-dir", first, "--total-steps", 100_000, "--stop-at", 64, *TINY)
    assert check_consistent(first) == 64
    second = tmp_path / "second"
    shutil.copytree(first, second)
    for run_dir in (first, second):
        result = abnrl("train", "--resume", run_dir, "--stop-at", 128)
        assert "step limit: 128 steps" in result.stderr
        assert check_consistent(run_dir) == 128
        times = logged_times(run_dir)
        assert times == sorted(times) and times[-1] > times[1], "time counts on across resumes"
    a, b = policy_weights(first), policy_weights(second)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with (first / "segments.csv").open(newline="") as file:
        starts = list(csv.DictReader(file))
    assert [int(row["step"]) for row in starts] == [0, 64]  # the start and the resume
    assert all(row["device"] == "cpu" and row["threads"] == "1" for row in starts)
    assert all(row["machine"].endswith("cores)") and row["torch"] for row in starts)


def test_a_resume_forgets_what_was_logged_after_its_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    latest = run_dir / "checkpoints" / "latest.zip"
    abnrl("train", "--run-dir", run_dir, "--total-steps", 100_000, "--stop-at", 64, *TINY)
    at_64 = latest.read_bytes()
    abnrl("train", "--resume", run_dir, "--stop-at", 128)
    latest.write_bytes(at_64)  # as if killed before the checkpoints after 64 were written
    abnrl("train", "--resume", run_dir, "--stop-at", 96)
    assert logged_steps(run_dir) == [32, 64, 96]
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    steps = [event.step for event in events.Scalars("time/fps")]
    assert steps == sorted(set(steps)) and max(steps) <= 96


def test_a_torn_last_log_row_is_dropped_on_resume_with_a_warning(tmp_path):
    run_dir = tmp_path / "run"
    abnrl("train", "--run-dir", run_dir, "--total-steps", 100_000, "--stop-at", 64, *TINY)
    progress = run_dir / "progress.csv"
    whole = progress.read_text()
    progress.write_text(whole + whole.splitlines()[-1][:7])  # a power loss mid-row
    result = abnrl("train", "--resume", run_dir, "--stop-at", 96)
    assert "torn row" in result.stderr and "progress.csv" in result.stderr
    assert logged_steps(run_dir) == [32, 64, 96]


def test_a_start_killed_before_its_first_checkpoint_is_started_over_cleanly(tmp_path):
    run_dir = tmp_path / "run"
    start = ("train", "--run-dir", run_dir, "--total-steps", 100_000, *TINY)
    abnrl(*start, "--stop-at", 64)
    (run_dir / "checkpoints" / "latest.zip").unlink()  # as if killed before it was written
    abnrl(*start, "--stop-at", 32)
    assert logged_steps(run_dir) == [32]
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    assert max(event.step for event in events.Scalars("time/fps")) <= 32


def test_sigterm_saves_after_the_update_and_exits_143(tmp_path):
    run_dir = tmp_path / "run"
    process = cli_process(
        "train",
        "--run-dir",
        run_dir,
        "--total-steps",
        1_000_000,
        "--checkpoint-every",
        10**6,
        *TINY,
    )
    deadline = time.time() + 240
    while not (run_dir / "progress.csv").exists() or len(logged_steps(run_dir)) < 2:
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    stderr = stderr_at_exit(process, 120)
    assert process.returncode == 143, stderr
    assert "SIGTERM" in stderr and "--resume" in stderr
    assert check_consistent(run_dir) >= 2 * ROLLOUT


def test_a_resume_takes_the_flags_given_even_at_their_defaults(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)  # saved with --device cpu --threads 1 --no-progress
    abnrl("train", "--resume", run, "--device", "auto", "--threads", 0)
    config = json.loads((run / "config.json").read_text())
    assert (config["device"], config["threads"], config["progress"]) == ("auto", 0, True)
    abnrl("train", "--resume", run, "--no-progress")
    config = json.loads((run / "config.json").read_text())
    assert (config["device"], config["threads"], config["progress"]) == ("auto", 0, False)


def test_a_second_trainer_of_one_run_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    abnrl("train", "--run-dir", run_dir, "--total-steps", 100_000, "--stop-at", 32, *TINY)
    process = cli_process("train", "--resume", run_dir, "--total-steps", 1_000_000)
    deadline = time.time() + 240
    while len(logged_steps(run_dir)) < 2:  # the first trainer holds the run
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.2)
    second = abnrl("train", "--resume", run_dir, check=False)
    process.send_signal(signal.SIGTERM)
    stderr_at_exit(process, 120)
    assert second.returncode == 2 and "Another process is training" in second.stderr
    check_consistent(run_dir)


@pytest.mark.slow
def test_ten_sigkills_each_followed_by_a_resume(tmp_path):
    """Kills at random moments, every other one while a checkpoint is being written; ``-s``
    prints each kill's outcome."""
    run_dir = tmp_path / "run"
    rng = random.Random(0)
    every = 2 * ROLLOUT
    print("\n| kill | moment | steps logged | steps in checkpoint | lost |\n|---|---|---|---|---|")
    start = ["--run-dir", run_dir, "--total-steps", 1_000_000, "--checkpoint-every", every, *TINY]
    for kill in range(10):
        resuming = (run_dir / "checkpoints" / "latest.zip").exists()
        process = cli_process("train", *(["--resume", run_dir] if resuming else start))
        started = time.time()
        wait = rng.uniform(8, 25)
        while time.time() - started < wait or (kill % 2 and not _writing(run_dir)):
            assert process.poll() is None, process.stderr.read()
            assert time.time() - started < 300
            time.sleep(0.001 if kill % 2 else 0.05)
        reached = max(logged_steps(run_dir), default=0)
        process.send_signal(signal.SIGKILL)
        process.wait()
        steps = saved_counts(run_dir)[0] if (run_dir / "checkpoints" / "latest.zip").exists() else 0
        moment = "checkpoint write" if kill % 2 else "random"
        print(f"| {kill + 1} | {moment} | {reached} | {steps} | {reached - steps} |")
        assert reached - steps <= every + ROLLOUT, f"kill {kill} lost {reached - steps} steps"
    result = abnrl("train", "--resume", run_dir, "--stop-at", saved_counts(run_dir)[0] + ROLLOUT)
    assert "step limit" in result.stderr
    check_consistent(run_dir)


def _writing(run_dir):
    folder = run_dir / "checkpoints"
    return folder.exists() and any(re.match(r"\.latest\.zip\.", p.name) for p in folder.iterdir())


def test_a_slim_copy_of_a_run_dir_resumes_where_the_run_stood(tmp_path):
    run_dir, landed = tmp_path / "run", tmp_path / "landed"
    abnrl("train", "--run-dir", run_dir, "--total-steps", 100_000, "--stop-at", 64, *TINY)
    slim_run_dir(run_dir, landed)
    assert sorted(p.name for p in landed.iterdir()) == [
        "checkpoints",
        "config.json",
        "progress.csv",
        "segments.csv",
    ]
    assert logged_steps(landed) == logged_steps(run_dir)
    assert all(
        w.dtype == torch.float16 for w in policy_weights(landed).values() if w.is_floating_point()
    )
    abnrl("train", "--resume", landed, "--stop-at", 128)
    assert check_consistent(landed) == 128
    assert logged_steps(landed)[0] == logged_steps(run_dir)[0], "the curve carries on"


def test_a_slim_stock_checkpoint_stores_its_shared_extractor_once(cnn_run, tmp_path):
    slim_run_dir(cnn_run, tmp_path / "landed")
    sizes = [
        zipfile.ZipFile(run / "checkpoints" / "latest.zip").getinfo("policy.pth").file_size
        for run in (cnn_run, tmp_path / "landed")
    ]
    assert sizes[1] < 0.55 * sizes[0], sizes  # half precision, the aliases kept aliases


def test_a_stock_run_records_no_attention_options_and_resumes(cnn_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(cnn_run, run_dir)
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["policy"] == "cnn"
    assert not {"attention", "attention_heads", "attention_motion", "map_size"} & set(saved)
    abnrl("train", "--resume", run_dir, "--total-steps", 128)
    assert check_consistent(run_dir) == 128
    resumed = json.loads((run_dir / "config.json").read_text())
    assert resumed.keys() == saved.keys() and resumed["total_steps"] == 128


def test_a_branched_run_dir_resumes_and_slims_with_its_branch_record(tmp_path):
    # Runs branched by experiments/branch_run.py carry branches.json: abnrl's own file.
    run = tmp_path / "branched"
    abnrl("train", "--run-dir", run, "--total-steps", 100_000, "--stop-at", 32, *TINY)
    record = [{"step": 32, "from": "runs/x", "changes": {"map_entropy_coef": 0.05}}]
    (run / "branches.json").write_text(json.dumps(record))
    landed = tmp_path / "landed"
    slim_run_dir(run, landed)
    abnrl("train", "--resume", landed, "--stop-at", 64)
    assert json.loads((landed / "branches.json").read_text()) == record
    assert RunDir(landed).read_branches() == record
