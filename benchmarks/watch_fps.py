"""Frames/s of ``abnrl watch`` end to end (policy, map, overlay, encoding), per explainer.

"none" is a plain gameplay recording (policy and video, no heat map): the ABN
map's cost is its time over that one. Real time is 60 frames/s.

    python benchmarks/watch_fps.py --frames 1200
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from abnrl.commands.watch import WatchConfig
from abnrl.commands.watch import run as watch


def frames_per_second(explainer: str, frames: int, folder: Path) -> float:
    config = WatchConfig(pretrained=True, explainer=explainer, max_frames=frames,
                         out=folder / f"{explainer}.mp4", device="cpu")
    start = time.perf_counter()
    watch(config)
    return frames / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1200)
    parser.add_argument("--explainers", nargs="+",
                        default=["none", "abn", "gradcam", "perturbation"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rates = {e: frames_per_second(e, args.frames, Path(folder)) for e in args.explainers}
    print("| explainer | frames/s | x real time (60 fps) |")
    print("|---|---|---|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:.0f} | {rate / 60:.2f}x |")
    if "none" in rates and "abn" in rates:
        print(f"ABN map cost over a plain recording: {rates['none'] / rates['abn'] - 1:+.1%}")


if __name__ == "__main__":
    main()
