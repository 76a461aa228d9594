"""What the shipped agent's attention shows, measured against the game's objects.

``abnrl analyze --pretrained`` with every map source, run as a benchmark: the
machine is recorded beside the results. See ``abnrl.analysis.attention`` for the
metrics.

    .venv/bin/python benchmarks/attention_analysis.py --threads 1
    .venv/bin/python benchmarks/attention_analysis.py --episodes 10 --every 20
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from abnrl.commands.analyze import AnalyzeConfig, run
from abnrl.machine import cpu_model
from vision.files import write_json_atomic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=30, help="evaluation games")
    parser.add_argument("--every", type=int, default=10, help="score every Nth agent step")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path("runs/attention-analysis"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    config = AnalyzeConfig(
        pretrained=True,
        episodes=args.episodes,
        every=args.every,
        device=args.device,
        out=args.out,
    )
    run(config)
    results_path = args.out / "attention-analysis.json"
    results = json.loads(results_path.read_text())
    results["machine"] = cpu_model() if args.device == "cpu" else torch.cuda.get_device_name()
    results["threads"] = args.threads
    write_json_atomic(results_path, results)


if __name__ == "__main__":
    main()
