"""``abnrl COMMAND --help``: each flag's help is one paragraph, as its docstring reads."""

import sys

import pytest
import tyro

from abnrl.cli import COMMANDS, GROUPS
from tests.abnrl.cli import abnrl

COMMAND_LINES = [[name] for name in COMMANDS] + [
    [group, name] for group, commands in GROUPS.items() for name in commands
]


def help_lines_by_flag(printed):
    """Each flag of a help screen (as tyro prints it when not on a terminal) with the lines
    of help text printed for it; a help that fits beside its flag counts as one line.

    Section titles stand one space in, flags (and positional arguments) two, and help
    text that does not fit beside its flag further in, under it.
    """
    lines = {}
    flag = None
    for row in printed.splitlines():
        indent = len(row) - len(row.lstrip(" "))
        text = row.strip()
        if not text or indent == 0:
            continue  # usage, description, blank rows
        if indent == 1:
            flag = None  # a section title or its rule
        elif indent == 2:
            flag, _, beside = text.partition("  ")
            lines[flag] = [beside.strip()] if beside.strip() else []
        elif flag is not None:
            lines[flag].append(text)
    return lines


@pytest.mark.parametrize("command", COMMAND_LINES, ids=" ".join)
def test_each_flag_help_is_one_paragraph(command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # wide enough that nothing wraps
    helps = help_lines_by_flag(abnrl(*command, "--help").stdout)
    assert len(helps) > 2, "the help screen lists the command's flags"
    broken = {flag: lines for flag, lines in helps.items() if len(lines) > 1}
    assert not broken, f"help split over several lines: {broken}"


def test_help_prints_when_tyro_lacks_the_patched_function(monkeypatch):
    # The one-paragraph help relies on a private tyro function; a tyro release without
    # it must cost only the line breaks, not the command.
    monkeypatch.delattr(tyro, "_strings")
    monkeypatch.setitem(sys.modules, "tyro._strings", None)  # import fails
    result = abnrl("watch", "--help")
    assert result.returncode == 0
    assert "--explainer" in result.stdout


def test_optional_paths_show_as_path_in_usage_lines():
    for command in ("eval", "watch", "analyze"):
        usage = abnrl(command, "--help").stdout.splitlines()[0]
        assert usage.endswith("[PATH]") and "{None}" not in usage
