"""What machine this process runs on: for run dirs' records and benchmark results."""

from __future__ import annotations

import os
import platform

import torch


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def describe(device: torch.device) -> str:
    """The processor that computes on ``device`` and the cores beside it, e.g.
    "NVIDIA H200 beside 16 CPU cores" or "Intel(R) Xeon(R) ... (2 cores)"."""
    cores = os.cpu_count() or 1
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} beside {cores} CPU cores"
    return f"{cpu_model()} ({cores} cores)"
