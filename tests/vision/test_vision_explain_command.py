"""``abnrl vision explain``: overlay PNGs for the top-k classes, one-sentence errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from abnrl.commands.vision_explain import VisionExplainConfig, run
from abnrl.errors import UserError
from tests.vision.tiny_training import tiny_training
from vision.train import train


def _checkpoint(folder, abn):
    config = tiny_training(folder, abn=abn, epochs=1, max_steps_per_epoch=2)
    return train(config).checkpoint


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {abn: _checkpoint(root / str(abn), abn) for abn in (False, True)}


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    square = tmp_path / "digit.png"
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(square)
    wide = tmp_path / "photo.jpg"
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(wide)
    return (square, wide)


def _png(path):
    return np.asarray(Image.open(path))


@pytest.mark.parametrize("method", ["attention", "abn"])
def test_abn_attention_overlays(checkpoints, images, tmp_path, capsys, method):
    out = tmp_path / "out"
    config = VisionExplainConfig(images, checkpoint=checkpoints[True], method=method, out_dir=out)
    assert run(config) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["digit.attention.png", "photo.attention.png"]  # the registry's name
    picture = _png(out / "digit.attention.png")
    assert picture.shape[1] == 2 * 224 + 4 and picture.shape[2] == 3  # input and one overlay
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(str(images[0])) and lines[0].count("%") == 3


@pytest.mark.parametrize("method", ["gradcam", "cam", "smoothgrad", "perturbation"])
def test_class_specific_methods_give_one_panel_per_class(checkpoints, images, tmp_path, method):
    out = tmp_path / "out"
    config = VisionExplainConfig(
        images[:1], checkpoint=checkpoints[False], method=method, top_k=2, out_dir=out
    )
    assert run(config) == 0
    assert _png(out / f"digit.{method}.png").shape[1] == 3 * 224 + 2 * 4


def test_gradcam_of_an_abn_model_reads_the_perception_branch(checkpoints, images, tmp_path):
    config = VisionExplainConfig(images[:1], checkpoint=checkpoints[True], out_dir=tmp_path)
    assert run(config) == 0 and (tmp_path / "digit.gradcam.png").is_file()


def test_user_errors_are_one_sentence(checkpoints, images, tmp_path, monkeypatch):
    cases = [
        (dict(images=(tmp_path / "none.png",), checkpoint=checkpoints[True]), "No image file at"),
        (dict(checkpoint=checkpoints[False], method="abn"), "attention needs an ABN model"),
        (dict(checkpoint=checkpoints[True], method="lime"), "'lime'; choose one of attention"),
        (dict(), "Give --checkpoint"),
        (dict(checkpoint=tmp_path / "missing.pt"), "No checkpoint at"),
        (dict(checkpoint=checkpoints[True], model="resnet18"), "holds cifar_resnet20"),
        (dict(model="vgg11", weights="DEFAULT", method="cam"), "not in the local torch hub"),
        (dict(checkpoint=checkpoints[True], top_k=0), "--top-k must be at least 1"),
    ]
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path))
    for overrides, message in cases:
        settings = dict(images=images, out_dir=tmp_path / "out") | overrides
        with pytest.raises(UserError, match=message):
            run(VisionExplainConfig(**settings))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(UserError, match="Cannot read .*broken.png as an image"):
        run(VisionExplainConfig((broken,), checkpoint=checkpoints[True], out_dir=tmp_path))
