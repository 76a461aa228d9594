"""COCO-format folders: ``annotations.json`` beside the images, read and written.

Boxes are COCO's ``[x, y, width, height]``; masks are written as uncompressed
RLE (column-major run lengths, starting with a background run) and read from
uncompressed RLE; annotations without a segmentation get masks from their box
(see ``DetectionDataset.masks``). Category ids are mapped to labels 1..K in id order.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from vision.data.image_limits import open_limited
from vision.detection.data import DetectionDataset, check_image
from vision.files import atomic_file

ANNOTATIONS = "annotations.json"


def write_coco(dataset: DetectionDataset, folder: Path) -> Path:
    """Write the images as PNGs and ``annotations.json`` into ``folder``; returns the JSON path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for index in range(len(dataset)):
        image = dataset.images[index]
        file_name = f"{index:06d}.png"
        with atomic_file(folder / file_name) as file:
            Image.fromarray(image).save(file, format="PNG")
        height, width = image.shape[:2]
        images.append({"id": index + 1, "file_name": file_name, "height": height, "width": width})
        objects = zip(
            dataset.boxes[index], dataset.labels[index], dataset.instance_masks(index), strict=True
        )
        for box, label, mask in objects:
            x0, y0, x1, y1 = (float(v) for v in box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": index + 1,
                    "category_id": int(label),
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": int(mask.sum()),
                    "iscrowd": 0,
                    "segmentation": {"counts": _encode_rle(mask), "size": [height, width]},
                }
            )
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(dataset.classes)]
    path = folder / ANNOTATIONS
    coco = {"images": images, "annotations": annotations, "categories": categories}
    with atomic_file(path, "w") as file:
        json.dump(coco, file)
    return path


def read_coco(folder: Path) -> DetectionDataset:
    """The dataset of a COCO-format folder (``annotations.json`` and its images).

    Raises:
        ValueError: a missing or malformed annotation file or image.
    """
    path = Path(folder) / ANNOTATIONS
    try:
        coco = json.loads(path.read_text())
        categories = sorted(coco["categories"], key=lambda c: c["id"])
        label_of = {c["id"]: i + 1 for i, c in enumerate(categories)}
        per_image: dict[int, list[dict[str, Any]]] = {image["id"]: [] for image in coco["images"]}
        for annotation in coco["annotations"]:
            per_image[annotation["image_id"]].append(annotation)
        _check_entries(path, coco, label_of)
    except FileNotFoundError:
        raise ValueError(f"No COCO annotation file at {path}.") from None
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a COCO annotation file ({error!r}).") from None
    images, boxes, labels, masks = [], [], [], []
    with_masks = all("segmentation" in a for a in coco["annotations"])
    for entry in coco["images"]:
        image = _read_image(Path(folder) / entry["file_name"])
        found = per_image[entry["id"]]
        images.append(image)
        boxes.append(
            np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in found)])
            .astype(np.float32)
            .reshape(-1, 4)
        )
        labels.append(np.array([label_of[a["category_id"]] for a in found], dtype=np.int64))
        if with_masks:
            shape = image.shape[:2]
            decoded = [_decode_rle(a["segmentation"], shape, path) for a in found]
            masks.append(np.stack(decoded) if decoded else np.zeros((0, *shape), dtype=bool))
    classes = tuple(c["name"] for c in categories)
    return DetectionDataset(images, boxes, labels, classes, masks=masks if with_masks else None)


def _check_entries(path: Path, coco: dict, label_of: dict) -> None:
    """Every image names a file inside the folder; every annotation a known category and
    a box of four finite numbers."""
    folder = path.parent.resolve()
    for entry in coco["images"]:
        name = entry.get("file_name")
        if not isinstance(name, str) or not (folder / name).resolve().is_relative_to(folder):
            raise ValueError(f"{path}: image {entry.get('id')} names no file inside {folder}.")
    for annotation in coco["annotations"]:
        if annotation.get("category_id") not in label_of:
            raise ValueError(
                f"{path}: an annotation of image {annotation.get('image_id')} has the unknown "
                f"category {annotation.get('category_id')!r}."
            )
        box = annotation.get("bbox")
        if not (isinstance(box, list) and len(box) == 4 and all(_finite(v) for v in box)):
            raise ValueError(f"{path}: an annotation's bbox is not four numbers.")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _read_image(path: Path) -> np.ndarray:
    try:
        with open_limited(path) as image:
            array = np.asarray(image.convert("RGB"))
    except (FileNotFoundError, UnidentifiedImageError, OSError):
        raise ValueError(f"Cannot read the image {path}.") from None
    check_image(array)
    return array


def _encode_rle(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed RLE of a mask: run lengths in column-major order, zeros first."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    edges = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]]))
    return ([0] if flat.size and flat[0] else []) + runs.tolist()


def _decode_rle(segmentation: object, shape: tuple[int, int], path: Path) -> np.ndarray:
    if not isinstance(segmentation, dict) or not isinstance(segmentation.get("counts"), list):
        raise ValueError(
            f"{path}: only uncompressed RLE masks are read; write polygons or compressed RLE "
            "as uncompressed RLE, or drop the segmentation to take masks from the boxes."
        )
    counts = np.asarray(segmentation["counts"], dtype=np.int64)
    if counts.sum() != shape[0] * shape[1]:
        raise ValueError(f"{path}: an RLE mask does not cover its {shape[0]}x{shape[1]} image.")
    values = np.arange(len(counts)) % 2 == 1  # runs alternate background, object
    return np.repeat(values, counts).reshape(shape, order="F")
