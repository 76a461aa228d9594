"""Any image classification folder: ``root/train/<class>/*.jpg`` and ``root/val/<class>/*``.

Read with torchvision's ``ImageFolder``; the test split is ``val/`` or, failing
that, ``test/``. Preprocessing is the ImageNet recipe of the ResNet paper:
random-resized crops and flips for training, resize to 8/7 of the size and a
centre crop for testing, and ImageNet's channel statistics.
"""

from __future__ import annotations

from pathlib import Path

from torchvision import transforms
from torchvision.datasets import ImageFolder

from vision.data.image_limits import load_rgb, open_limited
from vision.data.splits import DatasetSplits

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_image_folder(root: Path, *, image_size: int = 224, augment: bool = True) -> DatasetSplits:
    """The class folders under ``root/train`` and ``root/val`` (or ``root/test``).

    Raises:
        FileNotFoundError: a split folder is missing or holds no images.
        ValueError: the two splits have different classes.
    """
    root = Path(root)
    train_dir = root / "train"
    test_dir = next((root / name for name in ("val", "test") if (root / name).is_dir()), None)
    if not train_dir.is_dir() or test_dir is None:
        raise FileNotFoundError(
            f"{root} needs a train/ and a val/ (or test/) folder with one subfolder per class."
        )
    normalize = transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    evaluation = transforms.Compose(
        [
            transforms.Resize(round(image_size * 8 / 7)),
            transforms.CenterCrop(image_size),
            transforms.ToTensor(),
            normalize,
        ]
    )
    training = transforms.Compose(
        [
            transforms.RandomResizedCrop(image_size),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            normalize,
        ]
    )
    train = ImageFolder(
        str(train_dir), transform=training if augment else evaluation, loader=load_rgb
    )
    test = ImageFolder(str(test_dir), transform=evaluation, loader=load_rgb)
    # Every image's size, from its header, before any work (load_rgb checks again).
    for path, _ in (*train.samples, *test.samples):
        open_limited(path).close()
    if train.classes != test.classes:
        raise ValueError(f"{train_dir} and {test_dir} must have the same class folders.")
    return DatasetSplits(
        name=root.name,
        train=train,
        test=test,
        classes=tuple(train.classes),
        image_size=image_size,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
    )
