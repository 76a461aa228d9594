"""The model registry: every family, its ABN variant, shapes, gradients, offline building."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vision.models import (
    ABN_MAPS,
    ABNOutput,
    AttentionBranch,
    AttentionBranchNetwork,
    abn_loss,
    build,
    cifar_resnext29,
    cifar_wrn,
    feature_layer,
    list_models,
)
from vision.models.abn import stride_one_copy
from vision.models.attention_branch import SoftplusConv2d

SURVEY_MODELS = {
    "alexnet",
    *(f"vgg{depth}{suffix}" for depth in (11, 13, 16, 19) for suffix in ("", "_bn")),
    "googlenet",
    *(f"resnet{depth}" for depth in (18, 34, 50, 101, 152)),
    "wide_resnet50_2",
    "wide_resnet101_2",
    "densenet121",
    "densenet169",
    "densenet201",
    "resnext50_32x4d",
    "resnext101_32x4d",
    *(f"cifar_resnet{depth}" for depth in (20, 32, 44, 56, 110)),
    "cifar_wrn28_10",
    "cifar_densenet_bc100_12",
    "cifar_resnext29_8x64d",
    "cifar_resnext29_16x64d",
}

# One light member per family runs for real in the default test run; every
# registered model runs in the slow run (`pytest -m slow`).
# The heavy CIFAR families run as small variants in the default run.
LIGHT = {
    "alexnet", "vgg11", "googlenet", "resnet18", "resnet50", "densenet121", "cifar_resnet20",
    "cifar_densenet_bc22_12",
}  # fmt: skip


def _small_input(name: str) -> torch.Tensor:
    side = 64 if name == "alexnet" else 32  # AlexNet needs at least 63x63
    return torch.randn(2, 3, side, side)


def _check_forward_backward(model: nn.Module, images: torch.Tensor, num_classes: int) -> None:
    model.train()
    output = model(images)
    target = torch.arange(images.shape[0]) % num_classes
    if isinstance(model, AttentionBranchNetwork):
        assert isinstance(output, ABNOutput)
        assert output.logits.shape == output.attention_logits.shape == (2, num_classes)
        size = model.features(images).shape[-2:]
        assert output.attention.shape == (2, 1, *size)
        assert 0.0 <= output.attention.min() and output.attention.max() <= 1.0
        loss = abn_loss(output, target)
    else:
        assert isinstance(output, torch.Tensor) and output.shape == (2, num_classes)
        loss = F.cross_entropy(output, target)
    loss.backward()
    unused = [name for name, p in model.named_parameters() if p.grad is None]
    assert not unused, f"parameters outside the graph: {unused[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_registry_covers_every_family_of_the_survey():
    assert SURVEY_MODELS <= set(list_models())
    assert list_models() == sorted(list_models())


def test_unknown_model_is_one_clear_error():
    with pytest.raises(ValueError, match="Unknown model 'resnet19'"):
        build("resnet19", num_classes=10)


@pytest.mark.parametrize("abn", [False, True], ids=["plain", "abn"])
def test_every_model_builds_offline(monkeypatch, abn):
    def no_network(*args, **kwargs):
        raise AssertionError("building a model touched the network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    for name in list_models():
        with torch.device("meta"):  # structure only; real numbers run below
            model = build(name, num_classes=7, abn=abn)
        assert isinstance(model, AttentionBranchNetwork) == abn, name
        layer = feature_layer(model, name)
        if abn:
            assert isinstance(model.attention_branch, AttentionBranch)
            assert layer is model.perception[0]
        else:
            assert layer is not model


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=() if name in LIGHT else pytest.mark.slow) for name in list_models()],
)
@pytest.mark.parametrize("abn", [False, True], ids=["plain", "abn"])
def test_forward_and_backward(name, abn):
    torch.manual_seed(0)
    model = build(name, num_classes=7, abn=abn)
    _check_forward_backward(model, _small_input(name), 7)


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: cifar_resnext29(2, 4, **kw),
        lambda **kw: cifar_wrn(10, 2, dropout=0.3, **kw),
    ],
    ids=["resnext29_2x4d", "wrn10_2"],
)
def test_small_cifar_variants_of_heavy_families(make):
    for abn in (False, True):
        _check_forward_backward(make(num_classes=5, abn=abn), torch.randn(2, 3, 32, 32), 5)


@pytest.mark.parametrize(
    ("name", "side", "attention_side"),
    [
        ("alexnet", 224, 13),
        ("vgg16_bn", 224, 14),
        ("googlenet", 224, 14),
        ("resnet50", 224, 14),
        ("densenet121", 224, 7),
        ("cifar_resnet110", 32, 16),
        ("cifar_wrn28_10", 32, 16),
        ("cifar_densenet_bc100_12", 32, 8),
        ("cifar_resnext29_8x64d", 32, 16),
    ],
)
def test_attention_map_has_the_documented_size(name, side, attention_side):
    with torch.device("meta"):
        output = build(name, num_classes=3, abn=True)(torch.empty(1, 3, side, side))
    assert output.attention.shape == (1, 1, attention_side, attention_side)


def test_abn_loss_is_attention_plus_perception_cross_entropy():
    output = ABNOutput(torch.randn(4, 3), torch.randn(4, 3), torch.rand(4, 1, 2, 2))
    target = torch.tensor([0, 2, 1, 0])
    expected = F.cross_entropy(output.attention_logits, target) + F.cross_entropy(
        output.logits, target
    )
    assert torch.allclose(abn_loss(output, target), expected)


def test_attention_branch_body_is_a_stride_one_copy_of_the_next_stage():
    model = build("resnet18", num_classes=4, abn=True)
    body, stage = model.attention_branch.body, model.perception.layer4
    assert [type(m) for m in body.modules()] == [type(m) for m in stage.modules()]
    assert stage[0].conv1.stride == (2, 2) and body[0].conv1.stride == (1, 1)
    assert body[0].downsample[0].stride == (1, 1)
    assert torch.equal(body[0].conv1.weight, stage[0].conv1.weight)  # starts from its weights
    assert body[0].conv1.weight.data_ptr() != stage[0].conv1.weight.data_ptr()  # not shared
    features = torch.randn(1, 256, 5, 5)
    assert stride_one_copy(stage)(features).shape == (1, 512, 5, 5)


def test_stable_module_names():
    plain = build("resnet18", num_classes=4)
    abn = build("resnet18", num_classes=4, abn=True)
    assert isinstance(plain.layer4, nn.Sequential) and isinstance(plain.fc, nn.Linear)
    assert isinstance(abn.features.layer3, nn.Sequential)
    assert isinstance(abn.perception.layer4, nn.Sequential)
    assert isinstance(abn.perception.fc, nn.Linear)
    # A plain checkpoint's feature-extractor weights load into the ABN model under `features.`.
    shared = {f"features.{k}": v for k, v in plain.state_dict().items() if k.startswith("layer1")}
    assert not abn.load_state_dict(shared, strict=False).unexpected_keys


def test_alexnet_is_the_published_architecture():
    model = build("alexnet", num_classes=1000)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 256, 384, 384, 256]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]  # the two-GPU split
    assert convs[0].kernel_size == (11, 11) and convs[0].stride == (4, 4)
    assert isinstance(model.features.norm1, nn.LocalResponseNorm)
    assert isinstance(model.features.norm2, nn.LocalResponseNorm)
    assert [type(m).__name__ for m in model.classifier] == [
        "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear",
    ]  # fmt: skip
    assert model.classifier.drop6.p == 0.5
    assert torch.all(model.features.conv2.bias == 1) and torch.all(model.features.conv1.bias == 0)
    model.eval()
    assert model.features(torch.randn(1, 3, 224, 224)).shape == (1, 256, 6, 6)


def test_alexnet_norm_choice_replaces_lrn_where_it_stands():
    model = build("alexnet", num_classes=10, norm="bn")
    assert (
        isinstance(model.features.norm1, nn.BatchNorm2d) and model.features.norm1.num_features == 96
    )
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in model.modules())


# One member of every family: each forwards the map choice to the attention branch.
ONE_PER_FAMILY = sorted(LIGHT | {"cifar_wrn16_8", "cifar_resnext29_8x64d"})
MAP_CONVS = {"positive": (3, SoftplusConv2d), "3x3": (3, nn.Conv2d), "1x1": (1, nn.Conv2d)}


def test_abn_map_choices_are_exported():
    assert ABN_MAPS == tuple(MAP_CONVS) == ("positive", "3x3", "1x1")


def test_every_family_builds_the_abn_map_conv_asked():
    for name in ONE_PER_FAMILY:
        for abn_map in (None, *ABN_MAPS):  # None: the default, "positive"
            with torch.device("meta"):
                options = {} if abn_map is None else {"abn_map": abn_map}
                model = build(name, num_classes=5, abn=True, **options)
            kernel, conv_type = MAP_CONVS[abn_map or "positive"]
            conv = model.attention_branch.to_attention
            assert type(conv) is conv_type and conv.kernel_size == (kernel, kernel), name


@pytest.mark.parametrize("abn_map", ABN_MAPS)
def test_abn_map_sets_the_map_conv_and_keeps_every_shape(abn_map):
    torch.manual_seed(0)
    model = build("cifar_resnet20", num_classes=7, abn=True, abn_map=abn_map)
    branch = model.attention_branch
    conv = branch.to_attention
    kernel = MAP_CONVS[abn_map][0]
    assert conv.kernel_size == (kernel, kernel) and conv.padding == (kernel // 2, kernel // 2)
    assert conv.bias is None and isinstance(branch.attention_norm, nn.BatchNorm2d)  # as the authors
    # A kxk conv: one active position of the class maps reaches a kxk patch of the map.
    impulse = torch.zeros(1, 7, 8, 8)
    impulse[0, :, 4, 4] = 1.0
    assert int((conv(impulse)[0, 0] != 0).sum()) == kernel * kernel
    _check_forward_backward(model, torch.randn(2, 3, 32, 32), 7)  # the attention map is 16x16


def test_abn_maps_give_the_same_output_shapes():
    images = torch.randn(2, 3, 32, 32)
    outputs = [
        build("cifar_resnet20", num_classes=7, abn=True, abn_map=abn_map).eval()(images)
        for abn_map in ABN_MAPS
    ]
    assert all([o.shape for o in out] == [o.shape for o in outputs[0]] for out in outputs)
    assert outputs[0].attention.shape == (2, 1, 16, 16)


def test_the_positive_map_rises_with_every_class_map_and_keeps_the_state_dict_keys():
    torch.manual_seed(0)
    model = build("cifar_resnet20", num_classes=7, abn=True, abn_map="positive")
    conv = model.attention_branch.to_attention
    assert torch.all(conv.effective_weight > 0)
    assert torch.any(conv.weight < 0)  # the stored weights are free: softplus makes them positive
    # Raising one response map anywhere never lowers the map's logits anywhere.
    maps = torch.rand(2, 7, 8, 8)
    raised = maps.clone()
    raised[:, 3, 2:6, 1:4] += 1.0
    with torch.no_grad():
        assert torch.all(conv(raised) >= conv(maps)) and torch.any(conv(raised) > conv(maps))
    free = build("cifar_resnet20", num_classes=7, abn=True, abn_map="3x3")
    state = model.state_dict()
    assert list(state) == list(free.state_dict())
    free.load_state_dict(state)  # the same tensors load either way; only their use differs
    assert torch.equal(free.attention_branch.to_attention.weight, conv.weight)


def test_attention_branch_maps_are_free_unless_asked():
    assert type(AttentionBranch(4, 3).to_attention) is nn.Conv2d  # the RL agents' branch
    positive = AttentionBranch(4, 3, map_kernel_size=3, positive_map=True)
    assert isinstance(positive.to_attention, SoftplusConv2d)
    assert "to_attention.weight" in positive.state_dict()
    assert positive(torch.rand(2, 4, 5, 5)).attention.shape == (2, 1, 5, 5)


@pytest.mark.parametrize("abn_map", ["3", "softplus", "", 3])
def test_other_abn_maps_are_one_clear_error(abn_map):
    message = rf"^Unknown ABN map {abn_map!r}; choose one of positive, 3x3, 1x1\.$"
    with pytest.raises(ValueError, match=message):
        build("cifar_resnet20", num_classes=7, abn=True, abn_map=abn_map)
