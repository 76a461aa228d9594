"""Every subcommand given bad input: exit code 2, one sentence, no traceback, and no file
left behind or changed."""

import base64
import hashlib
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from abnrl.cli import main
from abnrl.training.checkpoints import save_checkpoint
from agents import make_agent
from envs import make_vec_env
from tests.crafted_files import WritesAFile, with_fields, with_payload


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, **changes}))


def _crafted_checkpoint(run: Path, tmp: Path) -> None:
    latest = run / "checkpoints" / "latest.zip"
    with_payload(latest, latest, "learning_rate", tmp / "ran")


def _image(tmp: Path, size: tuple[int, int], name: str = "frame.png") -> Path:
    path = tmp / name
    Image.new("1", size).save(path)  # one bit per pixel: a huge image in a small file
    return path


def _image_folder(tmp: Path) -> None:
    """An ImageFolder dataset (train/ and val/, two classes) with one thin image: five
    training images, one batch of 5."""
    for split in ("train", "val"):
        for label in ("a", "b"):
            (tmp / "folder" / split / label).mkdir(parents=True)
            for name in ("ok1.png", "ok2.png"):
                _image(tmp / "folder" / split / label, (8, 8), name)
    _image(tmp / "folder" / "train" / "a", (45_000_000, 1), "thin.png")


def _pt(tmp: Path, content: object, name: str = "model.pt") -> Path:
    path = tmp / name
    torch.save(content, path)
    return path


def _cifar_with_payload(tmp: Path) -> None:
    folder = tmp / "cifar" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"]:
        (folder / name).write_bytes(pickle.dumps({"labels": [0]}))
    payload = {"data": WritesAFile(tmp / "ran"), "labels": [0]}
    (folder / "data_batch_1").write_bytes(pickle.dumps(payload))


def _cifar(tmp: Path, batch: dict | None = None, meta: dict | None = None) -> None:
    """A CIFAR-10 folder of tiny batches (two images each), ``batch`` as data_batch_1 and
    ``meta`` as batches.meta where given."""
    folder = tmp / "cifar" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    good = {"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1]}
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        (folder / name).write_bytes(pickle.dumps(good))
    if batch is not None:
        (folder / "data_batch_1").write_bytes(pickle.dumps(batch))
    names = meta if meta is not None else {"label_names": [f"class {i}" for i in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(names))


def _zip_without_data(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("policy.pth", b"")


def _eval_json(run: Path, content: str) -> None:
    (run / "checkpoints" / "eval.json").write_text(content)


def _truncated_checkpoint(run: Path, tmp: Path) -> None:
    whole = (run / "checkpoints" / "latest.zip").read_bytes()
    (tmp / "truncated.zip").write_bytes(whole[: len(whole) // 2])


def _pong_agent_claiming_breakout(run: Path, tmp: Path) -> None:
    """A Pong agent (6 actions) whose checkpoint says it plays Breakout (4 actions)."""
    agent = make_agent(make_vec_env("pong", 1), seed=0, device="cpu", n_steps=8, batch_size=8)
    save_checkpoint(agent, tmp / "pong-agent.zip", game="breakout", protocol="classic")


def _agent_of_an_unsupported_algorithm(run: Path, tmp: Path) -> None:
    """The run's agent with its policy class replaced by SAC's, as a SAC zip names it."""
    from stable_baselines3.sac.policies import SACPolicy

    pickled = base64.b64encode(pickle.dumps(SACPolicy)).decode()
    sac = {":type:": "<class 'abc.ABCMeta'>", ":serialized:": pickled}
    with_fields(run / "checkpoints" / "latest.zip", tmp / "sac-agent.zip", {"policy_class": sac})


def _agent_of_an_unknown_game(run: Path, tmp: Path) -> None:
    agent = make_agent(make_vec_env("breakout", 1), seed=0, device="cpu", n_steps=8, batch_size=8)
    save_checkpoint(agent, tmp / "odd-agent.zip", game="notagame", protocol="classic")


def _agent_of_a_game_without_objects(run: Path, tmp: Path) -> None:
    """An Enduro agent: a game without an object reader."""
    agent = make_agent(make_vec_env("enduro", 1), seed=0, device="cpu", n_steps=8, batch_size=8)
    save_checkpoint(agent, tmp / "enduro-agent.zip", game="enduro", protocol="classic")


def _sweep_plan(tmp: Path, plan: dict) -> None:
    (tmp / "sweep").mkdir()
    (tmp / "sweep" / "sweep.json").write_text(json.dumps({"format": 1, **plan}))


def case(name, command, phrase, setup=None):
    """A bad input: ``command`` ({run} and {tmp} stand for the paths), the phrase its
    sentence must hold, and ``setup(run, tmp)`` that damages the files first."""
    return pytest.param(command, phrase, setup, id=name)


# ``run`` is a copy of a tiny trained ABN run; ``tmp`` is the working directory.
CASES = [
    # train: flags
    case("train-checkpoint-every-0", "train --checkpoint-every 0", "--checkpoint-every"),
    case("train-eval-every-negative", "train --eval-every -1", "--eval-every"),
    case("train-video-frames-negative", "train --video-frames -5", "--video-frames"),
    case("train-eval-episodes-0", "train --eval-episodes 0", "--eval-episodes"),
    case("train-total-steps-0", "train --total-steps 0", "--total-steps"),
    case("train-n-envs-0", "train --n-envs 0", "--n-envs"),
    case("train-threads-negative", "train --threads -2", "--threads"),
    case("train-heads-0", "train --attention-heads 0", "--attention-heads"),
    case("train-heads-of-mask", "train --attention mask --attention-heads 4", "not of mask"),
    case(
        "eval-unsupported-algorithm",
        "eval {tmp}/sac-agent.zip --episodes 1",
        "an agent of Stable-Baselines3's SAC",
        _agent_of_an_unsupported_algorithm,
    ),
    case(
        "eval-zoo-dir-without-its-agent",
        "eval {tmp}/zoo/BreakoutNoFrameskip-v4_1",
        "an RL Zoo run dir without its agent",
        lambda r, t: _zoo_settings_only(t),
    ),
    case("train-unknown-game", "train --game notagame", "notagame"),
    case("train-misspelled-game", "train --game breakot", "did you mean"),
    case("train-misspelled-flag", "train --gmae pong", "did you mean --game?"),
    case("eval-misspelled-flag", "eval {run} --episods 3", "did you mean --episodes?"),
    case("train-unknown-algo", "train --algo dqn", "dqn"),
    case("train-unknown-policy", "train --policy mlp", "mlp"),
    case("train-unknown-attention", "train --attention lstm", "lstm"),
    case("train-map-size", "train --map-size 7", "7"),
    case("train-unknown-protocol", "train --protocol v9", "v9"),
    case(
        "train-unknown-device",
        "train --device tpu",
        "Unknown --device 'tpu'; choose one of auto, cpu, cuda.",  # not None
    ),
    case("train-negative-time-limit", "train --time-limit-min -1", "--time-limit-min"),
    case("train-negative-coef", "train --attention-coef -1", "--attention-coef"),
    case("train-run-dir-taken", "train --run-dir {run}", "already holds a run"),
    # train --resume: the run's files
    case("resume-missing", "train --resume {tmp}/nothing", "not a run dir"),
    case(
        "resume-config-not-json",
        "train --resume {run}",
        "config.json",
        lambda r, t: (r / "config.json").write_text("{"),
    ),
    case(
        "resume-config-wrong-type",
        "train --resume {run}",
        "n_envs",
        lambda r, t: _edit_json(r / "config.json", n_envs="eight"),
    ),
    case(
        "resume-config-unknown-choice",
        "train --resume {run}",
        "which is not one of ppo, a2c",
        lambda r, t: _edit_json(r / "config.json", algo="dqn"),
    ),
    case(
        "resume-config-bool-as-number",
        "train --resume {run}",
        "seed",
        lambda r, t: _edit_json(r / "config.json", seed=True),
    ),
    case(
        "resume-config-other-game",
        "train --resume {run}",
        "pong",
        lambda r, t: _edit_json(r / "config.json", game="pong"),
    ),
    case(
        "resume-config-other-n-envs",
        "train --resume {run}",
        "n_envs",
        lambda r, t: _edit_json(r / "config.json", n_envs=3),
    ),
    case(
        "resume-config-other-attention",
        "train --resume {run}",
        '"mask", but the run\'s checkpoint has "softmax"',
        lambda r, t: _edit_json(r / "config.json", attention="mask", attention_motion=False),
    ),
    case(
        "resume-config-motion-without-softmax",
        "train --resume {run}",
        "a design without the motion channel",
        lambda r, t: _edit_json(r / "config.json", attention="mask"),
    ),
    case(
        "resume-config-other-motion",
        "train --resume {run}",
        "attention_motion false, but the run's checkpoint has true",
        lambda r, t: _edit_json(r / "config.json", attention_motion=False),
    ),
    case(
        "resume-progress-no-time",
        "train --resume {run}",
        "progress.csv",
        lambda r, t: (r / "progress.csv").write_text("step,score_mean\n32,1.5\n"),
    ),
    case(
        "resume-payload", "train --resume {run}", "not a safe agent checkpoint", _crafted_checkpoint
    ),
    case(
        "resume-no-checkpoint",
        "train --resume {run}",
        "no checkpoint",
        lambda r, t: (r / "checkpoints" / "latest.zip").unlink(),
    ),
    case("resume-negative-stop-at", "train --resume {run} --stop-at -5", "--stop-at"),
    # eval
    case("eval-payload", "eval {run}", "not a safe agent checkpoint", _crafted_checkpoint),
    case("eval-unknown-device", "eval {run} --device tpu", "tpu"),
    case("eval-n-envs-0", "eval {run} --n-envs 0", "--n-envs"),
    case("eval-episodes-0", "eval {run} --episodes 0", "--episodes"),
    case(
        "eval-unknown-protocol",
        "eval {run} --protocol v9",
        "Unknown --protocol 'v9'; choose one of classic, v5.",
    ),
    case("eval-out-folder-missing", "eval {run} --out {tmp}/no/eval.json", "does not exist"),
    case("eval-nothing-given", "eval", "--pretrained"),
    case("eval-missing", "eval {tmp}/missing", "does not exist"),
    case("eval-truncated", "eval {tmp}/truncated.zip", "not a readable", _truncated_checkpoint),
    case(
        "eval-agent-of-another-game",
        "eval {tmp}/pong-agent.zip --episodes 1",
        "trained for another game",
        _pong_agent_claiming_breakout,
    ),
    case("eval-both-given", "eval {run} --pretrained", "--pretrained"),
    case(
        "watch-pretrained-game-without-agent",
        "watch --pretrained --game seaquest",
        "ships agents for breakout and pong, not for seaquest",
    ),
    case(
        "eval-not-a-zip",
        "eval {tmp}/agent.zip",
        "not a readable checkpoint",
        lambda r, t: (t / "agent.zip").write_bytes(b"PK no zip"),
    ),
    case(
        "eval-zip-without-data",
        "eval {tmp}/empty.zip",
        "no data entry",
        lambda r, t: _zip_without_data(t / "empty.zip"),
    ),
    # watch
    case("watch-payload", "watch {run}", "not a safe agent checkpoint", _crafted_checkpoint),
    case("watch-max-frames-0", "watch {run} --max-frames 0", "--max-frames"),
    case("watch-fps", "watch {run} --fps 7", "--fps"),
    case("watch-unknown-explainer", "watch {run} --explainer lime", "lime"),
    case(
        "watch-unknown-side-by-side",
        "watch {run} --side-by-side lime",
        "Unknown --side-by-side 'lime'; choose one of attention, gradcam,",
    ),
    case("watch-not-mp4", "watch {run} --out {tmp}/clip.avi", ".mp4"),
    case("watch-out-folder-missing", "watch {run} --out {tmp}/no/clip.mp4", "does not exist"),
    case("watch-unknown-device", "watch {run} --device tpu", "tpu"),
    case(
        "watch-run-without-checkpoint",
        "watch {tmp}/empty-run",
        "no checkpoint",
        lambda r, t: (t / "empty-run").mkdir(),
    ),
    # a folder that passes the checks but takes no files
    case("watch-out-unwritable", "watch {run} --out /proc/x.mp4 --max-frames 8", "(/proc/x.mp4)"),
    # analyze
    case("analyze-payload", "analyze {run}", "not a safe agent checkpoint", _crafted_checkpoint),
    case("analyze-episodes-0", "analyze {run} --episodes 0", "--episodes"),
    case("analyze-every-0", "analyze {run} --every 0", "--every"),
    case("analyze-peak-window-negative", "analyze {run} --peak-window -1", "--peak-window"),
    case("analyze-unknown-map", "analyze {run} --maps lime", "lime"),
    case(
        "analyze-unknown-map-among-known",
        "analyze {run} --maps abn lime gradcam",
        "Unknown --maps lime; choose from attention, gradcam,",
    ),
    case("analyze-unknown-device", "analyze {run} --device tpu", "tpu"),
    case(
        "analyze-game-without-objects",
        "analyze {tmp}/enduro-agent.zip",
        "no object reader for enduro (the objects are read from the RAM); games with one:",
        _agent_of_a_game_without_objects,
    ),
    # report
    case("report-no-run", "report {tmp}", "not a run dir"),
    case(
        "report-config-not-object",
        "report {run}",
        "config.json",
        lambda r, t: (r / "config.json").write_text("[1, 2]"),
    ),
    case("report-eval-not-json", "report {run}", "eval.json", lambda r, t: _eval_json(r, "{oops")),
    case(
        "report-eval-missing-keys",
        "report {run}",
        "eval.json",
        lambda r, t: _eval_json(r, '{"game": "breakout"}'),
    ),
    case(
        "report-progress-not-numbers",
        "report {run}",
        "progress.csv",
        lambda r, t: (r / "progress.csv").write_text("step,score_mean\nten,abc\n"),
    ),
    case(
        "report-progress-no-column",
        "report {run}",
        "progress.csv",
        lambda r, t: (r / "progress.csv").write_text("a,b\n1,2\n"),
    ),
    case(
        "report-evaluations-not-numbers",
        "report {run}",
        "evaluations.csv",
        lambda r, t: (r / "evaluations.csv").write_text("step,episodes,mean,std,max\n1,2,x,4,5\n"),
    ),
    case(
        "report-segments-not-numbers",
        "report {run}",
        "segments.csv",
        lambda r, t: (r / "segments.csv").write_text("step,machine\nlast,x\n"),
    ),
    case("report-out-folder-missing", "report {run} --out {tmp}/no/r.html", "does not exist"),
    # rollout
    case("rollout-unknown-game", "rollout --game notagame", "notagame"),
    case("rollout-episodes-0", "rollout --episodes 0", "--episodes"),
    case("rollout-n-envs-0", "rollout --n-envs 0", "--n-envs"),
    case("rollout-unknown-backend", "rollout --backend mame", "mame"),
    case("rollout-unknown-protocol", "rollout --protocol v9", "v9"),
    # vision
    case(
        "explain-image-bomb",
        "vision explain {tmp}/frame.png --model resnet18",
        "million pixels",
        lambda r, t: _image(t, (20_000, 20_000)),
    ),
    case(
        "explain-thin-image",
        "vision explain {tmp}/frame.png --model resnet18",
        "a side over",
        lambda r, t: _image(t, (45_000_000, 1)),
    ),
    case(
        "vision-train-thin-image-in-a-folder",
        "vision train --dataset imagefolder --data-root {tmp}/folder --epochs 1 --model resnet18 "
        "--batch-size 5 --image-size 32",
        "a side over",
        lambda r, t: _image_folder(t),
    ),
    case("explain-missing-image", "vision explain {tmp}/none.png --model resnet18", "none.png"),
    case(
        "explain-unknown-method",
        "vision explain {tmp}/frame.png --model resnet18 --method lime",
        "Unknown --method 'lime'; choose one of attention, gradcam,",
        lambda r, t: _image(t, (32, 32)),
    ),
    case(
        "explain-not-an-image",
        "vision explain {tmp}/a.png --model resnet18",
        "a.png",
        lambda r, t: (t / "a.png").write_text("text"),
    ),
    case(
        "explain-top-k-0",
        "vision explain {tmp}/frame.png --model resnet18 --top-k 0",
        "--top-k",
        lambda r, t: _image(t, (32, 32)),
    ),
    case(
        "explain-pt-missing-fields",
        "vision explain {tmp}/frame.png --checkpoint {tmp}/model.pt",
        "model.pt",
        lambda r, t: (_image(t, (32, 32)), _pt(t, {"format": "abnrl.vision.checkpoint/1"})),
    ),
    case(
        "explain-pt-garbage",
        "vision explain {tmp}/frame.png --checkpoint {tmp}/model.pt",
        "model.pt",
        lambda r, t: (_image(t, (32, 32)), (t / "model.pt").write_bytes(b"garbage")),
    ),
    case(
        "explain-unknown-device",
        "vision explain {tmp}/frame.png --model resnet18 --device tpu",
        "tpu",
        lambda r, t: _image(t, (32, 32)),
    ),
    case(
        "detect-image-bomb",
        "vision detect {tmp}/frame.png --checkpoint {tmp}/none.pt",
        "million pixels",
        lambda r, t: _image(t, (20_000, 20_000)),
    ),
    case(
        "detect-pt-missing-fields",
        "vision detect {tmp}/frame.png --checkpoint {tmp}/model.pt",
        "model.pt",
        lambda r, t: (_image(t, (32, 32)), _pt(t, {"format": "abnrl-detector-1"})),
    ),
    case(
        "detect-threshold",
        "vision detect {tmp}/frame.png --score-threshold 2",
        "--score-threshold",
        lambda r, t: _image(t, (32, 32)),
    ),
    case("vision-train-unknown-preset", "vision train --preset nope", "nope"),
    case("detect-train-steps-0", "vision detect-train --steps 0", "--steps"),
    case(
        "vision-train-cifar-payload",
        "vision train --dataset cifar10 --data-root {tmp}/cifar --epochs 1",
        "builtins.exec",
        lambda r, t: _cifar_with_payload(t),
    ),
    case(
        "vision-train-cifar-ints",
        "vision train --dataset cifar10 --data-root {tmp}/cifar --epochs 1",
        "not an array of bytes",
        lambda r, t: _cifar(t, {"data": [1, 2, 3], "labels": [0]}),
    ),
    case(
        "vision-train-cifar-labels-none",
        "vision train --dataset cifar10 --data-root {tmp}/cifar --epochs 1",
        "one integer label per image",
        lambda r, t: _cifar(t, {"data": np.zeros((2, 3072), np.uint8), "labels": None}),
    ),
    case(
        "vision-train-cifar-meta-without-names",
        "vision train --dataset cifar10 --data-root {tmp}/cifar --epochs 1",
        "no label_names",
        lambda r, t: _cifar(t, meta={"num_cases_per_batch": 2}),
    ),
    case(
        "vision-train-cifar-label-out-of-range",
        "vision train --dataset cifar10 --data-root {tmp}/cifar --epochs 1",
        "outside 0-9",
        lambda r, t: _cifar(t, {"data": np.zeros((2, 3072), np.uint8), "labels": [0, 12]}),
    ),
    case(
        "eval-unknown-recorded-game",
        "eval {tmp}/odd-agent.zip",
        "records the game 'notagame', which ale-py",
        _agent_of_an_unknown_game,
    ),
    case(
        "watch-unknown-recorded-game",
        "watch {tmp}/odd-agent.zip",
        "records the game 'notagame', which ale-py",
        _agent_of_an_unknown_game,
    ),
    case(
        "analyze-out-is-a-file",
        "analyze {run} --out {tmp}/taken.txt",
        "taken.txt",
        lambda r, t: (t / "taken.txt").write_text("x"),
    ),
    case(
        "report-sweep-grid-a-list",
        "report {tmp}/sweep",
        "is not a sweep plan",
        lambda r, t: _sweep_plan(t, {"grid": ["policy=abn"], "seeds": [0]}),
    ),
    case(
        "report-sweep-seeds-an-int",
        "report {tmp}/sweep",
        "is not a sweep plan",
        lambda r, t: _sweep_plan(t, {"grid": {"policy": ["abn"]}, "seeds": 3}),
    ),
    case(
        "report-sweep-int-grid-values",
        "report {tmp}/sweep",
        "is not a sweep plan",
        lambda r, t: _sweep_plan(t, {"grid": {"n-envs": [4, 8]}, "seeds": [0]}),
    ),
    case("unknown-command", "fly", "fly"),
    # Values that were silently accepted or ended in a traceback (issue 42)
    case("train-negative-seed", "train --seed -1 --run-dir {tmp}/new", "--seed"),
    case("eval-negative-seed", "eval {run} --seed -5", "--seed"),
    case("analyze-negative-radius", "analyze {run} --radius -1", "--radius"),
    case("analyze-nan-radius", "analyze {run} --radius nan", "--radius"),
    case("analyze-negative-tolerance", "analyze {run} --tolerance -5", "--tolerance"),
    case(
        "explain-nan-alpha",
        "vision explain {tmp}/frame.png --alpha nan",
        "--alpha",
        lambda r, t: _image(t, (32, 32)),
    ),
    case(
        "explain-alpha-5",
        "vision explain {tmp}/frame.png --alpha 5",
        "--alpha",
        lambda r, t: _image(t, (32, 32)),
    ),
    case("vision-train-nan-lr", "vision train --lr nan --epochs 1", "lr"),
    case("vision-train-negative-gamma", "vision train --gamma -1 --epochs 1", "gamma"),
    case(
        "train-in-a-users-folder",
        "train --run-dir {tmp}/home",
        "did not write",
        lambda r, t: (t / "home").mkdir() or (t / "home" / ".bashrc.20240101").write_text("x"),
    ),
    case(
        "eval-env-id-in-the-agent",
        "eval {tmp}/evil.zip",
        "environment id",
        lambda r, t: with_fields(
            r / "checkpoints" / "latest.zip", t / "evil.zip", {"env": "os:Anything-v0"}
        ),
    ),
]


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        if path.is_file()
        else "folder"
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture
def workdir(trained_run, tmp_path, monkeypatch):
    shutil.copytree(trained_run, tmp_path / "run")
    monkeypatch.chdir(tmp_path)  # default outputs (runs/, eval.json, ...) land in tmp_path
    return tmp_path


@pytest.mark.parametrize(("command", "phrase", "setup"), CASES)
def test_bad_input_is_one_sentence_and_exit_2(workdir, capsys, command, phrase, setup):
    run = workdir / "run"
    if setup is not None:
        setup(run, workdir)
    before = _snapshot(workdir)
    code = main(command.format(run=run, tmp=workdir).split())
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("abnrl: "), err
    assert phrase in lines[0], err
    assert _snapshot(workdir) == before, "files were left behind or changed"
    assert not (workdir / "ran").exists(), "a payload ran"


def test_there_are_enough_cases():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


def _zoo_settings_only(tmp):
    """An RL Zoo run dir whose agent zip is missing: only its settings."""
    settings = tmp / "zoo" / "BreakoutNoFrameskip-v4_1" / "BreakoutNoFrameskip-v4"
    settings.mkdir(parents=True)
    (settings / "args.yml").write_text("env: BreakoutNoFrameskip-v4\n")
