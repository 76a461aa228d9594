"""Frames/s of ``abnrl watch`` end to end (policy, map, overlay, encoding), per explainer.

"none" is a plain gameplay recording (policy and video, no heat map): the ABN
map's cost is its time over that one. Real time is 60 frames/s. Besides wall
time, each recording's CPU time per frame is split between this process
(policy, map, drawing, colour conversion) and the ffmpeg encoder, so the cost
of the map can be told apart from the cost of encoding its panel.

    python benchmarks/watch_fps.py --frames 1200 --repeats 3
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

from abnrl.commands.watch import WatchConfig
from abnrl.commands.watch import run as watch
from vision.explain import canonical_name


@dataclass
class Measurement:
    frames_per_second: float
    recorder_ms: float
    """CPU milliseconds per frame in this process."""
    encoder_ms: float
    """CPU milliseconds per frame in ffmpeg."""


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(explainer: str, frames: int, folder: Path, checkpoint: Path | None) -> Measurement:
    config = WatchConfig(
        path=checkpoint,
        pretrained=checkpoint is None,
        explainer=explainer,
        max_frames=frames,
        out=folder / f"{explainer}.mp4",
        device="cpu",
    )
    recorder = _cpu_seconds(resource.RUSAGE_SELF)
    encoder = _cpu_seconds(resource.RUSAGE_CHILDREN)  # ffmpeg, once it has been waited for
    start = time.perf_counter()
    watch(config)
    seconds = time.perf_counter() - start
    return Measurement(
        frames / seconds,
        (_cpu_seconds(resource.RUSAGE_SELF) - recorder) / frames * 1e3,
        (_cpu_seconds(resource.RUSAGE_CHILDREN) - encoder) / frames * 1e3,
    )


def median(measurements: list[Measurement]) -> Measurement:
    """Each field's median over repeated recordings."""
    return Measurement(
        *(
            statistics.median(getattr(m, field.name) for m in measurements)
            for field in fields(Measurement)
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1200)
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="record each explainer this many times, in turn; the medians are reported",
    )
    parser.add_argument(
        "--explainers", nargs="+", default=["none", "attention", "gradcam", "perturbation"]
    )
    parser.add_argument(
        "--checkpoint", type=Path, help="an agent's checkpoint .zip (default: the shipped agent)"
    )
    args = parser.parse_args()
    explainers = [canonical_name(e) for e in args.explainers]  # abn: attention
    runs: dict[str, list[Measurement]] = {e: [] for e in explainers}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            for explainer in explainers:
                runs[explainer].append(
                    measure(explainer, args.frames, Path(folder), args.checkpoint)
                )
    results = {e: median(measurements) for e, measurements in runs.items()}
    print(
        "| explainer | frames/s | x real time (60 fps) | recorder CPU ms/frame "
        "| encoder CPU ms/frame |"
    )
    print("|---|---|---|---|---|")
    for name, m in results.items():
        print(
            f"| {name} | {m.frames_per_second:.0f} | {m.frames_per_second / 60:.2f}x "
            f"| {m.recorder_ms:.2f} | {m.encoder_ms:.2f} |"
        )
    if "none" in results and "attention" in results:
        plain, own = results["none"], results["attention"]
        print(
            f"attention map cost over a plain recording: wall time "
            f"{plain.frames_per_second / own.frames_per_second - 1:+.1%}, recorder CPU "
            f"{own.recorder_ms / plain.recorder_ms - 1:+.1%}, encoder CPU "
            f"{own.encoder_ms / plain.encoder_ms - 1:+.1%}"
        )


if __name__ == "__main__":
    main()
