"""The one atomic-write implementation: all or nothing, and nothing left behind."""

import pytest

from vision.files import TEMPORARY_NAME, AtomicFile, atomic_file, remove_stale_temporaries


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target, "w") as file:
        file.write("half of the new")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_long_lived_writer_appears_only_on_commit(tmp_path):
    target = tmp_path / "clip.mp4"
    first, second = AtomicFile(target, ".mp4"), AtomicFile(target, ".mp4")
    assert first.tmp != second.tmp and TEMPORARY_NAME.match(first.tmp.name)
    first.tmp.write_bytes(b"one")
    second.discard()
    assert not target.exists()
    first.commit()
    assert target.read_bytes() == b"one" and [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_only_the_named_targets_temporaries_are_removed(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    left = AtomicFile(tmp_path / "checkpoints" / "latest.zip", ".zip").tmp
    # Look-alikes: a user's files whose names have a temporary's shape.
    decoys = [
        ".bashrc.20240101",
        ".config.backup_1",
        ".latest.zip.old",
        ".latest.zip.backup_2026.zip",
    ]
    for name in decoys:
        (tmp_path / "checkpoints" / name).write_text("x")
    other = AtomicFile(tmp_path / "checkpoints" / "notes.md").tmp  # a target not named
    assert remove_stale_temporaries(tmp_path / "checkpoints", ["latest\\.zip"]) == [left]
    assert all((tmp_path / "checkpoints" / name).exists() for name in decoys)
    assert other.exists()
    assert remove_stale_temporaries(tmp_path, ["latest\\.zip"]) == []  # not below the folder
