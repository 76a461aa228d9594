"""Reading a command's flags: argv into its config dataclass, and single flag values.

Shared by the ``abnrl`` entry point (``abnrl.cli``) and by what checks a command's
flags ahead of running it (a sweep's trials), so they read flags exactly as the command
does, with the same one-sentence errors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import inspect
import io
import re

from abnrl.errors import UserError


def parse_flags(config: type, args: list[str], prog: str, default: object = None) -> object:
    """``args`` read into the dataclass ``config`` by tyro (``--help`` prints and exits).

    Raises:
        UserError: flags that do not parse (unknown, a value of the wrong type, a choice
            outside a Literal's), in tyro's own words without its box.
    """
    import tyro  # here, not above: SIGTERM is caught before the slow imports (abnrl.cli.main)

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
