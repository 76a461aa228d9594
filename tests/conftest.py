"""One torch thread in tests: their models are small, and on a 2-core machine a second
thread (beside the emulators' threads and other processes) slows them down."""

import torch

torch.set_num_threads(1)
