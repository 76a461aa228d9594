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


def test_stale_temporaries_are_found_below_a_folder(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    left = AtomicFile(tmp_path / "checkpoints" / "latest.zip", ".zip").tmp
    kept = tmp_path / ".hidden-but-not-ours"
    kept.write_text("x")
    assert remove_stale_temporaries(tmp_path) == [left] and kept.exists()
