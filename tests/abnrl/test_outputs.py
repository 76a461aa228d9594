"""Outputs: exact frame counts, unique temporary names, and nothing left by a stop."""

import errno
import os
import signal
import time

import cv2
import pytest

from tests.abnrl.cli import abnrl, cli_process, stderr_at_exit
from vision.files import TEMPORARY_NAME, write_atomic


def frames_in(video):
    capture = cv2.VideoCapture(str(video))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()


def test_watch_writes_exactly_max_frames(trained_run, tmp_path):
    out = tmp_path / "clip.mp4"
    abnrl("watch", trained_run, "--max-frames", 5, "--device", "cpu", "--out", out)
    assert frames_in(out) == 5
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask, "the mode of any new file"


def test_two_watches_of_one_output_do_not_collide(trained_run, tmp_path):
    out = tmp_path / "clip.mp4"
    args = ("watch", trained_run, "--max-frames", 60, "--device", "cpu", "--out", out)
    first, second = cli_process(*args), cli_process(*args)
    for process in (first, second):
        stderr = stderr_at_exit(process, 300)
        assert process.returncode == 0, stderr
    assert frames_in(out) == 60 and [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_sigterm_during_watch_leaves_nothing(trained_run, tmp_path):
    out = tmp_path / "clip.mp4"
    args = ("--episodes", 1000, "--max-frames", 10**6, "--device", "cpu", "--out", out)
    process = cli_process("watch", trained_run, *args)  # plays until stopped
    deadline = time.time() + 240
    while not any(tmp_path.iterdir()):  # the video's temporary file is being written
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.2)
    time.sleep(1)
    process.send_signal(signal.SIGTERM)
    stderr = stderr_at_exit(process, 120)
    assert process.returncode == 143 and stderr.strip() == "abnrl: terminated (SIGTERM)."
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5])
def test_sigterm_while_starting_up_is_never_swallowed(trained_run, tmp_path, delay):
    """Early on, the signal lands in imports, some of which catch ``Exception``."""
    args = ("--episodes", 1000, "--device", "cpu", "--out", tmp_path / "clip.mp4")
    process = cli_process("watch", trained_run, *args)
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    stderr = stderr_at_exit(process, 120)
    assert process.returncode == 143 and stderr.strip() == "abnrl: terminated (SIGTERM)."
    assert not any(tmp_path.iterdir())


def test_a_failed_atomic_write_names_the_file_asked_for(tmp_path):
    def disk_full(tmp):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    with pytest.raises(OSError) as raised:
        write_atomic(tmp_path / "eval.json", disk_full)
    assert raised.value.filename == str(tmp_path / "eval.json")
    assert not [p for p in tmp_path.iterdir() if TEMPORARY_NAME.match(p.name)]
