"""The contract every explainer keeps: hooks, model state, devices, errors, no leaks."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
import torch
from torch import nn

from tests.vision.explain_toys import (
    TinyABN,
    TinyCNN,
    TinyPolicy,
    hook_count,
)
from vision.explain import (
    CAM,
    ABNAttention,
    ClassTarget,
    GradCAM,
    GuidedBackprop,
    GuidedGradCAM,
    InputGradient,
    PerturbationSaliency,
    SmoothGrad,
    normalize_per_sample,
)

EXPLAINERS = {
    "gradcam": lambda model: GradCAM(model),
    "guided_backprop": lambda model: GuidedBackprop(model),
    "guided_gradcam": lambda model: GuidedGradCAM(model),
    "input_gradient": lambda model: InputGradient(model),
    "smoothgrad": lambda model: SmoothGrad(InputGradient(model), samples=3, seed=0),
    "cam": lambda model: CAM(model),
    "perturbation": lambda model: PerturbationSaliency(model, stride=4, mask_sigma=2.0),
}


def model_state(model: nn.Module) -> tuple[list[bool], list[bool], list[torch.Tensor | None]]:
    return (
        [module.training for module in model.modules()],
        [param.requires_grad for param in model.parameters()],
        [param.grad for param in model.parameters()],
    )


def mixed_state_model() -> nn.Module:
    """A model in train mode with one BN frozen in eval and the first conv's weights frozen."""
    torch.manual_seed(0)
    model = TinyCNN().train()
    model.features[1].eval()
    model.features[0].weight.requires_grad_(False)
    return model


@pytest.mark.parametrize("name", list(EXPLAINERS))
def test_leaves_the_model_as_it_found_it(name):
    model = mixed_state_model()
    before = model_state(model)
    running_mean = model.features[4].running_mean.clone()
    with EXPLAINERS[name](model) as explainer:
        result = explainer(torch.randn(2, 3, 16, 16), ClassTarget([1, 2]))
    assert result.maps.shape == (2, 16, 16)
    assert model_state(model) == before
    assert all(param.grad is None for param in model.parameters())
    assert hook_count(model) == 0
    torch.testing.assert_close(model.features[4].running_mean, running_mean)  # ran in eval mode


@pytest.mark.parametrize("name", list(EXPLAINERS))
def test_an_error_inside_a_call_propagates_and_still_cleans_up(name):
    model = mixed_state_model()
    before = model_state(model)

    class FailingTarget(ClassTarget):
        def logits(self, output):
            raise KeyError("from the target")

    with pytest.raises(KeyError, match="from the target"), EXPLAINERS[name](model) as explainer:
        explainer(torch.randn(2, 3, 16, 16), FailingTarget(0))
    assert model_state(model) == before
    assert hook_count(model) == 0


def test_explains_deterministically_although_the_model_is_in_train_mode():
    model = mixed_state_model()  # dropout is active in train mode
    images = torch.randn(2, 3, 16, 16)
    with GradCAM(model) as gradcam:
        torch.testing.assert_close(gradcam(images).raw, gradcam(images).raw)


def test_works_inside_no_grad():
    model = TinyCNN().eval()
    with torch.no_grad(), GradCAM(model) as gradcam, GuidedBackprop(model) as guided:
        assert gradcam(torch.randn(1, 3, 8, 8)).maps.shape == (1, 8, 8)
        assert guided(torch.randn(1, 3, 8, 8)).maps.shape == (1, 8, 8)


def test_inputs_that_require_grad_are_left_alone():
    model = TinyCNN().eval()
    images = torch.randn(1, 3, 8, 8, requires_grad=True)
    with InputGradient(model) as gradient:
        gradient(images)
    assert images.grad is None


def test_a_closed_explainer_refuses_calls():
    model = TinyCNN().eval()
    with GuidedGradCAM(model) as explainer:
        explainer(torch.randn(1, 3, 8, 8))
    with pytest.raises(RuntimeError, match="closed"):
        explainer(torch.randn(1, 3, 8, 8))
    with pytest.raises(RuntimeError, match="closed"):
        explainer.gradcam(torch.randn(1, 3, 8, 8))


def test_the_model_is_usable_for_training_inside_the_with_block():
    model = TinyCNN().train()
    with GuidedBackprop(model) as guided:
        guided(torch.randn(2, 3, 8, 8))
        loss = model(torch.randn(2, 3, 8, 8)).square().sum()
        loss.backward()  # ordinary gradients: no guided hooks outside a call
    assert all(param.grad is not None for param in model.parameters())


def test_images_of_the_wrong_shape_are_a_clear_error():
    with GradCAM(TinyCNN()) as gradcam, pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        gradcam(torch.randn(3, 8, 8))


def test_a_target_must_give_one_score_per_sample():
    with GradCAM(TinyCNN()) as gradcam, pytest.raises(ValueError, match="one score per sample"):
        gradcam(torch.randn(2, 3, 8, 8), lambda output: output.sum())


def test_normalize_per_sample():
    maps = torch.tensor([[[1.0, 3.0], [2.0, 5.0]], [[4.0, 4.0], [4.0, 4.0]]])
    normalized = normalize_per_sample(maps)
    torch.testing.assert_close(normalized[0], torch.tensor([[0.0, 0.5], [0.25, 1.0]]))
    torch.testing.assert_close(normalized[1], torch.zeros(2, 2))  # a constant map


def test_abn_attention_leaves_the_model_as_it_found_it():
    model = TinyABN().train()
    before = model_state(model)
    with ABNAttention(model) as attention:
        attention(torch.randn(1, 3, 8, 8))
    assert model_state(model) == before
    assert hook_count(model) == 0


@pytest.mark.parametrize("name", ["gradcam", "guided_backprop"])
def test_500_calls_leak_neither_memory_nor_hooks(name):
    torch.manual_seed(0)
    model = TinyCNN().train()
    images = torch.randn(2, 3, 12, 12)
    before = model_state(model)
    with EXPLAINERS[name](model) as explainer:
        for _ in range(20):  # warm caches and allocators
            explainer(images)
        gc.collect()
        tensors_before = sum(issubclass(type(o), torch.Tensor) for o in gc.get_objects())
        tracemalloc.start()
        try:
            start, _ = tracemalloc.get_traced_memory()
            for _ in range(500):
                explainer(images)
            gc.collect()
            end, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        tensors_after = sum(issubclass(type(o), torch.Tensor) for o in gc.get_objects())
    assert end - start < 100_000, f"Python memory grew by {end - start} bytes over 500 calls"
    assert tensors_after == tensors_before
    assert hook_count(model) == 0
    assert model_state(model) == before


def test_policy_frames_are_explained_on_every_method():
    model = TinyPolicy().eval()
    frames = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    for explainer in (
        GradCAM(model),
        GuidedBackprop(model),
        InputGradient(model),
        PerturbationSaliency(model, stride=12),
        ABNAttention(model),
    ):
        with explainer:
            assert explainer(frames).maps.shape == (2, 84, 84)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("name", list(EXPLAINERS))
def test_results_are_on_the_model_device(name):
    model = TinyCNN().cuda().eval()
    with EXPLAINERS[name](model) as explainer:
        result = explainer(torch.randn(2, 3, 16, 16))  # CPU inputs go to the model
    assert result.maps.device.type == "cuda" and result.raw.device.type == "cuda"


class FlattensWithView(nn.Module):
    """Flattens its feature maps with ``.view``, as many older models do."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x)
        return self.fc(features.view(features.shape[0], -1))


@pytest.mark.parametrize("name", ["gradcam", "guided_gradcam"])
def test_a_model_that_flattens_with_view_is_explained(name):
    torch.manual_seed(0)
    model = FlattensWithView().eval()
    images = torch.randn(2, 3, 8, 8)
    with EXPLAINERS[name](model) as explainer:
        maps = explainer(images).maps
    assert maps.shape == (2, 8, 8) and maps.amax() > 0


@pytest.mark.parametrize("name", ["gradcam", "guided_gradcam", "input_gradient", "guided_backprop"])
def test_gradient_methods_refuse_to_run_inside_inference_mode(name):
    model = TinyCNN().eval()
    with EXPLAINERS[name](model) as explainer, torch.inference_mode():
        with pytest.raises(RuntimeError, match=r"inference_mode\(\) turns off"):
            explainer(torch.randn(1, 3, 8, 8))
