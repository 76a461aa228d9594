"""A branch of a softmax run: a copy that resumes from its latest checkpoint with a change.

The copy keeps the run's logs and config, records the change and its step in
``branches.json``, and holds the run's latest checkpoint (same step, schedules, optimizer
and RNG states) with the changes asked for:

- ``--motion``: ``experiments.grafting.graft_motion_channel``, the motion channel with zero
  weights (the same policy at the branch point; training then moves them);
- ``--map-entropy-coef C``: the weight of the maps' entropy in the loss from here on
  (a positive one sharpens the heads);
- ``--map-spread-coef C``: the weight of the maps' spread over a minibatch, subtracted
  from the loss from here on (a positive one keeps heads from parking on one cell).

    python -m experiments.branch_run runs/ship-softmax8 runs/ship-softmax8-motion --motion
    abnrl train --resume runs/ship-softmax8-motion --device cpu --threads 1
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from abnrl.training.checkpoints import load_checkpoint, save_checkpoint, set_rng_state
from abnrl.training.run_dir import RunDir
from agents.training import AttentionBranchTraining
from experiments.grafting import graft_motion_channel
from vision.files import write_json_atomic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a softmax run dir")
    parser.add_argument("copy", type=Path, help="the new run dir (must not exist)")
    parser.add_argument("--motion", action="store_true", help="graft the motion channel on")
    parser.add_argument("--map-entropy-coef", type=float, help="the maps' entropy weight")
    parser.add_argument("--map-spread-coef", type=float, help="the maps' spread weight")
    args = parser.parse_args()
    source, copy = RunDir(args.run), RunDir(args.copy)
    if copy.root.exists():
        raise SystemExit(f"{copy.root} exists; choose a new folder.")
    coefs = {"map_entropy_coef": args.map_entropy_coef, "map_spread_coef": args.map_spread_coef}
    coefs = {name: value for name, value in coefs.items() if value is not None}
    if not args.motion and not coefs:
        raise SystemExit("Nothing to change: give --motion or a maps' loss weight.")
    if any(value < 0 for value in coefs.values()):
        raise SystemExit("The maps' loss weights must be at least 0.")
    model, meta = load_checkpoint(source.latest, device="cpu")
    if not isinstance(model, AttentionBranchTraining):
        raise SystemExit(f"{source.latest} is not an ABN agent.")
    changes: dict = {}
    if args.motion:
        graft_motion_channel(model)
        changes["attention_motion"] = True
    for name, value in coefs.items():
        setattr(model, name, value)
    changes.update(coefs)
    shutil.copytree(source.root, copy.root, ignore=shutil.ignore_patterns("checkpoints", "videos"))
    config = json.loads(copy.config.read_text())
    write_json_atomic(copy.config, {**config, **changes, "run_dir": str(copy.root)})
    branch = {"step": model.num_timesteps, "from": str(source.root), "changes": changes}
    write_json_atomic(copy.branches, [*source.read_branches(), branch])
    copy.latest.parent.mkdir()
    set_rng_state(meta["rng"])  # the checkpoint keeps the run's own RNG states
    save_checkpoint(model, copy.latest, game=meta["game"], protocol=meta["protocol"])
    print(f"wrote {copy.root} at {model.num_timesteps:,} steps; continue it with --resume")


if __name__ == "__main__":
    main()
