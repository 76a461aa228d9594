"""Pretrained weights come from the local torch hub cache only."""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pytest
import torch
import torchvision

from vision.models import build


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty torch hub cache; downloading fails the test."""

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path))
    (tmp_path / "checkpoints").mkdir()
    return tmp_path / "checkpoints"


def _put_in_cache(cache, weights, state_dict):
    torch.save(state_dict, cache / os.path.basename(urlparse(weights.url).path))


def test_missing_weights_say_so_in_one_sentence(hub_cache):
    with pytest.raises(FileNotFoundError, match=r"not in the local torch hub cache") as error:
        build("resnet18", num_classes=10, weights="DEFAULT")
    assert str(error.value).count(". ") == 0 and "resnet18-" in str(error.value)


def test_weights_load_from_the_cache_and_the_classifier_adapts(hub_cache):
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    torch.manual_seed(1)
    reference = torchvision.models.resnet18()
    _put_in_cache(hub_cache, weights, reference.state_dict())
    same = build("resnet18", num_classes=1000, weights="IMAGENET1K_V1")
    for key, value in reference.state_dict().items():
        assert torch.equal(same.state_dict()[key], value), key
    fewer = build("resnet18", num_classes=10, abn=True, weights=weights)
    assert torch.equal(fewer.features.conv1.weight, reference.conv1.weight)
    assert torch.equal(fewer.perception.layer4[0].conv1.weight, reference.layer4[0].conv1.weight)
    # The attention branch starts from the pretrained next stage.
    assert torch.equal(
        fewer.attention_branch.body[1].conv2.weight, reference.layer4[1].conv2.weight
    )
    assert fewer.perception.fc.weight.shape == (10, 512)


def test_weights_errors(hub_cache):
    with pytest.raises(ValueError, match="No pretrained weights exist for alexnet"):
        build("alexnet", num_classes=10, weights="DEFAULT")
    with pytest.raises(ValueError, match="Unknown weights 'IMAGENET9K' for resnet18"):
        build("resnet18", num_classes=10, weights="IMAGENET9K")
    with pytest.raises(ValueError, match="need norm='bn'"):
        build("resnet18", num_classes=10, norm="gn", weights="DEFAULT")
