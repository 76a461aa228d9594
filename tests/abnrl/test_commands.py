"""``abnrl train / eval / watch`` end to end on tiny budgets, and their error answers."""

import json

import cv2
import pytest
import torch
from stable_baselines3.common.save_util import load_from_zip_file
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from abnrl.errors import UserError
from abnrl.training.checkpoints import load_checkpoint, save_checkpoint
from agents import make_agent
from envs import make_vec_env
from tests.abnrl.cli import TINY, abnrl


def steps_in(checkpoint):
    data, _, _ = load_from_zip_file(checkpoint, device="cpu")
    return data["num_timesteps"]


def test_train_writes_a_resumable_run(trained_run):
    assert steps_in(trained_run / "checkpoints" / "latest.zip") >= 128
    config = json.loads((trained_run / "config.json").read_text())
    assert config["policy"] == "abn" and config["n_envs"] == 2
    rows = (trained_run / "progress.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and len(rows) > 2


def test_eval_prints_a_table_and_writes_json(trained_run, tmp_path):
    out = tmp_path / "eval.json"
    result = abnrl(
        "eval", trained_run, "--episodes", 2, "--n-envs", 2, "--device", "cpu", "--out", out
    )
    assert "| games | mean |" in result.stdout
    summary = json.loads(out.read_text())["summary"]
    assert summary["episodes"] == 2 and summary["min"] <= summary["mean"] <= summary["max"]
    scores = json.loads(out.read_text())["scores"]
    # standard error from the sample standard deviation: |a - b| / 2 for two games
    assert summary["se"] == pytest.approx(abs(scores[0] - scores[1]) / 2)
    # Breakout's five lives: four lost before the last, at scores that only rise
    lives_lost_at = json.loads(out.read_text())["lives_lost_at"]
    for game_score, lost_at in zip(scores, lives_lost_at, strict=True):
        assert len(lost_at) == 4 and lost_at == sorted(lost_at) and lost_at[-1] <= game_score
    assert "lives lost before the last: 8, at a game score of" in result.stdout


def test_watch_writes_a_playable_mp4(trained_run, tmp_path):
    out = tmp_path / "watch.mp4"
    abnrl(
        "watch",
        trained_run,
        "--max-frames",
        120,
        "--fps",
        30,
        "--out",
        out,
        "--device",
        "cpu",
        "--side-by-side",
        "gradcam",
    )
    video = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, frame = video.read()
        if not ok:
            break
        frames.append(frame)
    # 120 emulator frames at 30 fps keep every second one; the last step may add up to 3.
    assert 60 <= len(frames) <= 62
    # game, ABN map and Grad-CAM panels (2x 160 wide, 4-pixel gaps) and the 320-wide info column
    assert frames[0].shape == (20 + 420, 3 * 320 + 3 * 4 + 320, 3)
    assert not list(tmp_path.glob(".*partial*")), "no temporary file left behind"


def test_stop_at_keeps_the_whole_runs_schedule(tmp_path):
    run_dir = tmp_path / "first-part"
    checkpoint = run_dir / "checkpoints" / "latest.zip"
    result = abnrl(
        "train", "--total-steps", 1_000_000, "--stop-at", 64, "--run-dir", run_dir, *TINY
    )
    assert "step limit: 64 steps" in result.stderr
    assert "--resume" in result.stderr
    data, _, _ = load_from_zip_file(checkpoint, device="cpu")
    assert data["num_timesteps"] == 64
    # The learning rate decays over the 1M steps asked for, not over the 64 trained.
    assert data["_current_progress_remaining"] > 0.99
    assert "stop_at" in json.loads((run_dir / "config.json").read_text())
    # --stop-at is not kept: a resume without it trains on (here to a new total).
    abnrl("train", "--resume", run_dir, "--total-steps", 96)
    assert steps_in(checkpoint) >= 96


@pytest.mark.parametrize("algo, expected", [("ppo", "ABNPPO"), ("a2c", "ABNA2C")])
def test_a_checkpoint_names_its_algorithm(tmp_path, algo, expected):
    small = {"n_steps": 8, **({"batch_size": 8} if algo == "ppo" else {})}
    agent = make_agent(make_vec_env("breakout", 1), algo=algo, seed=0, device="cpu", **small)
    path = tmp_path / "agent.zip"
    save_checkpoint(agent, path, game="breakout", protocol="classic")
    model, meta = load_checkpoint(path, device="cpu")
    assert meta["algorithm"] == expected and type(model).__name__ == expected
    convs = [p for p in model.policy.parameters() if p.ndim == 4]
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    agent.abnrl_meta["algorithm"] = "DQN"
    agent.save(path)
    with pytest.raises(UserError, match="its algorithm 'DQN' is none of abnrl's"):
        load_checkpoint(path, device="cpu")


def test_training_logs_attention_videos_and_images(tmp_path):
    run_dir = tmp_path / "illustrated"
    tiny = [arg for arg in TINY if arg not in ("--eval-every", "0")]
    abnrl(
        "train",
        "--total-steps",
        64,
        "--run-dir",
        run_dir,
        "--eval-every",
        32,
        "--eval-episodes",
        1,
        "--video-frames",
        40,
        *tiny,
    )
    assert len(list((run_dir / "videos").glob("attention-*.mp4"))) == 2
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert {"attention/frame", "attention/video"} <= set(events.Tags()["images"])
    assert events.Images("attention/video")[0].encoded_image_string.startswith(b"GIF89a")
    assert "eval/mean_score" in events.Tags()["scalars"]


@pytest.mark.parametrize(
    ("attention", "map_size", "beside"), [("mask", "9", "gradcam"), ("softmax", "20", "heads")]
)
def test_every_design_trains_resumes_and_is_watched_side_by_side(
    tmp_path, attention, map_size, beside
):
    run_dir = tmp_path / attention
    heads = ("--attention-heads", "2") if attention == "softmax" else ()
    terms = ("--map-entropy-coef", "0.1", "--map-terms-from", "32")
    design = ("--attention", attention, "--map-size", map_size, *heads, *terms)
    abnrl("train", *design, "--total-steps", 32, "--run-dir", run_dir, *TINY)
    abnrl("train", "--resume", run_dir, "--total-steps", 64, "--threads", 1, "--no-progress")
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["attention"], config["map_size"]) == (attention, int(map_size))
    model, _ = load_checkpoint(run_dir / "checkpoints" / "latest.zip", device="cpu")
    assert model.num_timesteps == 64 and model.policy.attention == attention
    assert (model.map_terms_from, model.map_weights()) == (32, (0.1, 0.0))
    heads = model.policy.network(torch.zeros(1, 4, 84, 84)).attention.shape[1]
    assert heads == {"mask": 2, "softmax": 2}[attention]
    out = tmp_path / "watch.mp4"
    abnrl("watch", run_dir, "--max-frames", 40, "--out", out, "--side-by-side", beside)
    assert out.stat().st_size > 0


def test_train_refuses_a_map_size_its_backbone_lacks(tmp_path):
    result = abnrl("train", "--map-size", 21, "--run-dir", tmp_path / "r", *TINY, check=False)
    assert result.returncode == 2 and "not 21" in result.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("explainer", ["abn", "heads"])
def test_watch_refuses_own_maps_of_an_agent_without_attention(cnn_run, tmp_path, explainer):
    out = tmp_path / "clip.mp4"
    result = abnrl("watch", cnn_run, "--explainer", explainer, "--out", out, check=False)
    assert result.returncode == 2 and "needs an agent with attention" in result.stderr
    assert not out.exists()


def test_train_says_where_its_results_go_before_it_trains(tmp_path):
    run_dir = tmp_path / "run"
    result = abnrl("train", "--run-dir", run_dir, "--total-steps", 64, *TINY)
    assert result.stdout.splitlines()[0] == f"training in {run_dir}"
    resumed = abnrl("train", "--resume", run_dir, "--total-steps", 96)
    assert resumed.stdout.splitlines()[0] == f"resuming in {run_dir}"


def test_each_start_writes_one_tensorboard_events_file(tmp_path):
    run_dir = tmp_path / "run"
    abnrl("train", "--run-dir", run_dir, "--total-steps", 64, *TINY)
    abnrl("train", "--resume", run_dir, "--total-steps", 96)
    events = sorted((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 2 and all(path.stat().st_size > 100 for path in events)
