"""Composed video frames and the MP4 writer."""

import shutil
import signal
import threading

import cv2
import numpy as np
import pytest
import torch

from abnrl.media.explainers import HeadMaps
from abnrl.media.mp4 import VideoWriter
from abnrl.media.peaks import refined_peaks
from abnrl.media.video import (
    HEAD_COLOURS,
    HEAD_RADIUS,
    HEAT_ALPHA,
    HEAT_COLORMAP,
    INFO_WIDTH,
    PEAK_RADIUS,
    SCALE,
    FrameComposer,
)
from abnrl.termination import Terminated, sigterm_raises
from vision.explain.registration import Registration
from vision.overlay import colorize

# The Nature CNN's conv2 grid: cell i sees pixels [8i, 8i + 20), centre 8i + 9.5.
NATURE_CONV2 = Registration((9, 9), (84, 84), (9.5, 9.5), (8.0, 8.0), "analytic", (20.0, 20.0))


def read_frames(path):
    video = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = video.read()
        if not ok:
            return frames
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))


def i420(rgb):
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)


def test_composer_places_the_game_its_heat_blend_and_the_info_column():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (210, 160, 3), dtype=np.uint8)
    heat_map = NATURE_CONV2.place(torch.from_numpy(rng.random((9, 9)))).numpy()  # (84, 84)
    info = np.full((210 * SCALE, INFO_WIDTH, 3), 90, dtype=np.uint8)
    composer = FrameComposer((210, 160), ["game", "attention", "agent"])
    composer.set_step([heat_map], info)
    planes = composer.compose(frame)
    canvas = composer.rgb()

    title, height, width, gap = 20, 210 * SCALE, 160 * SCALE, 4
    assert canvas.shape == (title + height, 2 * width + INFO_WIDTH + 2 * gap, 3)
    assert planes.shape == (canvas.shape[0] * canvas.shape[1] * 3 // 2,)
    game = canvas[title:, :width].astype(int)
    heat = canvas[title:, width + gap : 2 * width + gap].astype(int)
    # Each game pixel fills a SCALE x SCALE block; colours survive Y, Cb, Cr within rounding.
    np.testing.assert_array_equal(game[::SCALE, ::SCALE], game[1::SCALE, 1::SCALE])
    assert np.abs(game[::SCALE, ::SCALE] - frame).max() <= 3
    resized = cv2.resize(heat_map.astype(np.float32), (160, 210), interpolation=cv2.INTER_LINEAR)
    # The heat map's opacity follows the map: HEAT_ALPHA where it is 1, none where it is 0.
    weight = HEAT_ALPHA * np.clip(resized, 0, 1)[..., None]
    expected = (1 - weight) * frame + weight * colorize(resized, HEAT_COLORMAP)
    # The marker sits on the refined peak, between cells where their weights say.
    [(peak_x, peak_y)] = refined_peaks(heat_map[None])
    marker_x, marker_y = round(peak_x * 160 / 84 * SCALE), round(peak_y * 210 / 84 * SCALE)
    peak_x, peak_y = marker_x // SCALE, marker_y // SCALE  # in game pixels
    rows, columns = np.ogrid[:210, :160]
    near_peak = (rows - peak_y) ** 2 + (columns - peak_x) ** 2 <= (PEAK_RADIUS // SCALE + 2) ** 2
    difference = np.abs(heat[::SCALE, ::SCALE] - expected).max(axis=-1)
    assert difference[~near_peak].max() <= 4
    # The peak is circled: a dark ring of PEAK_RADIUS inside a bright one.
    dark = heat[marker_y, min(marker_x + PEAK_RADIUS, 2 * 160 - 1)]
    bright = heat[marker_y, min(marker_x + PEAK_RADIUS + 1, 2 * 160 - 1)]
    assert dark.mean() < 60 and bright.mean() > 150
    assert np.abs(canvas[title:, -INFO_WIDTH:].astype(int) - 90).max() <= 1
    assert canvas[:title].any(), "titles are drawn"

    assert composer.compose(np.zeros_like(frame)) is planes, "one frame buffer is reused"
    assert composer.rgb()[title:, :width].max() <= 2


def test_heads_show_as_markers_in_their_colours_on_the_plain_game():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 80, (210, 160, 3), dtype=np.uint8)  # dark: markers stand out
    heads = torch.zeros(2, 9, 9)
    heads[0, 2, 5] = 1.0  # sharp: a filled dot at the cell centred at (49.5, 25.5) of 84
    heads[1] = torch.from_numpy(rng.random((9, 9))) + 1.0  # broad: a ring
    heads[1, 7, 1] = 1.5  # its maximum, where the ring sits
    placed = NATURE_CONV2.place(heads).numpy()
    composer = FrameComposer((210, 160), ["game", "attention heads", "agent"])
    marks = HeadMaps(placed, [True, False])
    composer.set_step([marks], np.zeros((210 * SCALE, INFO_WIDTH, 3), np.uint8))
    composer.compose(frame)
    canvas = composer.rgb().astype(int)
    title, width, gap = 20, 160 * SCALE, 4
    panel = canvas[title:, width + gap : 2 * width + gap]
    peaks = refined_peaks(placed)
    (x0, y0), (x1, y1) = [
        (round(x * 160 / 84 * SCALE), round(y * 210 / 84 * SCALE)) for x, y in peaks
    ]
    assert np.abs(panel[y0, x0] - HEAD_COLOURS[0]).max() <= 12  # the dot's centre: head 0's red
    assert np.abs(panel[y1, x1] - frame[y1 // SCALE, x1 // SCALE]).max() <= 4  # a ring: hollow
    ring = panel[y1, x1 + HEAD_RADIUS]  # bright, and green (head 1's colour) leads
    assert ring.mean() > frame.mean() + 60 and ring.argmax() == 1
    rows, columns = np.ogrid[: 210 * SCALE, :width]
    away = np.ones((210 * SCALE, width), bool)
    for x, y in ((x0, y0), (x1, y1)):  # the markers and their numbers
        away &= (rows - y) ** 2 + (columns - x) ** 2 > 25**2
    game = canvas[title:, :width]
    assert np.abs(panel - game)[away].max() <= 1  # elsewhere the plain game


def test_composer_wants_one_heat_map_per_heat_title():
    composer = FrameComposer((210, 160), ["game", "attention", "Grad-CAM", "agent"])
    with pytest.raises(ValueError, match="Expected 2 heat maps"):
        composer.set_step([np.zeros((84, 84))], np.zeros((420, 320, 3), np.uint8))


def test_writer_keeps_colours_and_frame_count(tmp_path):
    out = tmp_path / "colours.mp4"
    colours = [(220, 30, 30), (30, 200, 40), (40, 50, 210)]
    writer = VideoWriter(out, (64, 48), fps=30)
    for colour in colours * 4:
        writer.write(i420(np.full((48, 64, 3), colour, dtype=np.uint8)))
    assert not out.exists(), "the MP4 appears only when complete"
    writer.close()

    frames = read_frames(out)
    assert len(frames) == 12 and frames[0].shape == (48, 64, 3)
    for frame, colour in zip(frames, colours * 4, strict=True):
        assert np.abs(frame.reshape(-1, 3).mean(0) - colour).max() < 8
    assert [p.name for p in tmp_path.iterdir()] == ["colours.mp4"]


def test_writer_rejects_odd_sizes_and_wrong_frames_and_aborts_cleanly(tmp_path):
    with pytest.raises(ValueError, match="even frame size"):
        VideoWriter(tmp_path / "odd.mp4", (63, 48), fps=30)
    out = tmp_path / "old.mp4"
    out.write_bytes(b"an earlier video")
    writer = VideoWriter(out, (64, 48), fps=30)
    writer.write(i420(np.zeros((48, 64, 3), np.uint8)))
    with pytest.raises(ValueError, match="bytes of Y, Cb and Cr"):
        writer.write(np.zeros((64, 48, 3), np.uint8))
    writer.abort()
    assert out.read_bytes() == b"an earlier video"
    assert [p.name for p in tmp_path.iterdir()] == ["old.mp4"]


def test_writer_reports_an_encoder_that_stopped(tmp_path):
    folder = tmp_path / "vanishing"
    folder.mkdir()
    writer = VideoWriter(folder / "out.mp4", (64, 48), fps=30)
    shutil.rmtree(folder)  # before the first frame: the encoder cannot open its output
    frame = i420(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(OSError, match="ffmpeg"):
        for _ in range(200):
            writer.write(frame)
        writer.close()
    writer.abort()  # what a recording does after an error; it must not hang
    assert not folder.exists()


def sigterm_once_then(call):
    """``call``, preceded the first time by a SIGTERM, as if it arrived just there."""
    sent = []

    def wrapped(*args, **kwargs):
        if not sent:
            sent.append(signal.SIGTERM)
            signal.raise_signal(signal.SIGTERM)
        return call(*args, **kwargs)

    return wrapped


@pytest.mark.parametrize("moment", ["start", "write", "close"])
def test_a_sigterm_in_a_hand_over_to_the_encoder_leaves_nothing(tmp_path, monkeypatch, moment):
    """Raised halfway through a queue's or a thread's code, ``Terminated`` could leave a lock
    held and the writer's abort waiting on it for good: it is raised after the hand-over."""
    frame = i420(np.zeros((48, 64, 3), np.uint8))
    if moment == "start":
        monkeypatch.setattr(threading.Thread, "start", sigterm_once_then(threading.Thread.start))
    writer = None
    with pytest.raises(Terminated), sigterm_raises():
        writer = VideoWriter(tmp_path / "clip.mp4", (64, 48), fps=30)
        writer.write(frame)
        if moment == "write":
            writer._queued.put = sigterm_once_then(writer._queued.put)
            writer.write(frame)
        writer._queued.put = sigterm_once_then(writer._queued.put)
        writer.close()
    if moment == "write":
        assert writer.frames == 2, "the frame was handed over before the signal was raised"
        writer.abort()  # what the recording does with Terminated
    assert not any(tmp_path.iterdir())


def test_readme_picture_is_the_clips_frame_at_its_time(trained_run, tmp_path):
    from benchmarks.readme_media import make_media

    out = tmp_path / "readme"
    make_media(
        trained_run / "checkpoints" / "latest.zip",
        explainers=["abn", "heads"],
        seconds=1.0,
        picture_at=0.5,
        seed=3,
        out=out,
    )
    frames = read_frames(out.with_suffix(".mp4"))
    picture = cv2.cvtColor(cv2.imread(str(out.with_suffix(".png"))), cv2.COLOR_BGR2RGB)
    assert len(frames) == 60 and picture.shape == frames[0].shape
    # The info column changes every agent step (4 frames): the nearest frame is frame 30.
    differences = [np.abs(f.astype(int) - picture).mean() for f in frames]
    assert abs(int(np.argmin(differences)) - 30) < 4 and min(differences) < 2.0
    with pytest.raises(SystemExit, match="outside"):
        make_media(out.with_suffix(".mp4"), explainers=["abn"], seconds=1.0, picture_at=2.0,
                   seed=0, out=out)  # fmt: skip


def test_the_ball_stays_visible_under_the_heat_maps_peak():
    # Breakout's red ball on its black background, both under a peak of the heat map.
    frame = np.zeros((210, 160, 3), np.uint8)
    frame[100:104, 80:82] = (200, 72, 72)
    composer = FrameComposer((210, 160), ["game", "attention", "agent"])
    composer.set_step([np.ones((84, 84), np.float32)], np.zeros((420, INFO_WIDTH, 3), np.uint8))
    composer.compose(frame)
    panel = composer.rgb()[20:, 160 * SCALE + 4 : 2 * 160 * SCALE + 4]
    lab = cv2.cvtColor(panel, cv2.COLOR_RGB2LAB).astype(float)
    ball, background = lab[101 * SCALE, 81 * SCALE], lab[60 * SCALE, 40 * SCALE]
    assert np.linalg.norm(ball - background) > 45  # CIELAB distance; jet at 0.7 gave 43
    peak = colorize(np.ones(1), HEAT_COLORMAP)[0].astype(float)
    assert peak[1] > peak[0] * 0.8  # a yellow-green peak, not red like the ball
