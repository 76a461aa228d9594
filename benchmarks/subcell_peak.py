"""Where is a coarse map's peak? The argmax cell's centre against a sub-cell estimate.

``abnrl analyze`` takes a map's peak as the maximum of the map upsampled bilinearly to
84x84, which for a 9x9 map is always a cell's centre: a ball anywhere else in the cell
(9.3 pixels wide) can fall outside the pointing game's 4-pixel tolerance however well
the map follows it. The ball's-cell reference (55-56% at that tolerance) is the ceiling
of that readout. This screen scores a second readout on the same frames: the centre of
mass of the 3x3 cells around the maximum (a soft-argmax confined to the peak, as
keypoint detectors refine heat maps), for each head and for the heads' mean (the
video's map). Games, seeds and sampling are those of ``abnrl analyze``.

    python benchmarks/subcell_peak.py runs/softmax8-motion-mi05-history/step-5000192.zip --games 4
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import Tensor

from abnrl.analysis.attention import SEED, frame_targets, has_attention, play_game
from abnrl.training.checkpoints import load_checkpoint
from agents.policy_view import policy_network
from envs.objects import OBSERVATION_SIZE
from vision.explain.metrics import pointing_game


def cell_peak(maps: Tensor) -> tuple[Tensor, Tensor]:
    """(N, h, w) maps -> (rows, cols) of each map's maximum."""
    width = maps.shape[-1]
    index = maps.flatten(1).argmax(dim=1)
    return index // width, index % width


def peak_points(maps: Tensor) -> dict[str, Tensor]:
    """(N, h, w) maps -> (N, 2) peak positions (x, y) in observation pixels:
    the argmax cell's centre and the 3x3 centre of mass around it."""
    count, height, width = maps.shape
    cell_y, cell_x = OBSERVATION_SIZE / height, OBSERVATION_SIZE / width
    rows, cols = cell_peak(maps)
    padded = torch.nn.functional.pad(maps, (1, 1, 1, 1))  # zero cells beyond the edge
    offsets = torch.arange(-1, 2)
    window_rows = (rows[:, None] + 1 + offsets)[:, :, None].expand(count, 3, 3)
    window_cols = (cols[:, None] + 1 + offsets)[:, None, :].expand(count, 3, 3)
    window = padded[torch.arange(count)[:, None, None], window_rows, window_cols]
    mass = window.sum(dim=(1, 2)).clamp_min(1e-12)
    centre_rows = (window * (window_rows - 1 + 0.5)).sum(dim=(1, 2)) / mass
    centre_cols = (window * (window_cols - 1 + 0.5)).sum(dim=(1, 2)) / mass
    return {
        "argmax cell": torch.stack([(cols + 0.5) * cell_x, (rows + 0.5) * cell_y], dim=1),
        "3x3 centre of mass": torch.stack([centre_cols * cell_x, centre_rows * cell_y], dim=1),
    }


def point_maps(points: Tensor) -> Tensor:
    """(N, 2) positions (x, y) -> (N, 84, 84) maps with a single 1 at each position."""
    maps = torch.zeros(len(points), OBSERVATION_SIZE, OBSERVATION_SIZE)
    xs, ys = (points.floor().long().clamp(0, OBSERVATION_SIZE - 1)).unbind(dim=1)
    maps[torch.arange(len(points)), ys, xs] = 1.0
    return maps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="an agent with softmax attention heads")
    parser.add_argument("--games", type=int, default=4)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--max-steps-per-game", type=int, default=4500)
    parser.add_argument("--tolerance", type=float, default=4.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, _ = load_checkpoint(args.checkpoint, device="cpu")
    network = policy_network(model.policy).eval()
    if not has_attention(network):
        raise SystemExit(f"{args.checkpoint} has no attention maps of its own.")
    generator = torch.Generator().manual_seed(SEED)
    hits: dict[tuple[str, str], list[Tensor]] = {}
    for game_index in range(args.games):
        game = play_game(
            network,
            SEED + game_index,
            every=args.every,
            max_steps=args.max_steps_per_game,
            generator=generator,
        )
        targets = frame_targets(game.boxes, radius=8.0)
        with torch.no_grad():
            heads = network(torch.from_numpy(np.stack(game.observations))).attention
        maps = {"mean of the heads": heads.mean(dim=1)}
        maps |= {f"head {k}": heads[:, k] for k in range(heads.shape[1])}
        for source, source_maps in maps.items():
            for readout, points in peak_points(source_maps).items():
                hit = pointing_game(point_maps(points), targets.ball, tolerance=args.tolerance)
                hits.setdefault((source, readout), []).append(hit[targets.has_ball].float())
        print(f"game {game_index + 1}/{args.games}: score {game.score:.0f}", flush=True)
    readouts = ("argmax cell", "3x3 centre of mass")
    print(f"| map | pointing: ball, {' | '.join(readouts)} |")
    print("| --- |" + " ---: |" * len(readouts))
    for source in maps:
        cells = []
        for readout in readouts:
            values = torch.cat(hits[(source, readout)])
            error = values.std() / len(values) ** 0.5
            cells.append(f"{values.mean():.3f} +- {error:.3f}")
        print(f"| {source} | {' | '.join(cells)} |")
    print(f"frames with the ball: {len(values)}")


if __name__ == "__main__":
    main()
