"""The ABN attention map, read from the model's named output."""

from __future__ import annotations

import pytest
import torch

from tests.vision.explain_toys import (
    TinyABN,
    TinyCNN,
    TinyPolicy,
    hook_count,
)
from vision.explain import ABNAttention, GradCAM


def test_reads_the_attention_field_of_an_abn_classifier():
    torch.manual_seed(0)
    model = TinyABN().eval()
    images = torch.randn(2, 3, 10, 10)
    with ABNAttention(model) as attention:
        result = attention(images)
    expected = model(images).attention[:, 0].detach()
    torch.testing.assert_close(result.raw, expected)
    assert result.maps.shape == (2, 10, 10)
    assert hook_count(model) == 0


def test_reads_a_policy_attention_and_upsamples_it_to_the_frame():
    torch.manual_seed(1)
    model = TinyPolicy().eval()
    frames = torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8)
    with ABNAttention(model) as attention:
        result = attention(frames)
    assert result.raw.shape == (3, 9, 9)
    assert result.maps.shape == (3, 84, 84)
    assert result.maps.amin() == 0 and result.maps.amax() == 1


def test_a_model_without_attention_is_a_clear_error():
    with ABNAttention(TinyCNN()) as attention, pytest.raises(TypeError, match="no tensor field"):
        attention(torch.randn(1, 3, 8, 8))


def test_explains_the_project_abn_classifiers():
    from vision.models import cifar_resnet20

    torch.manual_seed(2)
    model = cifar_resnet20(num_classes=10, abn=True).eval()
    images = torch.randn(2, 3, 32, 32)
    with ABNAttention(model) as attention, GradCAM(model) as gradcam:
        abn = attention(images)
        cam = gradcam(images)
    torch.testing.assert_close(abn.raw, model(images).attention[:, 0].detach())
    assert abn.maps.shape == cam.maps.shape == (2, 32, 32)
