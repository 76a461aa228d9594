"""vision: the survey's CNN classifiers and detectors, normalization layers, optimizers and
schedules, visual explanation (CAM, Grad-CAM, Guided Backpropagation, SmoothGrad, ABN) and
the image and file helpers every package uses."""
