"""Receptive-field registration: where a layer's cells look, and maps placed there."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from agents.actor_critic import ABNActorCritic, motion_channel, receptive_field_windows
from agents.attention import attention_spec
from agents.backbones import impala_cnn, nature_cnn
from tests.vision.explain_toys import TinyPolicy
from vision.explain import ABNAttention, normalize_per_sample
from vision.explain.base import upsample
from vision.explain.registration import (
    Registration,
    analytic_registration,
    empirical_registration,
    layer_registration,
    symmetric_centre,
)
from vision.models import build_detector
from vision.models.detection import detector_registration

IMAGE = torch.zeros(1, 1, 48, 48)


def tent_filters(net: nn.Module) -> nn.Module:
    """Every conv a tent filter (weights rising to the kernel's middle, no bias): a point
    lights the cells whose windows hold it, the most the one centred on it."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                size = module.kernel_size[0]
                tent = torch.minimum(torch.arange(1.0, size + 1), torch.arange(size, 0.0, -1))
                module.weight.copy_((tent[:, None] * tent[None, :]).expand_as(module.weight))
                if module.bias is not None:
                    module.bias.zero_()
    return net.eval()


HAND_MADE = {
    # name: (net, centre of cell 0, stride, receptive field), per axis alike
    "no padding": (nn.Sequential(nn.Conv2d(1, 1, 5), nn.ReLU(), nn.Conv2d(1, 1, 3)), 3.0, 1, 7),
    "padding": (
        nn.Sequential(nn.Conv2d(1, 1, 5, padding=2), nn.Conv2d(1, 1, 3, padding=1)),
        0.0,
        1,
        7,
    ),
    "stride": (
        nn.Sequential(nn.Conv2d(1, 1, 4, stride=2), nn.Conv2d(1, 1, 3, stride=2)),
        3.5,
        4,
        8,
    ),
    "dilation": (nn.Sequential(nn.Conv2d(1, 1, 3, dilation=3)), 3.0, 1, 7),
    "pooling": (
        nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3), nn.AvgPool2d(2)),
        4.5,
        4,
        10,
    ),
}


@pytest.mark.parametrize("name", list(HAND_MADE))
def test_analytic_registration_of_hand_made_nets(name):
    net, offset, stride, extent = HAND_MADE[name]
    found = analytic_registration(net.eval(), net, IMAGE)
    assert found is not None and found.method == "analytic"
    assert found.offset == (offset, offset) and found.stride == (stride, stride)
    assert found.extent == (extent, extent)


@pytest.mark.parametrize("name", list(HAND_MADE))
def test_empirical_registration_agrees_with_the_analytic_one(name):
    net, offset, stride, _ = HAND_MADE[name]
    found = empirical_registration(tent_filters(net), net, IMAGE)
    assert found.method == "empirical"
    # Within a pixel: a padded net's edge cells see a cut window.
    assert found.offset == pytest.approx((offset, offset), abs=1.0)
    assert found.stride == pytest.approx((stride, stride), abs=0.1)


@pytest.mark.parametrize("name", ["no padding", "stride", "dilation"])
def test_a_point_at_a_cells_centre_lights_that_cell(name):
    net, *_ = HAND_MADE[name]
    net = tent_filters(net)
    found = analytic_registration(net, net, IMAGE)
    assert found is not None
    ys, xs = found.centres(0), found.centres(1)
    for row, col in ((0, 0), (found.grid[0] // 2, 1), (found.grid[0] - 1, found.grid[1] - 1)):
        image = torch.zeros_like(IMAGE)
        # A centre between pixels lies between two of them: light both.
        for y in {int(ys[row].floor()), int(ys[row].ceil())}:
            for x in {int(xs[col].floor()), int(xs[col].ceil())}:
                image[0, 0, y, x] = 1.0
        with torch.no_grad():
            response = net(image)[0, 0]
        assert divmod(int(response.argmax()), response.shape[1]) == (row, col)
        assert found.cell_of(ys[row], xs[col]) == (row, col)


def test_nature_cnn_cells_sit_at_their_windows_centres():
    conv1, conv2 = nature_cnn(20).stem, nature_cnn(9).stem
    observation = torch.zeros(1, 4, 84, 84)
    for stem, offset, stride, extent in ((conv1, 3.5, 4, 8), (conv2, 9.5, 8, 20)):
        found = layer_registration(stem, stem, observation)
        assert (found.offset, found.stride, found.extent) == (
            (offset, offset),
            (stride, stride),
            (extent, extent),
        )
    conv3 = nn.Sequential(*nature_cnn(9).stem, nn.Conv2d(64, 64, 3))  # SB3's CnnPolicy conv3
    found = layer_registration(conv3, conv3, observation)
    assert found.grid == (7, 7) and found.offset == (17.5, 17.5) and found.stride == (8, 8)
    # The even stretch would put conv2's cells at 4.2 ... 78.8: up to 5.3 px off.
    even = Registration.even((9, 9), (84, 84))
    shift = (layer_registration(conv2, conv2, observation).centres(0) - even.centres(0)).abs()
    assert shift.max() == pytest.approx(84 / 9 / 2 - 0.5 + 84 / 9 * 8 - 73.5, abs=1e-4)


def test_residual_networks_are_registered_through_their_graph():
    model = resnet18(weights=None).eval()
    found = layer_registration(model, model.layer4, torch.zeros(1, 3, 224, 224))
    # Each stride-2 stage keeps cell 0 on pixel 0: cells at 32i, half a cell before the
    # even stretch's 32i + 15.5.
    assert found.method == "analytic" and found.grid == (7, 7)
    assert found.offset == (0.0, 0.0) and found.stride == (32.0, 32.0)
    impala = impala_cnn().stem.eval()
    found = layer_registration(impala, impala, torch.zeros(1, 4, 84, 84))
    assert found.method == "analytic" and found.offset == (0.0, 0.0) and found.stride == (4, 4)
    # A plain chain is no residual network: the chain walk refuses it, the graph does not.
    assert analytic_registration(impala, impala, torch.zeros(1, 4, 84, 84), graph=False) is None


def test_empirical_registration_of_a_residual_network_is_near_the_analytic_one():
    impala = impala_cnn().stem.eval()
    found = empirical_registration(impala, impala, torch.zeros(1, 4, 84, 84))
    assert found.offset == pytest.approx((0.0, 0.0), abs=2.0)
    assert found.stride == pytest.approx((4.0, 4.0), abs=0.25)


def test_even_placement_is_what_interpolate_does_and_registered_placement_moves_the_cells():
    maps = torch.rand(3, 9, 9)
    torch.testing.assert_close(
        Registration.even((9, 9), (84, 84)).place(maps), upsample(maps, (84, 84))
    )
    conv2 = Registration((9, 9), (84, 84), (9.5, 9.5), (8.0, 8.0), "analytic", (20.0, 20.0))
    one_hot = torch.zeros(1, 9, 9)
    one_hot[0, 3, 5] = 1.0
    placed = conv2.place(one_hot)[0]  # centre (33.5, 49.5): the four pixels around it peak
    assert placed[33:35, 49:51].min() == placed.max() == (1 - 0.5 / 8) ** 2
    # Beyond the outermost centres the edge cells' values hold.
    constant_edge = conv2.place(torch.ones(1, 9, 9))
    assert (constant_edge == 1).all()
    with pytest.raises(ValueError, match="for 9x9 maps"):
        conv2.place(torch.zeros(1, 7, 7))


def test_symmetric_centre_is_not_pulled_in_by_the_image_edge():
    positions = torch.arange(40, dtype=torch.float64)
    cut = torch.exp(-((positions - 3.0) ** 2) / (2 * 6.0**2))  # a wide profile centred at 3
    plain = float((cut * positions).sum() / cut.sum())
    assert plain > 5 and symmetric_centre(cut) == pytest.approx(3.0, abs=0.3)
    assert symmetric_centre(torch.zeros(5, dtype=torch.float64)) != symmetric_centre(cut)


def test_explainers_place_coarse_maps_by_their_grids_registration():
    torch.manual_seed(0)
    policy = TinyPolicy().eval()
    observations = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    with ABNAttention(policy) as registered, ABNAttention(policy, placement="even") as even:
        placed, stretched = registered(observations), even(observations)
    assert placed.registration.method == "analytic" and stretched.registration.method == "even"
    torch.testing.assert_close(placed.raw, stretched.raw)
    assert not torch.allclose(placed.maps, stretched.maps)
    expected = normalize_per_sample(upsample(stretched.raw, (84, 84)))
    torch.testing.assert_close(stretched.maps, expected)


def test_the_agents_maps_are_placed_on_conv2s_cells():
    agent = ABNActorCritic(4, attention_spec("softmax", heads=2, motion=True)).eval()
    observations = torch.randint(0, 256, (1, 4, 84, 84), dtype=torch.uint8)
    with ABNAttention(agent) as attention:
        found = attention(observations).registration
    assert (found.grid, found.offset, found.stride) == ((9, 9), (9.5, 9.5), (8.0, 8.0))


def test_motion_is_pooled_over_each_cells_receptive_field():
    windows = receptive_field_windows(nature_cnn(9).stem)
    assert windows == (20, 8, 0)
    assert receptive_field_windows(impala_cnn().stem) is None  # not a plain chain: even tiles
    observations = torch.zeros(1, 4, 84, 84, dtype=torch.uint8)
    observations[0, -1, 80, 40] = 255  # a change at row 80: conv2's bottom row sees 64-83
    registered = motion_channel(observations, 9, windows)[0, 0]
    even = motion_channel(observations, 9)[0, 0]
    assert registered[:, 4].nonzero().flatten().tolist() == [8]
    assert even[:, 4].nonzero().flatten().tolist() == [8]
    observations[0, -1, 80, 40], observations[0, -1, 70, 2] = 0, 255  # rows 64-83 and 56-75
    registered = motion_channel(observations, 9, windows)[0, 0]
    assert registered[:, 0].nonzero().flatten().tolist() == [7, 8]  # both windows hold it
    assert motion_channel(observations, 9)[0, 0][:, 0].nonzero().flatten().tolist() == [7]


def test_a_detectors_backbone_is_registered_through_its_resize():
    detector = build_detector("faster_rcnn", num_classes=4, backbone="resnet18_fpn").eval()
    frame = torch.rand(3, 210, 160)  # resized 3.94x (min_size 630) before the backbone
    found = detector_registration(detector, detector.backbone.body.layer4, frame)
    assert found.method == "analytic" and found.size == (210, 160)
    scale = (826 / 210, 630 / 160)  # the resized frame's height and width
    assert found.stride == pytest.approx((32 / scale[0], 32 / scale[1]))
    assert found.offset == pytest.approx((0.5 / scale[0] - 0.5, 0.5 / scale[1] - 0.5))
