"""Processes under ``torchrun``: this one's rank, the world size, its device."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

from vision.devices import resolve_device


@dataclass(frozen=True)
class Processes:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


@contextmanager
def join_processes(device: str) -> Iterator[Processes]:
    """This process's rank, the world size and its device; joins torchrun's process group."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = resolve_device(device)
    if chosen.type == "cuda" and world_size > 1:
        chosen = torch.device("cuda", local_rank)
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    joined = world_size > 1 and not dist.is_initialized()
    if joined:
        dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    try:
        yield Processes(rank, world_size, chosen)
    finally:
        if joined:
            dist.destroy_process_group()


def mean_over_processes(value: Tensor, processes: Processes) -> float:
    if processes.world_size > 1:
        value = value.clone()
        dist.all_reduce(value)
        value /= processes.world_size
    return float(value)
