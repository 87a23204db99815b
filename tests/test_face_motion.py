"""The face motion both portrait animation and talking heads draw from."""

from __future__ import annotations

import numpy as np

from pipelines import face_motion as fm


def test_blink_shape_closes_fast_holds_and_opens_slower():
    assert fm.blink_closure(0.0) == 0.0 and fm.blink_closure(fm.BLINK_LENGTH) == 0.0
    assert fm.blink_closure(fm.BLINK_CLOSE + fm.BLINK_HOLD / 2) == 1.0
    half_close = fm.blink_closure(fm.BLINK_CLOSE / 2)
    half_open = fm.blink_closure(fm.BLINK_CLOSE + fm.BLINK_HOLD + fm.BLINK_OPEN / 2)
    assert abs(half_close - 0.5) < 1e-6 and abs(half_open - 0.5) < 1e-6
    times = np.linspace(0, fm.BLINK_LENGTH, 200)
    closure = fm.blink_closure(times)
    assert closure.min() >= 0 and closure.max() <= 1


def test_blinks_come_at_the_shared_rhythm_and_never_across_the_seam():
    starts = fm.blink_starts(np.random.default_rng(4), 60.0, loop=True)
    gaps = np.diff(starts)
    assert 10 <= len(starts) <= 24  # 12-20 a minute, give or take the first one's place
    assert gaps.min() >= fm.BLINK_INTERVAL[0] and gaps.max() <= fm.BLINK_INTERVAL[1]
    assert starts[-1] + fm.BLINK_LENGTH <= 60.0 - 0.1
    track = fm.blink_track(np.arange(0, 60, 1 / 25), starts)
    assert track[0] == 0 and track.max() == 1.0


def test_sway_starts_still_and_loops_without_a_seam():
    sway = fm.Sway(np.random.default_rng(0), 4.0, loop=True, base_hz=0.16)
    assert sway(0.0) == 0.0 and abs(sway(1.0)) < 1e-9
    values = sway(np.linspace(0, 1, 101))
    assert np.abs(values).max() <= 2.0 and np.abs(values).max() > 0.2
    assert np.abs(np.diff(values)).max() < 0.2  # smooth at 25 fps


def test_iris_is_found_near_the_guess_and_far_darkness_is_ignored():
    gray = np.full((100, 100), 200, np.uint8)
    gray[48:53, 58:63] = 20  # an iris 10 px right of the guess
    x, y = fm.find_iris(gray, 50, 50, 30)
    assert abs(x - 60) <= 2 and abs(y - 50) <= 2
    gray[:] = 200
    gray[0:5, 0:5] = 0  # hair in the corner, far from the eye
    assert fm.find_iris(gray, 50, 50, 30) == (50, 50)


def test_both_tasks_use_the_shared_motion():
    from pipelines.portrait import motion as portrait_motion
    from pipelines.talking_head import motion as talking_motion

    rng = np.random.default_rng(1)
    closure = talking_motion.blink_track(250, 25.0, rng)
    starts = fm.blink_starts(np.random.default_rng(1), 10.0)
    assert np.array_equal(closure, fm.blink_track((np.arange(250) + 0.5) / 25.0, starts))
    assert portrait_motion.smootherstep is fm.smootherstep
