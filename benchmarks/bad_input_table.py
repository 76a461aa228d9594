"""The bad-input table of docs/results/reliability.md, from tests/abnrl/test_bad_inputs.py.

Each case runs as the test runs it (a fresh copy of a tiny trained ABN run, the case's
damage applied, the working directory snapshotted before and after); one Markdown row
per case: the command (RUN for the run, paths under the working directory as ./),
exit code, the sentence on stderr (the working directory shown as …), and whether
the files stayed as they were.

    python -m benchmarks.bad_input_table > /tmp/table.md   (from the repository root)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tests.abnrl.cli import TINY, abnrl
from tests.abnrl.test_bad_inputs import CASES, _snapshot


def _row(name: str, command: str, setup, trained_run: Path) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp).resolve()
        run = workdir / "run"
        shutil.copytree(trained_run, run)
        os.chdir(workdir)
        if setup is not None:
            setup(run, workdir)
        before = _snapshot(workdir)
        result = abnrl(*command.format(run=run, tmp=workdir).split(), check=False)
        unchanged = _snapshot(workdir) == before and not (workdir / "ran").exists()
        sentence = " ".join(result.stderr.split()).replace(str(workdir), "…")
    shown = command.format(run="RUN", tmp=".")
    return (
        f"| {name} | `abnrl {shown}` | {result.returncode} | {sentence} "
        f"| {'yes' if unchanged else 'no'} |"
    )


def main() -> None:
    start = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        trained_run = Path(tmp) / "tiny"
        abnrl("train", "--total-steps", 128, "--run-dir", trained_run, *TINY)
        print(f"{len(CASES)} cases\n")
        print("| case | command | exit | stderr (one line) | files unchanged |")
        print("|---|---|---|---|---|")
        for param in CASES:
            command, _, setup = param.values
            print(_row(str(param.id), command, setup, trained_run), flush=True)
    os.chdir(start)


if __name__ == "__main__":
    main()
