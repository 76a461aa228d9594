"""A copy of a softmax run whose agent has the motion channel grafted on, ready to resume.

The copy keeps the run's logs and config (with ``attention_motion`` set) and holds the
run's latest checkpoint with ``agents.grafting.graft_motion_channel`` applied: the same
policy, the same step, schedules and RNG states, plus zero weights on the motion
channel that training then moves.

    python benchmarks/graft_motion.py runs/ship-softmax8 runs/ship-softmax8-motion
    abnrl train --resume runs/ship-softmax8-motion --device cpu --threads 1
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from abnrl.training.checkpoints import load_checkpoint, save_checkpoint, set_rng_state
from abnrl.training.run_dir import RunDir
from agents.grafting import graft_motion_channel
from agents.training import AttentionBranchTraining
from vision.files import write_json_atomic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a softmax run dir")
    parser.add_argument("copy", type=Path, help="the new run dir (must not exist)")
    args = parser.parse_args()
    source, copy = RunDir(args.run), RunDir(args.copy)
    if copy.root.exists():
        raise SystemExit(f"{copy.root} exists; choose a new folder.")
    model, meta = load_checkpoint(source.latest, device="cpu")
    if not isinstance(model, AttentionBranchTraining):
        raise SystemExit(f"{source.latest} is not an ABN agent.")
    graft_motion_channel(model)
    shutil.copytree(source.root, copy.root, ignore=shutil.ignore_patterns("checkpoints", "videos"))
    config = json.loads(copy.config.read_text())
    write_json_atomic(copy.config, {**config, "attention_motion": True, "run_dir": str(copy.root)})
    copy.latest.parent.mkdir()
    set_rng_state(meta["rng"])  # the checkpoint keeps the run's own RNG states
    save_checkpoint(model, copy.latest, game=meta["game"], protocol=meta["protocol"])
    print(f"wrote {copy.root} at {model.num_timesteps:,} steps; continue it with --resume")


if __name__ == "__main__":
    main()
