"""``vision.explain``'s registry: names, aliases, defaults, and a map from every entry."""

from __future__ import annotations

import pytest
import torch

from vision.explain import (
    EXPLAINERS,
    ClassTarget,
    SmoothGrad,
    build_explainer,
    canonical_name,
    get_explainer,
    list_explainers,
)
from vision.explain.registry import SMOOTHGRAD_SAMPLES, SMOOTHGRAD_SEED
from vision.models import build, feature_layer

MODEL = "cifar_resnet20"


@pytest.fixture(scope="module")
def abn_model():
    torch.manual_seed(0)
    return build(MODEL, num_classes=4, abn=True, weights=None).eval()


def test_the_agents_own_maps_are_attention_and_abn_is_its_alias():
    assert list_explainers()[0] == "attention"
    assert get_explainer("abn") is get_explainer("attention")
    assert get_explainer("attention").own_attention
    assert canonical_name("abn") == "attention"
    assert canonical_name("heads") == "heads"  # not the registry's: left as it is


def test_names_aliases_and_titles_are_unique():
    names = list_explainers() + [a for entry in EXPLAINERS.values() for a in entry.aliases]
    assert len(names) == len(set(names))
    titles = [entry.title for entry in EXPLAINERS.values()]
    assert len(titles) == len(set(titles))  # analysis tables and JSON key sources by title
    assert all(entry.name == name for name, entry in EXPLAINERS.items())


def test_an_unknown_name_is_one_sentence_naming_the_choices():
    with pytest.raises(ValueError) as error:
        get_explainer("lime")
    message = str(error.value)
    assert message == (f"Unknown explainer 'lime'; choose one of {', '.join(list_explainers())}.")
    assert "\n" not in message and message.count(".") == 1


@pytest.mark.parametrize("name", list_explainers())
def test_every_explainer_builds_and_draws_a_map(abn_model, name):
    images = torch.randn(2, 3, 32, 32)
    layer = feature_layer(abn_model, MODEL)
    with build_explainer(name, abn_model, layer=layer) as explainer:
        maps = explainer(images, ClassTarget(torch.tensor([0, 3]))).maps
    assert maps.shape == (2, 32, 32) and torch.isfinite(maps).all()
    assert maps.min() >= 0 and maps.max() <= 1 and maps.flatten(1).amax(1).gt(0).all()


def test_one_smoothgrad_default(abn_model):
    with build_explainer("smoothgrad", abn_model) as smoothgrad:
        assert isinstance(smoothgrad, SmoothGrad)
        assert (smoothgrad.samples, smoothgrad.seed) == (SMOOTHGRAD_SAMPLES, SMOOTHGRAD_SEED)
        images = torch.randn(1, 3, 32, 32)
        first, again = smoothgrad(images).maps, smoothgrad(images).maps
    torch.testing.assert_close(first, again)  # the seed: the same noise every call
