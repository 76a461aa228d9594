"""Datasets: digits, shapes, CIFAR from a local folder, image folders."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from tests.crafted_files import WritesAFile
from vision.data import Augmentation, ImageTensorDataset, load_dataset
from vision.data.shapes import CLASSES, generate_shapes, load_shapes, shape_mask


def test_digits_is_a_fixed_stratified_split_of_real_images():
    data = load_dataset("digits", augment=False)
    assert (len(data.train), len(data.test)) == (1438, 359)
    assert data.classes == tuple("0123456789") and data.image_size == 32
    image, label = data.test[0]
    assert image.shape == (3, 32, 32) and isinstance(label, int)
    assert torch.bincount(data.test.labels).min() >= 35  # every class in the test set
    train_images = torch.stack([data.train[i][0] for i in range(len(data.train))])
    assert train_images.mean().abs() < 0.05 and (train_images.std() - 1).abs() < 0.05
    assert load_dataset("digits").test.labels.tolist() == data.test.labels.tolist()


def test_shapes_are_deterministic_balanced_and_come_with_their_masks():
    images, labels, masks = generate_shapes(50, seed=3)
    again, _, _ = generate_shapes(50, seed=3)
    assert torch.equal(images, again)
    assert images.shape == (50, 3, 32, 32) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == [10] * len(CLASSES)
    areas = masks.flatten(1).sum(1)
    assert areas.min() > 15 and areas.max() < 32 * 32 / 2
    for image, mask in zip(images, masks, strict=True):  # one colour (and some noise) per object
        assert image.float()[:, mask].std(1).max() < 20
    data = load_shapes(train_size=20, test_size=10)
    assert data.regions.shape == (10, 32, 32) and data.classes == CLASSES


def test_shape_masks_have_the_intended_geometry():
    circle = shape_mask("circle", 32, (16.0, 16.0), 8.0)
    square = shape_mask("square", 32, (16.0, 16.0), 8.0)
    ring = shape_mask("ring", 32, (16.0, 16.0), 8.0)
    assert abs(int(circle.sum()) - np.pi * 64) < 12
    assert circle[16, 16] and not ring[16, 16] and ring[16, 10]
    assert square[10, 10] and not circle[9, 9]
    triangle = shape_mask("triangle", 32, (16.0, 16.0), 8.0)
    assert triangle[23, 10] and not triangle[9, 10]  # wide base, narrow apex


def test_augmentation_depends_only_on_seed_epoch_and_index():
    images = torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)

    def dataset(seed=7):
        return ImageTensorDataset(
            images, torch.arange(6), mean=(0.5,) * 3, std=(0.25,) * 3,
            augmentation=Augmentation(padding=2, flip=True), seed=seed,
        )  # fmt: skip

    first, second = dataset(), dataset()
    reversed_order = [second[i][0] for i in reversed(range(6))][::-1]
    assert all(torch.equal(first[i][0], reversed_order[i]) for i in range(6))
    second.set_epoch(1)
    assert any(not torch.equal(first[i][0], second[i][0]) for i in range(6))
    assert any(not torch.equal(first[i][0], dataset(seed=8)[i][0]) for i in range(6))
    plain = ImageTensorDataset(images, torch.arange(6), mean=(0.5,) * 3, std=(0.25,) * 3)
    assert torch.allclose(plain[1][0], (images[1].float() / 255 - 0.5) / 0.25)


def _write_cifar(folder, name, count):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)

    def batch(n):
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10 if name == "cifar10" else 100, size=n).tolist()
        return {"data": data, "labels" if name == "cifar10" else "fine_labels": labels}

    if name == "cifar10":
        files = {f"data_batch_{i}": batch(count) for i in range(1, 6)}
        files |= {"test_batch": batch(count), "batches.meta": {"label_names": list("abcdefghij")}}
    else:
        names = [f"class{i}" for i in range(100)]
        files = {"train": batch(count), "test": batch(count), "meta": {"fine_label_names": names}}
    for index, (file, content) in enumerate(files.items()):
        with open(folder / file, "wb") as handle:
            # The distributed files are protocol-2 pickles; newer protocols pickle arrays
            # through other NumPy globals.
            pickle.dump(content, handle, protocol=2 if index == 0 else pickle.HIGHEST_PROTOCOL)
    return files


def test_cifar10_and_cifar100_read_the_python_layout(tmp_path):
    files = _write_cifar(tmp_path / "cifar-10-batches-py", "cifar10", 6)
    data = load_dataset("cifar10", root=tmp_path, augment=False)
    assert (len(data.train), len(data.test), len(data.classes)) == (30, 6, 10)
    expected = files["data_batch_1"]["data"][0].reshape(3, 32, 32)
    assert torch.equal(data.train.images[0], torch.from_numpy(expected))
    direct = load_dataset("cifar10", root=tmp_path / "cifar-10-batches-py")
    assert len(direct.train) == 30
    _write_cifar(tmp_path / "cifar-100-python", "cifar100", 4)
    assert len(load_dataset("cifar100", root=tmp_path).classes) == 100


def test_missing_or_damaged_cifar_is_one_clear_sentence(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"CIFAR-10 not found: .* nothing is downloaded"):
        load_dataset("cifar10", root=tmp_path)
    with pytest.raises(ValueError, match="needs --data-root"):
        load_dataset("cifar100")
    _write_cifar(tmp_path / "cifar-100-python", "cifar100", 2)
    (tmp_path / "cifar-100-python" / "test").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="is not a CIFAR-100 file"):
        load_dataset("cifar100", root=tmp_path)


def test_a_cifar_file_that_would_run_code_is_refused_unrun(tmp_path):
    _write_cifar(tmp_path / "cifar-10-batches-py", "cifar10", 2)
    marker = tmp_path / "ran"
    payload = {"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1], "x": WritesAFile(marker)}
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(pickle.dumps(payload))
    with pytest.raises(ValueError, match=r"data_batch_3 is not a CIFAR-10 file .*builtins\.exec"):
        load_dataset("cifar10", root=tmp_path)
    assert not marker.exists()


def test_image_folder(tmp_path):
    for split in ("train", "val"):
        for name in ("cat", "dog"):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(2):
                colour = (200, 10 * i, 0) if name == "cat" else (0, 10 * i, 200)
                Image.new("RGB", (40, 30), colour).save(tmp_path / split / name / f"{i}.png")
    data = load_dataset("imagefolder", root=tmp_path, image_size=24)
    assert data.classes == ("cat", "dog") and len(data.train) == 4
    assert data.train[0][0].shape == data.test[3][0].shape == (3, 24, 24)
    with pytest.raises(FileNotFoundError, match="needs a train/ and a val/"):
        load_dataset("imagefolder", root=tmp_path / "train")


def test_fixed_size_datasets_refuse_another_size():
    with pytest.raises(ValueError, match="has 32x32 images"):
        load_dataset("digits", image_size=64)
    with pytest.raises(ValueError, match="Unknown dataset 'mnist'"):
        load_dataset("mnist")
