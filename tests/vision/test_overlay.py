"""Heat-map colouring, blending, panels and atomic PNG writing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from vision.overlay import colorize, overlay, panels, save_png, to_rgb


def test_colorize_matches_opencv_colormaps_in_rgb():
    levels = np.linspace(0, 1, 256, dtype=np.float32).reshape(16, 16)
    for name, code in (("jet", cv2.COLORMAP_JET), ("inferno", cv2.COLORMAP_INFERNO)):
        expected = cv2.applyColorMap((levels * 255).round().astype(np.uint8), code)[..., ::-1]
        np.testing.assert_array_equal(colorize(levels, name), expected)
    np.testing.assert_array_equal(colorize(levels, cv2.COLORMAP_JET), colorize(levels, "jet"))


def test_colorize_batches_tensors_and_clips():
    maps = torch.tensor([[[-1.0, 0.5], [1.0, 2.0]]] * 3)
    colours = colorize(maps)
    assert colours.shape == (3, 2, 2, 3) and colours.dtype == np.uint8
    np.testing.assert_array_equal(colours[0, 0, 0], colorize(np.zeros((1, 1)))[0, 0])
    np.testing.assert_array_equal(colours[0, 1, 1], colorize(np.ones((1, 1)))[0, 0])


def test_unknown_colormap_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown colormap 'rainbowish'"):
        colorize(np.zeros((2, 2)), "rainbowish")


@pytest.mark.parametrize("image_size", [(84, 84), (210, 160), (37, 53)])
def test_overlay_resizes_the_map_to_any_image(image_size):
    image = np.full((*image_size, 3), 100, dtype=np.uint8)
    heat = torch.rand(7, 7)
    blended = overlay(image, heat, alpha=0.4)
    assert blended.shape == (*image_size, 3) and blended.dtype == np.uint8


def test_overlay_weights_the_map_by_alpha():
    image = np.full((4, 4, 3), 200, dtype=np.uint8)
    heat = np.zeros((4, 4), dtype=np.float32)
    np.testing.assert_array_equal(overlay(image, heat, alpha=0.0), image)
    np.testing.assert_array_equal(overlay(image, heat, alpha=1.0), colorize(heat))
    half = overlay(image, heat, alpha=0.5).astype(int)
    expected = (colorize(heat).astype(int) + 200) / 2
    assert np.abs(half - expected).max() <= 1


def test_images_in_torch_and_grey_layouts():
    grey = to_rgb(torch.full((1, 5, 6), 0.5))  # (C, H, W) float in [0, 1]
    assert grey.shape == (5, 6, 3) and (grey == 128).all()
    colour = to_rgb(torch.zeros(3, 5, 6, dtype=torch.uint8))
    assert colour.shape == (5, 6, 3)
    frame = to_rgb(np.full((84, 84), 255, dtype=np.uint8))  # an Atari frame
    assert frame.shape == (84, 84, 3) and (frame == 255).all()
    with pytest.raises(ValueError, match="Expected an image"):
        to_rgb(np.zeros((4, 84, 84), dtype=np.uint8))  # a frame stack is not one image


def test_panels_lay_images_side_by_side_under_titles():
    left = np.full((84, 84, 3), 255, dtype=np.uint8)
    right = np.zeros((60, 100), dtype=np.float32)
    canvas = panels([left, right], ["frame", "Grad-CAM"], gap=4, title_height=20)
    assert canvas.shape == (20 + 84, 84 + 4 + 100, 3) and canvas.dtype == np.uint8
    assert (canvas[20:, :84] == 255).all()  # the first panel, untouched
    # Its title was drawn: white, anti-aliased (at this size its brightest pixel is 249
    # with OpenCV 4.11, the last release for NumPy 1.x, and 255 with OpenCV 5).
    assert canvas[:20, :84].max() >= 240
    assert (canvas[20:, 84:88] == 0).all()  # the gap
    untitled = panels([left, right])
    assert untitled.shape == (84, 188, 3)


def test_panels_argument_errors():
    with pytest.raises(ValueError, match="2 titles for 1 panels"):
        panels([np.zeros((2, 2))], ["a", "b"])
    with pytest.raises(ValueError, match="at least one image"):
        panels([])


def test_save_png_round_trips_and_leaves_no_temporary_file(tmp_path):
    image = np.zeros((10, 12, 3), dtype=np.uint8)
    image[..., 0] = 255  # red in RGB
    path = save_png(tmp_path / "overlay.png", image)
    read_back = cv2.imread(str(path))[..., ::-1]
    np.testing.assert_array_equal(read_back, image)
    assert [p.name for p in tmp_path.iterdir()] == ["overlay.png"]


def test_save_png_into_a_missing_folder_fails_without_leftovers(tmp_path):
    with pytest.raises(FileNotFoundError):
        save_png(tmp_path / "missing" / "overlay.png", np.zeros((2, 2, 3), dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []
