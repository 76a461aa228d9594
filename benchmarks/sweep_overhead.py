"""What ``abnrl sweep`` costs over running the same trials one after another by hand.

Both sides train the same trials with the same threads, one at a time: by hand, one
``abnrl train`` process per trial; on Ray, one sweep whose trials each reserve every
core of a new local Ray instance (so they too run one at a time). The sides alternate,
A B A B, so that a drift of the machine's speed falls on both. The difference is Ray's
start, its workers' start and the driver's bookkeeping: a fixed cost per sweep and per
trial, whose share shrinks as trials grow.

    python benchmarks/sweep_overhead.py --steps 20000 --trials 2 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Options shared by both sides: no evaluations or videos, so that both time training.
TRAIN = {"eval-every": "0", "video-frames": "0", "device": "cpu"}


def by_hand(folder: Path, steps: int, seeds: list[int], threads: int) -> float:
    started = time.perf_counter()
    for seed in seeds:
        flags = [f"--{k}={v}" for k, v in TRAIN.items()]
        flags += [f"--total-steps={steps}", f"--seed={seed}", f"--threads={threads}"]
        _abnrl("train", *flags, "--no-progress", f"--run-dir={folder / f'seed-{seed}'}")
    return time.perf_counter() - started


def on_ray(folder: Path, steps: int, seeds: list[int], threads: int) -> float:
    started = time.perf_counter()
    grid = [f"{k}={v}" for k, v in TRAIN.items()] + [f"total-steps={steps}"]
    seed_flags = ["--seeds", *map(str, seeds)]
    _abnrl("sweep", str(folder), *seed_flags, "--grid", *grid, f"--cpus-per-trial={threads}")
    return time.perf_counter() - started


def _abnrl(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "abnrl.cli", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="agent steps per trial")
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    seeds = list(range(args.trials))
    times: dict[str, list[float]] = {"by hand": [], "abnrl sweep": []}
    for _ in range(args.repeats):
        for side, measure in (("by hand", by_hand), ("abnrl sweep", on_ray)):
            folder = Path(tempfile.mkdtemp(prefix="sweep-overhead-"))
            try:
                times[side].append(measure(folder, args.steps, seeds, args.threads))
            finally:
                shutil.rmtree(folder)
    hand, ray = (statistics.median(times[side]) for side in times)
    print(f"{args.trials} trials of {args.steps} agent steps, {args.threads} threads each")
    print("| side | runs (s) | median (s) |")
    print("|---|---|---|")
    for side, runs in times.items():
        print(f"| {side} | {', '.join(f'{t:.1f}' for t in runs)} | {statistics.median(runs):.1f} |")
    print(
        f"overhead: {ray - hand:+.1f} s in all, {(ray - hand) / args.trials:+.1f} s per trial, "
        f"{100 * (ray / hand - 1):+.1f}% of {hand:.0f} s"
    )


if __name__ == "__main__":
    main()
