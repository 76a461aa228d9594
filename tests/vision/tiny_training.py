"""A classifier training run small enough for a test: a few steps on digits."""

from vision.train import TrainConfig


def tiny_training(out_dir, **overrides) -> TrainConfig:
    """ABN ResNet-20 on digits, 2 epochs of 3 steps, no progress bar or TensorBoard."""
    settings = dict(
        model="cifar_resnet20",
        abn=True,
        dataset="digits",
        epochs=2,
        batch_size=16,
        max_steps_per_epoch=3,
        out_dir=out_dir,
        progress=False,
        tensorboard=False,
    )
    return TrainConfig(**(settings | overrides))
