"""Detection datasets: Breakout frames labelled from the RAM, synthetic shapes, COCO folders."""

import json

import numpy as np
import pytest
import torch

from abnrl.breakout_objects import breakout_objects_dataset
from vision.detection import (
    DetectionDataset,
    detection_metrics,
    read_coco,
    shapes_detection_dataset,
    write_coco,
)

BALL_COLOUR = (200, 72, 72)  # ball and paddle share it


@pytest.fixture(scope="module")
def breakout(tmp_path_factory):
    return breakout_objects_dataset(60, seed=3, cache_dir=tmp_path_factory.mktemp("cache"))


def test_ball_boxes_cover_the_ball_pixels(breakout):
    checked = 0
    for image, boxes, labels in zip(breakout.images, breakout.boxes, breakout.labels, strict=True):
        ball_pixels = (image == BALL_COLOUR).all(axis=-1)
        ball_pixels[:100] = False  # the red brick row shares the colour,
        ball_pixels[189:] = False  # so do the paddle
        ball_pixels[:, :8] = ball_pixels[:, 152:] = False  # and the walls' feet
        ys, xs = np.nonzero(ball_pixels)
        balls = boxes[labels == 1]
        if len(ys) == 0:
            continue
        assert len(balls) == 1
        x0, y0, x1, y1 = balls[0]
        assert (x0 <= xs).all() and (xs < x1).all() and (y0 <= ys).all() and (ys < y1).all()
        checked += 1
    assert checked >= 10


def test_every_frame_has_a_paddle_whose_mask_is_its_pixels(breakout):
    for index in range(20):
        image, target = breakout[index]
        assert image.shape == (3, 210, 160) and 0 <= image.min() and image.max() <= 1
        paddles = (target["labels"] == 2).nonzero()[:, 0]
        assert len(paddles) == 1
        mask = target["masks"][paddles[0]].bool().numpy()
        if mask.any():
            assert (breakout.images[index][mask] == BALL_COLOUR).all()


def test_breakout_frames_are_reproducible_and_cached(breakout, tmp_path):
    again = breakout_objects_dataset(60, seed=3, cache_dir=tmp_path)
    cached = breakout_objects_dataset(60, seed=3, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    for first, second, third in zip(breakout.images, again.images, cached.images, strict=True):
        np.testing.assert_array_equal(first, second)
        np.testing.assert_array_equal(first, third)
    for first, third in zip(breakout.boxes, cached.boxes, strict=True):
        np.testing.assert_array_equal(first, third)


def test_shape_boxes_are_tight_around_their_masks():
    shapes = shapes_detection_dataset(20, seed=5)
    for index in range(len(shapes)):
        _, target = shapes[index]
        for box, mask in zip(target["boxes"], target["masks"], strict=True):
            ys, xs = mask.nonzero(as_tuple=True)
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    np.testing.assert_array_equal(shapes.images[3], shapes_detection_dataset(20, seed=5).images[3])


def test_coco_round_trip(tmp_path):
    shapes = shapes_detection_dataset(4, seed=1)
    read = read_coco(write_coco(shapes, tmp_path).parent)
    assert read.classes == shapes.classes
    for name in ("images", "boxes", "labels", "masks"):
        for ours, theirs in zip(getattr(shapes, name), getattr(read, name), strict=True):
            np.testing.assert_array_equal(ours, theirs)


def test_coco_without_segmentation_takes_masks_from_boxes(tmp_path):
    write_coco(shapes_detection_dataset(2, seed=1), tmp_path)
    coco = json.loads((tmp_path / "annotations.json").read_text())
    for annotation in coco["annotations"]:
        del annotation["segmentation"]
    (tmp_path / "annotations.json").write_text(json.dumps(coco))
    read = read_coco(tmp_path)
    assert read.masks is None and read[0][1]["masks"].shape[0] == len(read.boxes[0])


@pytest.mark.parametrize("content", [None, "{not json", '{"images": []}'])
def test_bad_coco_folders_are_clear_errors(tmp_path, content):
    if content is not None:
        (tmp_path / "annotations.json").write_text(content)
    with pytest.raises(ValueError, match="COCO annotation file"):
        read_coco(tmp_path)


def test_mismatched_dataset_lists_are_rejected():
    with pytest.raises(ValueError, match="differ in number"):
        DetectionDataset([np.zeros((4, 4, 3), np.uint8)], [], [], ("a",))


def _detections(boxes, labels, scores=None):
    result = {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)}
    result["labels"] = torch.tensor(labels, dtype=torch.long)
    if scores is not None:
        result["scores"] = torch.tensor(scores)
    return result


def test_ap50_ranks_detections_by_score_with_coco_interpolation():
    truth = [_detections([[0, 0, 10, 10], [20, 20, 30, 30]], [1, 1])]
    perfect = [_detections([[0, 0, 10, 10], [20, 20, 30, 30]], [1, 1], [0.9, 0.8])]
    assert detection_metrics(perfect, truth, ("ball",))["ap50/ball"] == pytest.approx(1.0)
    # ranked hit, miss, hit: precision 1 up to recall 0.5, then 2/3 up to recall 1, read at
    # COCO's 101 recall points 0, 0.01, ..., 1
    ranked = [
        _detections(
            [[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 31]], [1, 1, 1], [0.9, 0.8, 0.7]
        )
    ]
    expected = (51 * 1.0 + 50 * 2 / 3) / 101
    assert detection_metrics(ranked, truth, ("ball",))["ap50/ball"] == pytest.approx(expected)
    # a duplicate of a found object is a false positive: recall stops at 0.5
    duplicate = [_detections([[0, 0, 10, 10], [0, 0, 10, 10]], [1, 1], [0.9, 0.8])]
    assert detection_metrics(duplicate, truth, ("ball",))["ap50/ball"] == pytest.approx(51 / 101)
    nothing = [_detections([], [], [])]
    assert detection_metrics(nothing, truth, ("ball",))["ap50/ball"] == 0.0


def test_detection_metrics_average_the_classes_with_ground_truth():
    truth = [_detections([[0, 0, 10, 10]], [1])]
    found = [_detections([[0, 0, 10, 10]], [1], [0.9])]
    metrics = detection_metrics(found, truth, ("ball", "paddle"))
    assert metrics["ap50/ball"] == pytest.approx(1.0) and np.isnan(metrics["ap50/paddle"])
    assert metrics["map50"] == pytest.approx(1.0) and metrics["map_50_95"] == pytest.approx(1.0)


def test_mask_average_precision_matches_by_mask_overlap():
    truth_masks = torch.zeros(2, 8, 8, dtype=torch.uint8)
    truth_masks[0, :4, :4] = truth_masks[1, 4:, 4:] = 1
    truth = [{**_detections([[0, 0, 4, 4], [4, 4, 8, 8]], [1, 1]), "masks": truth_masks}]
    predicted_masks = truth_masks[:, None].float() * 0.9  # (n, 1, H, W) probabilities
    predicted_masks[1, 0, 4:6] = 0  # half of the second mask is missed: IoU 0.5
    found = [
        {**_detections([[0, 0, 4, 4], [4, 4, 8, 8]], [1, 1], [0.9, 0.8]), "masks": predicted_masks}
    ]
    metrics = detection_metrics(found, truth, ("ball",), kind="masks")
    assert metrics["mask_ap50/ball"] == pytest.approx(1.0)
    # the second mask's IoU is 0.5: a hit at IoU 0.5 only, so recall 1/2 at the nine others
    at_half_recall = 51 / 101
    assert metrics["mask_map_50_95"] == pytest.approx((1.0 + 9 * at_half_recall) / 10)


@pytest.mark.parametrize(
    ("edit", "refusal"),
    [
        (lambda coco: coco["annotations"][0].update(category_id=99), "unknown category 99"),
        (lambda coco: coco["images"][0].pop("file_name"), "names no file inside"),
        (lambda coco: coco["images"][0].update(file_name="../../secret.png"), "names no file"),
        (lambda coco: coco["annotations"][0].update(bbox=[1, 2, "x", 4]), "not four numbers"),
    ],
)
def test_coco_entries_are_checked_before_any_image_is_read(tmp_path, edit, refusal):
    write_coco(shapes_detection_dataset(2, seed=1), tmp_path)
    coco = json.loads((tmp_path / "annotations.json").read_text())
    edit(coco)
    (tmp_path / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(ValueError, match=refusal):
        read_coco(tmp_path)
