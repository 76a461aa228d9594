"""Breakout's RAM object boxes checked against the rendered frames of played games."""

import numpy as np
import pytest

from envs import make_env
from envs.objects import (
    BRICK_COLUMNS,
    BRICK_ORIGIN,
    BRICK_ROWS,
    BRICK_SIZE,
    breakout_bricks,
    breakout_objects,
    to_observation,
)

BALL_COLOUR = (200, 72, 72)  # ball and paddle share it


def colour_mask(frame):
    return (frame == BALL_COLOUR).all(axis=-1)


def brick_cells(frame):
    """Bricks visible on the frame, read from the pixel at each brick's centre."""
    x0, y0 = BRICK_ORIGIN
    w, h = BRICK_SIZE
    ys = y0 + h * np.arange(BRICK_ROWS) + h // 2
    xs = x0 + w * np.arange(BRICK_COLUMNS) + w // 2
    return frame[ys][:, xs].any(axis=-1)


def test_boxes_cover_the_objects_on_played_frames():
    env = make_env("breakout", seed=0)
    ale = env.unwrapped.ale
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    ball_checks = ball_hits = paddle_checks = 0
    for step in range(1500):
        action = 1 if step % 30 == 0 else int(rng.integers(0, 4))
        _, _, terminated, truncated, info = env.step(action)
        frame, ram = info["frames"][-1], ale.getRAM()
        boxes = {b.label: b for b in breakout_objects(ram)}
        mask = colour_mask(frame)
        ball = boxes.get("ball")
        paddle_mask = mask.copy()
        if ball is not None:  # the ball may pass the paddle's rows
            paddle_mask[int(ball.y0) : int(ball.y1), int(ball.x0) - 1 : int(ball.x1) + 1] = False
        paddle = boxes["paddle"]
        paddle_pixels = np.argwhere(paddle_mask[189:193, 8:152])
        if len(paddle_pixels):
            paddle_checks += 1
            xs = paddle_pixels[:, 1] + 8
            assert paddle.x0 <= xs.min() and xs.max() < paddle.x1
        if ball is not None and 100 <= ball.y0 < 185:  # below the wall, above the paddle
            ball_checks += 1
            ball_hits += mask[int(ball.y0) : int(ball.y1), int(ball.x0) : int(ball.x1)].any()
        if ball is None:
            assert not mask[100:185].any(), "no ball box while a ball is below the wall"
        np.testing.assert_array_equal(breakout_bricks(ram), brick_cells(frame))
        if terminated or truncated:
            env.reset()
    assert paddle_checks > 1000 and ball_checks > 300
    assert ball_hits / ball_checks > 0.97


def test_observation_coordinates_scale_to_84():
    env = make_env("breakout", seed=0)
    env.reset(seed=0)
    boxes = breakout_objects(env.unwrapped.ale.getRAM())
    for frame_box, obs_box in zip(boxes, to_observation(boxes), strict=True):
        assert obs_box.x0 == pytest.approx(frame_box.x0 * 84 / 160)
        assert obs_box.y1 == pytest.approx(frame_box.y1 * 84 / 210)
        assert 0 <= obs_box.x0 < obs_box.x1 <= 84 and 0 <= obs_box.y0 < obs_box.y1 <= 84
    assert [b.label for b in boxes].count("bricks") == 6
