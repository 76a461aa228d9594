"""Normalization by name, the paper's LRN, and the BatchNorm converter."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vision.models import build, list_models
from vision.norm import (
    batchnorm_to_groupnorm,
    convert_batchnorm,
    group_norm,
    local_response_norm,
    make_norm,
)

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def test_lrn_matches_the_alexnet_paper_formula_by_hand():
    """b_i = a_i / (k + alpha * sum_{j=max(0,i-n/2)}^{min(N-1,i+n/2)} a_j^2)^beta."""
    k, n, alpha, beta = 2.0, 5, 1e-4, 0.75
    a = torch.randn(2, 7, 3, 4, dtype=torch.float64) * 30  # large enough for alpha to matter
    channels = a.shape[1]
    expected = torch.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        total = sum(a[:, j] ** 2 for j in range(lo, hi + 1))
        expected[:, i] = a[:, i] / (k + alpha * total) ** beta
    assert torch.allclose(local_response_norm()(a), expected, rtol=1e-12)
    assert torch.allclose(make_norm("lrn")(7)(a), expected, rtol=1e-12)
    alexnet_lrn = build("alexnet", num_classes=10).features.norm1
    assert torch.allclose(alexnet_lrn(a), expected, rtol=1e-12)


def test_make_norm_kinds():
    assert isinstance(make_norm("bn")(8), nn.BatchNorm2d)
    assert make_norm("gn", groups=4)(8).num_groups == 4
    assert isinstance(make_norm("none")(8), nn.Identity)
    with pytest.raises(ValueError, match="Unknown normalization 'ln'"):
        make_norm("ln")


def test_group_norm_uses_a_group_count_that_divides_the_channels():
    assert group_norm(64, 32).num_groups == 32
    assert group_norm(24, 32).num_groups == 8
    assert group_norm(1, 32).num_groups == 1


def test_gn_leaves_no_batchnorm_in_any_model():
    for name in list_models():
        with torch.device("meta"):  # the ABN model holds the plain one and the attention branch
            model = build(name, num_classes=5, abn=True, norm="gn", groups=8)
        kinds = {type(m) for m in model.modules()}
        assert not kinds & set(BATCH_NORMS), name
        assert nn.GroupNorm in kinds, name
        assert all(m.num_groups <= 8 for m in model.modules() if isinstance(m, nn.GroupNorm))


def test_none_and_lrn_choices_apply_to_every_family():
    for name in ["vgg11_bn", "googlenet", "densenet121", "cifar_wrn16_8", "resnet18"]:
        with torch.device("meta"):
            bare = build(name, num_classes=5, abn=True, norm="none")
            lrn = build(name, num_classes=5, norm="lrn")
        norms = (*BATCH_NORMS, nn.GroupNorm, nn.LocalResponseNorm)
        assert not any(isinstance(m, norms) for m in bare.modules()), name
        assert any(isinstance(m, nn.LocalResponseNorm) for m in lrn.modules()), name
        assert not any(isinstance(m, BATCH_NORMS) for m in lrn.modules()), name


def test_published_normalization_is_the_default():
    with torch.device("meta"):
        plain, with_bn = build("vgg11", num_classes=3), build("vgg11_bn", num_classes=3)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules())


def test_batchnorm_to_groupnorm_keeps_the_learned_affine_transform():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.BatchNorm2d(16, eps=1e-3),
        nn.ReLU(),
        nn.Sequential(nn.BatchNorm2d(16)),
    )
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 2.0)
        model[1].bias.uniform_(-1.0, 1.0)
    weight, bias = model[1].weight.clone(), model[1].bias.clone()
    converted = batchnorm_to_groupnorm(model, groups=4)
    assert converted is model
    gn = model[1]
    assert isinstance(gn, nn.GroupNorm) and isinstance(model[3][0], nn.GroupNorm)
    assert gn.num_groups == 4 and gn.eps == 1e-3
    assert torch.equal(gn.weight, weight) and torch.equal(gn.bias, bias)
    x = torch.randn(2, 3, 8, 8)
    expected = nn.functional.group_norm(model[0](x), 4, weight, bias, eps=1e-3)
    assert torch.allclose(gn(model[0](x)), expected)


def test_convert_batchnorm_replaces_a_bare_layer_and_ignores_bn_kind():
    bn = nn.BatchNorm2d(6)
    assert isinstance(convert_batchnorm(bn, "gn"), nn.GroupNorm)
    assert isinstance(convert_batchnorm(bn, "none"), nn.Identity)
    assert convert_batchnorm(bn, "bn") is bn


def test_converted_resnet_still_trains():
    model = batchnorm_to_groupnorm(build("cifar_resnet20", num_classes=3))
    loss = model(torch.randn(2, 3, 32, 32)).logsumexp(1).mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_groupnorm_replacements_keep_a_float64_models_dtype():
    model = build("cifar_resnet20", num_classes=10).double()
    batchnorm_to_groupnorm(model, groups=8)
    assert {p.dtype for p in model.parameters()} == {torch.float64}
    assert model.eval()(torch.randn(2, 3, 32, 32, dtype=torch.float64)).dtype == torch.float64
