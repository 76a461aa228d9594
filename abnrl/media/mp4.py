"""H.264 MP4 files written frame by frame through ffmpeg, atomically."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, cast

import numpy as np
from moviepy.config import FFMPEG_BINARY

from abnrl.termination import Terminated, held
from vision.files import AtomicFile

QUEUED_FRAMES = 8
"""Frames the recorder may run ahead of the encoder."""


class VideoWriter:
    """Streams YUV 4:2:0 frames into an H.264 MP4; the file appears only once it is complete.

    Frames go to the ffmpeg binary that moviepy uses, already in the format x264
    encodes (``FrameComposer`` composes in it; ``cv2.COLOR_RGB2YUV_I420`` converts
    RGB to it): half the bytes of RGB through the pipe and no conversion in
    ffmpeg. A thread pipes them, so the recorder runs up to ``QUEUED_FRAMES``
    ahead of the encoder instead of waiting for it at every frame. x264 runs in one
    thread at a constant quantizer: the recorder keeps a core busy, x264's frame
    threads on the rest cost more CPU than they save, and rate control costs a
    fifth of the encoding time (QP 20 gives CRF 23's quality, 50 dB PSNR, in
    fewer bytes on these videos).

    Args:
        path: the MP4 to write (replaced atomically on ``close``).
        size: (width, height) of every frame; both even.
        fps: frames per second of the video.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float) -> None:
        width, height = size
        if width % 2 or height % 2:
            raise ValueError(f"H.264 needs an even frame size, got {width}x{height}.")
        self.path = Path(path)
        self.size = (width, height)
        self.frame_bytes = width * height * 3 // 2
        """Bytes of one frame: luma plus two quarter-size chroma planes."""
        # Under SIGTERM as an exception, no lock of a queue, a thread or ffmpeg's process
        # may be left held halfway (abnrl.termination): every hand-over to the thread is
        # held, and a SIGTERM that came meanwhile is raised once the writer is whole.
        try:
            with held():
                self._start(fps)
        except Terminated:
            self.abort()
            raise

    def _start(self, fps: float) -> None:
        """ffmpeg, reading frames from a pipe, and the thread that feeds it."""
        width, height = self.size
        self._target = AtomicFile(self.path, suffix=".mp4")
        command = [
            FFMPEG_BINARY, "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-r", f"{fps}",
            "-i", "-", "-an",
            "-vcodec", "libx264", "-preset", "ultrafast", "-qp", "20", "-threads", "1",
            "-pix_fmt", "yuv420p",
            "-colorspace", "smpte170m", "-color_range", "tv",
            "-f", "mp4", str(self._target.tmp),
        ]  # fmt: skip
        try:
            self._ffmpeg = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except BaseException:
            self._target.discard()
            raise
        # Both are pipes, given above.
        self._to_ffmpeg = cast(IO[bytes], self._ffmpeg.stdin)
        self._from_ffmpeg = cast(IO[bytes], self._ffmpeg.stderr)
        _widen_pipe(self._to_ffmpeg.fileno(), self.frame_bytes)
        self.frames = 0
        self._free: queue.Queue[np.ndarray] = queue.Queue()
        for _ in range(QUEUED_FRAMES):
            self._free.put(np.empty(self.frame_bytes, np.uint8))
        self._queued: queue.Queue[np.ndarray | None] = queue.Queue()
        self._broken = False
        self._pump = threading.Thread(target=self._feed_ffmpeg, daemon=True)
        self._pump.start()

    def _feed_ffmpeg(self) -> None:
        """Pipe queued frames to ffmpeg until ``None``; after a broken pipe, drop them."""
        while (frame := self._queued.get()) is not None:
            if not self._broken:
                try:
                    self._to_ffmpeg.write(frame.data)
                except (BrokenPipeError, ValueError):
                    self._broken = True
            self._free.put(frame)

    def write(self, frame: np.ndarray) -> None:
        """One frame: its Y, Cb and Cr planes, in ``cv2.COLOR_RGB2YUV_I420``'s layout."""
        if frame.size != self.frame_bytes or frame.dtype != np.uint8:
            width, height = self.size
            raise ValueError(
                f"A {width}x{height} frame has {self.frame_bytes} bytes of Y, Cb and Cr; "
                f"got {frame.dtype} of shape {frame.shape}."
            )
        if self._broken:
            raise OSError(f"ffmpeg stopped writing {self.path.name}: {self._errors()}")
        with held():
            slot = self._free.get()
            slot[...] = frame.reshape(-1)
            self._queued.put(slot)
            self.frames += 1

    def close(self) -> None:
        """Finish the file: ffmpeg encodes what is queued, and the MP4 appears at ``path``."""
        try:
            with held():
                self._stop_pump()
            failed = self._ffmpeg.wait() != 0
        except BaseException:
            self.abort()
            raise
        if failed:
            message = self._errors()
            self._target.discard()
            raise OSError(f"ffmpeg could not write {self.path.name}: {message}")
        self._from_ffmpeg.close()
        self._target.commit()

    def abort(self) -> None:
        """Stop ffmpeg and remove the unfinished file."""
        with held():
            self._ffmpeg.kill()
            self._ffmpeg.wait()
            self._stop_pump()
            self._from_ffmpeg.close()
            self._target.discard()

    def _stop_pump(self) -> None:
        """Let the thread pipe what is queued, then close ffmpeg's input."""
        self._queued.put(None)
        self._pump.join()
        with contextlib.suppress(BrokenPipeError):  # ffmpeg has stopped: nothing to flush
            self._to_ffmpeg.close()

    def _errors(self) -> str:
        """ffmpeg's last error line."""
        self._ffmpeg.wait()
        lines = self._from_ffmpeg.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no message"


def _widen_pipe(descriptor: int, frame_bytes: int) -> None:
    """Let the pipe hold a whole frame (Linux), so that each frame costs the recorder and
    ffmpeg one write and one read rather than a switch per 64 KiB."""
    if sys.platform == "win32":
        return
    import fcntl

    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return
    with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep the default
        fcntl.fcntl(descriptor, set_size, frame_bytes)
