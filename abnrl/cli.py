"""The ``abnrl`` command: one entry point, a subcommand per job, flags from config dataclasses."""

from __future__ import annotations

import os
import sys
from importlib import import_module, metadata
from typing import NamedTuple

from abnrl.errors import UserError
from abnrl.flags import parse_flags
from abnrl.termination import Terminated, held, sigterm_raises


class Command(NamedTuple):
    """A subcommand: ``abnrl.commands.<module>`` holds ``<config>`` and ``run(config) -> int``."""

    module: str
    config: str
    summary: str


COMMANDS: dict[str, Command] = {
    "train": Command("train", "TrainConfig", "train an agent (ABN-PPO by default), resumable"),
    "watch": Command("watch", "WatchConfig", "write an MP4 of an agent playing, attention on"),
    "eval": Command("eval", "EvalConfig", "play N full games with an agent, print the scores"),
    "analyze": Command(
        "analyze", "AnalyzeConfig", "measure where an agent's attention lands (RAM objects)"
    ),
    "report": Command("report", "ReportConfig", "write a run's self-contained HTML report"),
    "rollout": Command("rollout", "RolloutConfig", "play games with random actions, print scores"),
    "sweep": Command("sweep", "SweepConfig", "train a grid of agents x seeds on Ray, resumable"),
    "compare": Command(
        "compare", "CompareConfig", "compare groups of runs: IQM, CIs, improvement (rliable)"
    ),
}
# Command groups: ``abnrl <group> <command>``.
GROUPS: dict[str, dict[str, Command]] = {
    "vision": {
        "train": Command(
            "vision_train",
            "VisionTrainConfig",
            "train an image classifier (plain or ABN); resumable; torchrun-ready",
        ),
        "detect-train": Command(
            "detect_train",
            "DetectTrainConfig",
            "train a detector on Breakout frames, shapes or COCO",
        ),
        "detect": Command(
            "detect", "DetectConfig", "draw a detector's boxes, masks and Grad-CAM on images"
        ),
        "explain": Command(
            "vision_explain",
            "VisionExplainConfig",
            "overlay PNGs of where a classifier looks, with the top-k classes",
        ),
    },
}


def _usage(prog: str, names: dict[str, str]) -> str:
    width = max(map(len, names))
    lines = [f"usage: {prog} {{{','.join(names)}}} [--help]", ""]
    lines += [f"  {name:{width}s}  {summary}" for name, summary in names.items()]
    return "\n".join(lines) + "\n"


def _dispatch(commands: dict[str, Command], groups: dict, argv: list[str], prog: str) -> int:
    names = {name: c.summary for name, c in commands.items()}
    names.update({name: f"{', '.join(group)} ({name} commands)" for name, group in groups.items()})
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(_usage(prog, names))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name in groups:
        return _dispatch(groups[name], {}, rest, f"{prog} {name}")
    if name not in commands:
        raise UserError(f"unknown command {name!r}; choose one of {', '.join(names)}.")
    with held():  # the command's libraries (torch, ...): see abnrl.termination
        module = import_module(f"abnrl.commands.{commands[name].module}")
    return module.run(parse(commands[name], rest, f"{prog} {name}"))


def parse(command: Command, args: list[str], prog: str) -> object:
    """The command's config from its flags. A command module's ``defaults(args)``, when it
    has one, gives the values of the flags not given (e.g. a preset's recipe): a flag given
    always wins, whatever its value."""
    module = import_module(f"abnrl.commands.{command.module}")
    defaults = getattr(module, "defaults", None)
    default = defaults(args) if defaults is not None else None
    return parse_flags(getattr(module, command.config), args, prog, default=default)


def main(argv: list[str] | None = None) -> int:
    """Run ``abnrl``; returns the exit code (2 for a user's mistake)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--version"]:
        print(f"abnrl {metadata.version('abnrl')}")
        return 0
    try:
        with sigterm_raises():
            return _dispatch(COMMANDS, GROUPS, argv, "abnrl")
    except UserError as error:
        sys.stderr.write(f"abnrl: {error}\n")
        return 2
    except BrokenPipeError:  # the reader went away (abnrl ... | head): nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:  # a path the checks could not foresee (a full disk, /proc, ...)
        where = f" ({error.filename})" if error.filename else ""
        sys.stderr.write(f"abnrl: {error.strerror or error}{where}.\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("abnrl: interrupted.\n")
        return 130
    except Terminated:
        sys.stderr.write("abnrl: terminated (SIGTERM).\n")
        return 143


if __name__ == "__main__":
    sys.exit(main())
