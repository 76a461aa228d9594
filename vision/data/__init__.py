"""Datasets for training the classifiers: digits, shapes, CIFAR-10/100, any image folder.

``load_dataset(name, root=...)`` returns a ``DatasetSplits``: train and test
splits of (normalized image, label) items, the class names, the image size and
the normalization, which a checkpoint keeps so the model can read new images.
Nothing is ever downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from vision.data.cifar import load_cifar
from vision.data.digits import load_digits
from vision.data.image_folder import load_image_folder
from vision.data.shapes import load_shapes
from vision.data.splits import DatasetSplits
from vision.data.tensors import Augmentation, ImageTensorDataset

DatasetName = Literal["digits", "shapes", "cifar10", "cifar100", "imagefolder"]
DATASETS: tuple[str, ...] = get_args(DatasetName)


def load_dataset(
    name: str,
    *,
    root: Path | str | None = None,
    image_size: int | None = None,
    seed: int = 0,
    augment: bool = True,
) -> DatasetSplits:
    """Load the dataset ``name``.

    Args:
        name: ``"digits"`` (scikit-learn's, 32x32), ``"shapes"`` (generated, 32x32,
            with object masks), ``"cifar10"`` / ``"cifar100"`` (from ``root``, 32x32)
            or ``"imagefolder"`` (``root/train`` and ``root/val`` class folders).
        root: the data folder (CIFAR and image folders).
        image_size: side of the images for ``"imagefolder"`` (default 224); the
            other datasets have a fixed size and refuse another.
        seed: seed of the training augmentation.
        augment: augment the training split.

    Raises:
        ValueError: unknown dataset, a missing ``root`` or an impossible ``image_size``.
        FileNotFoundError: the data is not where ``root`` says.
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")
    if name in ("cifar10", "cifar100", "imagefolder"):
        if root is None:
            raise ValueError(f"The {name} dataset needs --data-root, the folder that holds it.")
        folder = Path(root)
        if name == "imagefolder":
            return load_image_folder(folder, image_size=image_size or 224, augment=augment)
    if image_size not in (None, 32):
        raise ValueError(f"The {name} dataset has 32x32 images; leave the image size unset.")
    if name == "digits":
        return load_digits(seed=seed, augment=augment)
    if name == "shapes":
        return load_shapes(seed=seed, augment=augment)
    return load_cifar(name, folder, seed=seed, augment=augment)


__all__ = [
    "DATASETS",
    "DatasetName",
    "Augmentation",
    "DatasetSplits",
    "ImageTensorDataset",
    "load_cifar",
    "load_dataset",
    "load_digits",
    "load_image_folder",
    "load_shapes",
]
