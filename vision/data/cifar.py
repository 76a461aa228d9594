"""CIFAR-10 and CIFAR-100 (Krizhevsky, 2009) from a local folder; nothing is downloaded.

The folder holds the "python version" of the datasets as distributed at
https://www.cs.toronto.edu/~kriz/cifar.html: ``cifar-10-batches-py/``
(``data_batch_1`` ... ``data_batch_5``, ``test_batch``, ``batches.meta``) or
``cifar-100-python/`` (``train``, ``test``, ``meta``); ``root`` may be the folder
itself or its parent. Training images are augmented as in the ResNet paper:
4-pixel zero-padded random crops and horizontal flips.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vision.data.splits import DatasetSplits
from vision.data.tensors import Augmentation, ImageTensorDataset
from vision.safe_pickle import NUMPY_ARRAYS, AllowlistUnpickler


@dataclass(frozen=True)
class _Layout:
    title: str
    folder: str
    train_files: tuple[str, ...]
    test_file: str
    meta_file: str
    label_key: str
    names_key: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


_LAYOUTS = {
    "cifar10": _Layout(
        "CIFAR-10", "cifar-10-batches-py",
        tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta",
        "labels", "label_names", (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
    ),
    "cifar100": _Layout(
        "CIFAR-100", "cifar-100-python", ("train",), "test", "meta",
        "fine_labels", "fine_label_names", (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762),
    ),
}  # fmt: skip


def load_cifar(name: str, root: Path, *, seed: int = 0, augment: bool = True) -> DatasetSplits:
    """CIFAR-10 (``name="cifar10"``) or CIFAR-100 (``"cifar100"``) from ``root``.

    Raises:
        FileNotFoundError: the folder or one of its files is missing.
        ValueError: a file is not a CIFAR batch.
    """
    layout = _LAYOUTS[name]
    folder = _find_folder(Path(root), layout)
    train_parts = [_read_batch(folder / file, layout) for file in layout.train_files]
    train_images = torch.cat([images for images, _ in train_parts])
    train_labels = torch.cat([labels for _, labels in train_parts])
    test_images, test_labels = _read_batch(folder / layout.test_file, layout)
    classes = _read_names(folder / layout.meta_file, layout)
    for labels, file in ((train_labels, "training"), (test_labels, layout.test_file)):
        if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < len(classes):
            raise ValueError(
                f"The {layout.title} {file} labels lie outside 0-{len(classes) - 1}, the "
                f"{len(classes)} classes of {layout.meta_file}."
            )
    augmentation = Augmentation(padding=4, flip=True) if augment else None
    return DatasetSplits(
        name=name,
        train=ImageTensorDataset(
            train_images,
            train_labels,
            mean=layout.mean,
            std=layout.std,
            augmentation=augmentation,
            seed=seed,
        ),
        test=ImageTensorDataset(test_images, test_labels, mean=layout.mean, std=layout.std),
        classes=classes,
        image_size=32,
        mean=layout.mean,
        std=layout.std,
    )


def _find_folder(root: Path, layout: _Layout) -> Path:
    for folder in (root / layout.folder, root):
        needed = [*layout.train_files, layout.test_file, layout.meta_file]
        if all((folder / file).is_file() for file in needed):
            return folder
    raise FileNotFoundError(
        f"{layout.title} not found: {root} has no {layout.folder}/ folder with "
        f"{', '.join(layout.train_files[:1])}, {layout.test_file} and {layout.meta_file} "
        "(the python version from https://www.cs.toronto.edu/~kriz/cifar.html; nothing is "
        "downloaded)."
    )


def _unpickle(path: Path, layout: _Layout) -> dict:
    # The batches are pickles of dicts of NumPy arrays, lists and strings: nothing else
    # may be built from them (a file from elsewhere must not run code).
    try:
        with path.open("rb") as file:
            return AllowlistUnpickler(file, NUMPY_ARRAYS, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise ValueError(f"{path} is not a {layout.title} file ({error}).") from None


def _read_batch(path: Path, layout: _Layout) -> tuple[torch.Tensor, torch.Tensor]:
    batch = _unpickle(path, layout)
    if not isinstance(batch, dict) or "data" not in batch or layout.label_key not in batch:
        raise ValueError(f"{path} is not a {layout.title} batch (no data or {layout.label_key}).")
    data, labels = batch["data"], batch[layout.label_key]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2):
        raise ValueError(
            f"{path} is not a {layout.title} batch (its data is not an array of bytes)."
        )
    if data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path} is not a {layout.title} batch (its images are not 32x32x3).")
    labels = np.asarray(labels) if isinstance(labels, list | np.ndarray) else np.array(None)
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise ValueError(f"{path} is not a {layout.title} batch (not one integer label per image).")
    data = data.reshape(-1, 3, 32, 32)
    return torch.from_numpy(data.copy()), torch.from_numpy(labels.astype(np.int64))


def _read_names(path: Path, layout: _Layout) -> tuple[str, ...]:
    meta = _unpickle(path, layout)
    names = meta.get(layout.names_key) if isinstance(meta, dict) else None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{path} is not a {layout.title} meta file (no {layout.names_key}).")
    return tuple(names)
