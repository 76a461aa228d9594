"""The README's clip and picture, made again from an agent checkpoint.

    python benchmarks/readme_media.py abnrl/pretrained/breakout-abn-ppo.zip \
        --explainers attention gradcam --seconds 20 --picture-at 8

writes ``docs/breakout-attention.mp4`` (the first ``--seconds`` of a game, 60 fps, as
``abnrl watch`` records it) and ``docs/breakout-attention.png`` (the clip's frame at
``--picture-at`` seconds), and prints the game's score so far and where the picture is.
Both files are written atomically; the seed makes them repeatable on one machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from abnrl.media.recording import EMULATOR_FPS, record_games
from abnrl.media.video import FrameComposer
from abnrl.training.checkpoints import load_checkpoint
from agents.policy_view import policy_network
from vision.files import write_atomic

DOCS = Path(__file__).resolve().parent.parent / "docs"


def make_media(
    checkpoint: Path,
    *,
    explainers: list[str],
    seconds: float,
    picture_at: float,
    seed: int,
    out: Path,
) -> None:
    """Write ``out``.mp4 and ``out``.png (see the module's docstring)."""
    picture_frame = round(picture_at * EMULATOR_FPS)
    frames = round(seconds * EMULATOR_FPS)
    if not 0 <= picture_frame < frames:
        raise SystemExit(f"--picture-at {picture_at} lies outside the {seconds} s clip.")
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    model, meta = load_checkpoint(checkpoint, device="cpu")
    picture: list[np.ndarray] = []
    written = 0

    def keep_picture(composer: FrameComposer) -> None:
        nonlocal written
        if written == picture_frame:
            picture.append(composer.rgb())
        written += 1

    recording = record_games(
        policy_network(model.policy).eval(),
        meta["game"],
        out.with_suffix(".mp4"),
        protocol=meta["protocol"],
        explainers=explainers,
        max_frames=frames,
        seed=seed,
        on_frame=keep_picture,
    )
    if not picture:
        raise SystemExit(f"The game ended after {recording.frames} frames, before --picture-at.")
    rgb = cv2.cvtColor(picture[0], cv2.COLOR_RGB2BGR)
    write_atomic(out.with_suffix(".png"), lambda tmp: cv2.imwrite(str(tmp), rgb), suffix=".png")
    score, steps, _ = recording.games[0]
    print(
        f"wrote {out.with_suffix('.mp4')} ({recording.frames} frames; score {score:.0f} "
        f"after {steps} agent steps) and {out.with_suffix('.png')} (frame {picture_frame})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--explainers", nargs="+", default=["attention", "gradcam"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--picture-at", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DOCS / "breakout-attention")
    args = parser.parse_args()
    make_media(
        args.checkpoint,
        explainers=args.explainers,
        seconds=args.seconds,
        picture_at=args.picture_at,
        seed=args.seed,
        out=args.out,
    )


if __name__ == "__main__":
    main()
