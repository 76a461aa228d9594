"""``abnrl vision detect-train`` and ``abnrl vision detect`` on tiny synthetic data."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from abnrl.commands import detect, detect_train
from abnrl.errors import UserError
from vision.detection import (
    DetectorSpec,
    load_detector,
    read_checkpoint,
    save_detector,
    shapes_detection_dataset,
)

torch.set_num_threads(1)


def tiny_config(out_dir, **overrides):
    settings = {
        "detector": "faster_rcnn",
        "backbone": "resnet18_fpn",
        "dataset": "shapes",
        "frames": 2,
        "eval_frames": 2,
        "steps": 2,
        "batch_size": 1,
        "warmup_steps": 1,
        "min_size": 64,
        "max_size": 64,
        "out_dir": out_dir,
        "device": "cpu",
    }
    return detect_train.DetectTrainConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    config = tiny_config(tmp_path_factory.mktemp("run"))
    assert detect_train.run(config) == 0
    return config


def test_training_writes_a_checkpoint_and_metrics(trained):
    metrics = json.loads((trained.out_dir / "metrics.json").read_text())
    assert metrics["steps"] == 2 and metrics["eval_images"] == 2
    assert {"ap50/circle", "map50", "map_50_95", "images_per_s"} <= metrics.keys()
    assert read_checkpoint(trained.out_dir / "last.pt")["step"] == 2


def test_resume_continues_exactly(trained, tmp_path):
    interrupted = tiny_config(tmp_path, steps=1)
    detect_train.run(interrupted)
    detect_train.run(replace(interrupted, steps=2, resume=True))
    resumed = read_checkpoint(tmp_path / "last.pt")["model"]
    straight = read_checkpoint(trained.out_dir / "last.pt")["model"]
    assert resumed.keys() == straight.keys()
    for key, value in straight.items():
        torch.testing.assert_close(resumed[key], value, msg=key)


def test_training_refuses_to_overwrite_or_mix_runs(trained, tmp_path):
    with pytest.raises(UserError, match="pass --resume"):
        detect_train.run(trained)
    with pytest.raises(UserError, match="not what the flags ask for"):
        detect_train.run(replace(trained, detector="mask_rcnn", resume=True))
    with pytest.raises(UserError, match="Nothing to resume"):
        detect_train.run(tiny_config(tmp_path, resume=True))
    with pytest.raises(UserError, match="does not fit"):
        detect_train.run(tiny_config(tmp_path, detector="ssd300"))
    with pytest.raises(UserError, match="--coco-dir"):
        detect_train.run(tiny_config(tmp_path, dataset="coco"))


def test_a_checkpoint_with_the_former_format_tag_still_loads(trained, tmp_path):
    state = read_checkpoint(trained.out_dir / "last.pt")
    assert state["format"] == "abnrl.vision.detector/1"
    torch.save({**state, "format": "abnrl-detector-1"}, tmp_path / "old.pt")
    model, spec = load_detector(tmp_path / "old.pt")
    assert spec.name == "faster_rcnn" and not model.training


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "shapes.png"
    Image.fromarray(shapes_detection_dataset(1, seed=9).images[0]).save(path)
    return path


def test_detect_draws_detections_and_gradcam(picture, tmp_path, capsys):
    spec = DetectorSpec("faster_rcnn", "resnet18_fpn", ("a", "b"), min_size=64, max_size=64)
    torch.manual_seed(0)
    save_detector(tmp_path / "random.pt", spec.build(), spec)  # random weights score some boxes
    config = detect.DetectConfig(
        images=[picture],
        checkpoint=tmp_path / "random.pt",
        score_threshold=0.0,
        explain="gradcam",
        out_dir=tmp_path,
        device="cpu",
    )
    assert detect.run(config) == 0
    written = np.asarray(Image.open(tmp_path / "shapes.detect.png"))
    assert written.shape[1] > 2 * 3 * 64  # two panels of the 3x upscaled image
    assert "shapes.detect.png" in capsys.readouterr().out


def test_detect_errors_are_one_sentence(trained, picture, tmp_path):
    base = detect.DetectConfig(images=[picture], checkpoint=trained.out_dir / "last.pt")
    with pytest.raises(UserError, match="No image file"):
        detect.run(replace(base, images=[tmp_path / "missing.png"]))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable checkpoint"):
        detect.run(replace(base, checkpoint=tmp_path / "junk.pt"))
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(UserError, match="Cannot read .*text.png as an image"):
        detect.run(replace(base, images=[tmp_path / "text.png"], out_dir=tmp_path))
    with pytest.raises(UserError, match="no detection number"):
        detect.run(replace(base, score_threshold=1.0, explain="gradcam", out_dir=tmp_path))
