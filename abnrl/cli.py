"""The ``abnrl`` command: one entry point, a subcommand per job, flags from config dataclasses."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import inspect
import io
import os
import re
import sys
from importlib import import_module, metadata
from typing import NamedTuple

from abnrl.errors import UserError
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


def parse_flags(config: type, args: list[str], prog: str, default: object = None) -> object:
    """``args`` read into the dataclass ``config`` by tyro (``--help`` prints and exits).

    Raises:
        UserError: flags that do not parse (unknown, a value of the wrong type, a choice
            outside a Literal's), in tyro's own words without its box.
    """
    import tyro  # here, not above: SIGTERM is caught before the slow imports (see main)

    _join_wrapped_help_lines()
    printed = io.StringIO()
    try:
        with contextlib.redirect_stderr(printed):
            return tyro.cli(config, args=args, prog=prog, default=default)
    except SystemExit as exit:
        if exit.code in (0, None):
            raise
        reason = _first_paragraph(printed.getvalue()) or f"see {prog} --help"
        suggestion = _suggestion(reason, config)
        sentence = _plain_choice_error(reason).rstrip(".") + (suggestion or ".")
        raise UserError(sentence) from None


def _suggestion(reason: str, config: type) -> str:
    """ "; did you mean --game?" for a mistyped flag in tyro's "Unrecognized options"."""
    if "Unrecognized options" not in reason:
        return ""
    known = [f"--{field.name.replace('_', '-')}" for field in dataclasses.fields(config)]
    guesses = [
        match
        for word in reason.replace(",", " ").split()
        if word.startswith("--")
        for match in difflib.get_close_matches(word.rstrip("."), known, n=1, cutoff=0.6)
    ]
    return f"; did you mean {' or '.join(dict.fromkeys(guesses))}?" if guesses else ""


def _join_wrapped_help_lines() -> None:
    """Have tyro print each flag's docstring as one paragraph, as written.

    tyro keeps a docstring's line break before each line that does not start with a letter
    and dedents only afterwards, so the indented continuation lines of a config field's
    docstring kept their breaks and ``--help`` split sentences mid-line. Dedenting first
    (``inspect.cleandoc``) leaves tyro's rule for what it means: lists and blank lines.
    The function is tyro's private one: should a tyro release rename it, help keeps
    tyro's own line breaks rather than the command failing.
    """
    try:
        from tyro import _strings

        join = _strings.remove_single_line_breaks
    except (ImportError, AttributeError):
        return
    if join.__name__ == "dedent_then_join":
        return  # done before (a second command in one process, as in tests)

    def dedent_then_join(helptext: str) -> str:
        return join(inspect.cleandoc(helptext))

    _strings.remove_single_line_breaks = dedent_then_join


_INVALID_CHOICE = re.compile(
    r"invalid choice '(?P<value>[^']*)' for argument '(?P<flag>[^']+)'\. "
    r"Expected one of \((?P<choices>.*)\)"
)


def _plain_choice_error(reason: str) -> str:
    """tyro's "invalid choice 'x' for argument '--f'. Expected one of ('None', 'a')" in
    the project's words, without the 'None' of an optional flag (the user cannot mean it)."""
    match = _INVALID_CHOICE.search(reason)
    if match is None:
        return reason
    # Sorted: tyro lists an optional Literal's choices in a set's order.
    choices = sorted(c for c in re.findall(r"'([^']*)'", match["choices"]) if c != "None")
    return f"Unknown {match['flag']} {match['value']!r}; choose one of {', '.join(choices)}"


def _first_paragraph(printed: str) -> str:
    """The first paragraph of a tyro error (below its title, and its rule when plain):
    what is wrong, without the box tyro draws around it on a terminal."""
    lines = [line.strip().strip("│╭╮╰╯").strip() for line in printed.splitlines()]
    paragraph: list[str] = []
    for text in lines[1:]:  # below the title
        if not text or set(text) <= set("─-"):
            if paragraph:
                break
            continue
        paragraph.append(text)
    return re.sub(r"\s+([.,;:])", r"\1", " ".join(paragraph))  # unwrapped punctuation


def flag_value(args: list[str], flag: str) -> str | None:
    """The value given to ``flag`` in ``args`` (``--flag VALUE`` or ``--flag=VALUE``)."""
    for i, arg in enumerate(args):
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
    return None


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
