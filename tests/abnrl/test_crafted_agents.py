"""Agent zips crafted to run code without any pickle: refused in one sentence, inert."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.abnrl.cli import TINY, abnrl
from tests.crafted_files import env_module, with_fields

REPO = Path(__file__).resolve().parents[2]


def test_an_env_id_naming_a_module_beside_the_file_runs_nothing(trained_run, tmp_path):
    marker = tmp_path / "ran"
    env_id = env_module(tmp_path, marker)
    latest = trained_run / "checkpoints" / "latest.zip"
    with_fields(latest, tmp_path / "evil.zip", {"env": env_id})
    # As the probe ran it: python -m from the folder that holds the module, on the path.
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    command = [sys.executable, "-m", "abnrl.cli", "eval", "evil.zip", "--episodes", "1"]
    result = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 2, result.stderr
    assert "environment id" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()
    # The file is live: Stable-Baselines3's own load imports the module.
    load = "import contextlib, stable_baselines3 as sb3\n"
    load += "with contextlib.suppress(Exception):\n    sb3.PPO.load('evil.zip')"
    subprocess.run([sys.executable, "-c", load], cwd=tmp_path, env=environment, timeout=600)
    assert marker.exists()


def test_a_resume_from_a_crafted_checkpoint_runs_nothing(trained_run, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    monkeypatch.syspath_prepend(str(tmp_path))
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    latest = run / "checkpoints" / "latest.zip"
    with_fields(latest, tmp_path / "evil.zip", {"env": env_module(tmp_path, marker)})
    shutil.copy(tmp_path / "evil.zip", latest)
    result = abnrl("train", "--resume", run, *TINY, check=False)
    assert result.returncode == 2 and "environment id" in result.stderr
    assert not marker.exists()


DECOYS = (".bashrc.20240101", ".config.backup_1", "notes/.draft.draft_v2.md")


def plant_decoys(folder: Path) -> list[Path]:
    """User files whose names look like temporary files."""
    paths = [folder / name for name in DECOYS]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a user's file")
    return paths


def test_a_new_run_in_a_folder_abnrl_did_not_make_is_refused(tmp_path):
    decoys = plant_decoys(tmp_path / "home")
    result = abnrl("train", "--run-dir", tmp_path / "home", *TINY, check=False)
    assert result.returncode == 2 and "did not write" in result.stderr
    assert all(path.read_text() == "a user's file" for path in decoys)
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == [
        ".bashrc.20240101",
        ".config.backup_1",
        "notes",
    ]


def test_a_resume_removes_only_its_own_temporary_files(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    decoys = plant_decoys(run) + plant_decoys(run / "checkpoints")
    left = run / "checkpoints" / ".latest.zip.k2j4x9_q.zip"  # what a kill mid-save leaves
    left.write_bytes(b"partial")
    result = abnrl("train", "--resume", run, "--stop-at", "64", *TINY, check=False)
    assert result.returncode == 0, result.stderr
    assert not left.exists()
    assert all(path.read_text() == "a user's file" for path in decoys)
