"""The pipelined video path of style transfer: the same frames as the sequential path, in order,
worker errors as one sentence, and the faster building blocks giving the numbers of the ones
they replace."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from skimage import data

from metrics.video import flicker_index, occlusion_mask, pair_flow, warping_error
from pipelines.errors import InputError, StudioError
from pipelines.media import read_frames, write_video
from pipelines.style import colour
from pipelines.style.classical import make_stylizer
from pipelines.style.engine import MEASURE_PAIRS, run_style
from pipelines.style.stream import Behind, Prefetch, Workers
from pipelines.style.temporal import TemporalBlender, TemporalMeter, measure_stride, visible
from pipelines.style.types import StyleRequest
from tests.style_fixtures import panning_frames, style_image

CONTENT = data.astronaut()[::4, ::4].copy()  # 128x128
STYLE = data.coffee()[::4, ::4].copy()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("style-stream")
    video = write_video(folder / "pan.mp4", panning_frames(20, cut_at=10), 12.0)
    return video, style_image(folder / "style.png")


# -- the stream helpers ----------------------------------------------------------------------


def test_ordered_workers_keep_the_items_order_whatever_finishes_first():
    rng = np.random.default_rng(0)
    delays = rng.uniform(0, 0.01, 40)

    def slow_square(i):
        time.sleep(delays[i])
        return i * i

    with Workers(4) as pool:
        assert list(pool.ordered(slow_square, range(40))) == [i * i for i in range(40)]
    with Workers(1) as pool:  # the sequential path: on this thread
        names = list(pool.ordered(lambda _: threading.current_thread().name, range(3)))
    assert names == [threading.current_thread().name] * 3


def test_a_worker_exception_is_raised_at_its_item_and_the_rest_is_cancelled():
    done = []

    def work(i):
        if i == 5:
            raise ValueError("bad frame")
        done.append(i)
        return i

    got = []

    def take(results):
        for value in results:
            got.append(value)

    with Workers(3) as pool, pytest.raises(ValueError, match="bad frame"):
        take(pool.ordered(work, range(1000)))
    assert got == [0, 1, 2, 3, 4]
    assert len(done) < 50  # stopped, not run to the end


def test_prefetch_runs_ahead_on_its_thread_and_hands_over_its_error():
    threads = []

    def items():
        for i in range(6):
            threads.append(threading.current_thread().name)
            yield i
        raise InputError("The video is damaged after frame 5.")

    source = Prefetch(items(), depth=2, name="test-prefetch")
    got = []

    def take():
        for item in source:
            got.append(item)

    with pytest.raises(InputError, match="damaged after frame 5"):
        take()
    assert got == list(range(6)) and set(threads) == {"test-prefetch"}
    closed = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    with Prefetch(endless(), depth=2) as counting:
        assert [next(counting) for _ in range(3)] == [0, 1, 2]
    assert closed == [True]  # stopped and closed on its own thread


def test_behind_consumes_in_order_and_raises_the_consumer_error():
    seen = []
    writer = Behind(seen.append, depth=2)
    for i in range(20):
        writer.put(i)
    writer.close()
    assert seen == list(range(20))

    def fail(item):
        raise OSError("disk full")

    def feed(writer):
        for i in range(100):
            writer.put(i)
        writer.close()

    writer = Behind(fail, depth=2)
    with pytest.raises(OSError, match="disk full"):
        feed(writer)
    writer.abort()


# -- the video path: pipelined against sequential -------------------------------------------


@pytest.mark.parametrize("method", ["reinhard", "painting"])
def test_pipelined_video_gives_the_sequential_frames_and_figures(clip, tmp_path, method):
    video, style = clip
    results = {}
    for workers in (1, 3):
        request = StyleRequest(video, style, tmp_path / f"{method}-{workers}.mp4",
                               method=method)
        results[workers] = run_style(request, make_stylizer, workers=workers)
    one, many = results[1], results[3]
    assert one.frames == many.frames == 20
    assert one.cuts == many.cuts == [10]
    assert one.before == many.before and one.after == many.after
    np.testing.assert_array_equal(one.preview, many.preview)
    a, b = read_frames(one.output), read_frames(many.output)
    assert len(a) == len(b) == 20
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_a_failing_frame_is_one_sentence_and_leaves_no_file_or_thread(clip, tmp_path):
    video, style = clip

    def make_failing(styles, request):
        calls = []

        def stylize(frame):
            calls.append(1)
            if len(calls) == 7:
                raise ValueError("could not broadcast\ninput array from shape (3,) into (4,)")
            return frame

        return stylize

    before = threading.active_count()
    out = tmp_path / "fails.mp4"
    with pytest.raises(StudioError) as caught:
        run_style(StyleRequest(video, style, out), make_failing, workers=3)
    message = str(caught.value)
    assert "\n" not in message and message.count(". ") == 0 and message.endswith(").")
    assert "could not be stylised (ValueError: could not broadcast input array" in message
    assert not out.exists() and not list(tmp_path.glob("*.mp4"))
    deadline = time.time() + 5
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before
    # An error a person can act on passes through unchanged.

    def make_refusing(styles, request):
        def stylize(frame):
            raise InputError("Use a smaller frame.")

        return stylize

    with pytest.raises(InputError, match="^Use a smaller frame.$"):
        run_style(StyleRequest(video, style, out), make_refusing, workers=2)


def test_a_model_stylizer_runs_one_frame_at_a_time(clip, tmp_path):
    video, style = clip
    running, most = [0], [0]
    lock = threading.Lock()

    def make_tracked(styles, request):
        def stylize(frame):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.01)
            with lock:
                running[0] -= 1
            return frame

        return stylize

    run_style(StyleRequest(video, style, tmp_path / "one.mp4", measure=False), make_tracked,
              concurrent=False, workers=4)
    assert most[0] == 1


def test_the_meter_measures_a_bounded_even_sample_of_pairs(clip, tmp_path):
    assert measure_stride(2, 16) == 1 and measure_stride(17, 16) == 1
    assert measure_stride(18, 16) == 2 and measure_stride(795, 16) == 50
    video, style = clip
    result = run_style(StyleRequest(video, style, tmp_path / "m.mp4", method="reinhard"),
                       make_stylizer)
    # 20 frames, at most 8 pairs: one in 3 (the pairs ending at 3, 6, ..., 18; the cut at 10
    # would be left out).
    assert MEASURE_PAIRS == 8 and measure_stride(20, MEASURE_PAIRS) == 3
    assert any("measured on 6 of the 19 frame pairs (one in 3," in n for n in result.notes)
    assert result.after["warping_error"] < result.before["warping_error"]


# -- the faster building blocks give the old numbers -----------------------------------------


def test_reinhard_matches_the_lab_statistics_formula_within_one_level():
    lab = colour.to_lab(CONTENT)
    style = colour.StyleStats.of(STYLE)
    flat = lab.reshape(-1, 3)
    expected_lab = (lab - flat.mean(axis=0)) * (style.std / np.maximum(flat.std(axis=0), 1e-3))
    expected_lab += style.mean
    rgb = cv2.cvtColor(expected_lab.astype(np.float32), cv2.COLOR_LAB2RGB)
    expected = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    got = colour.reinhard(CONTENT, style)
    assert np.abs(got.astype(int) - expected).max() <= 1
    assert (got != expected).mean() < 0.01


def test_video_painting_at_half_size_keeps_the_look():
    content = data.chelsea()  # 451x300
    style = colour.StyleStats.of(STYLE)
    full = colour.painting(content, style)
    half = colour.painting(content, style, scale=0.5)
    assert half.shape == full.shape and half.dtype == np.uint8
    lab_full, lab_half = colour.to_lab(full), colour.to_lab(half)
    assert np.abs(lab_full.mean(axis=(0, 1)) - lab_half.mean(axis=(0, 1))).max() < 2.0
    assert np.abs(lab_full - lab_half)[..., 0].mean() < 8.0  # same regions, softer outlines
    request = StyleRequest("c.mp4", "s.png", "o.mp4", method="painting", strength=1.0)
    np.testing.assert_array_equal(make_stylizer([STYLE], request)(content), half)


def test_visibility_flows_and_scores_are_the_metrics_own_numbers():
    rng = np.random.default_rng(3)
    backward = rng.normal(0, 3, (60, 80, 2)).astype(np.float32)
    forward = rng.normal(0, 3, (60, 80, 2)).astype(np.float32)
    np.testing.assert_array_equal(visible(backward, forward), occlusion_mask(backward, forward))
    frames = list(panning_frames(3, 200, 120))
    meter = TemporalMeter(max_side=96)
    ours, theirs = meter.flows(frames[0], frames[1]), pair_flow(frames[0], frames[1],
                                                               max_side=96)
    for name in ("backward", "forward", "mask"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name))
    noisy = [np.clip(f + rng.normal(0, 9, f.shape), 0, 255).astype(np.uint8) for f in frames]
    scores = meter.score(ours, (noisy[0], frames[0]), (noisy[1], frames[1]))
    assert scores == tuple((warping_error(a, b, theirs.backward, theirs.mask),
                            flicker_index(a, b, theirs.backward, theirs.mask))
                           for a, b in ((noisy[0], noisy[1]), (frames[0], frames[1])))


def test_blender_steps_match_the_one_call_blender():
    frames = list(panning_frames(8))
    stylize = make_stylizer([STYLE], StyleRequest("c", "s", "o", method="reinhard"))
    whole, parts = TemporalBlender(0.7), TemporalBlender(0.7)
    prev_grey = None
    for index, frame in enumerate(frames):
        raw = stylize(frame)
        grey = parts.small_grey(frame)
        motion = parts.analyse(prev_grey, grey) if prev_grey is not None else None
        np.testing.assert_array_equal(whole(frame, raw, cut=index == 4),
                                      parts.apply(raw, motion, cut=index == 4))
        prev_grey = grey
    assert 0.5 < whole.last_valid == parts.last_valid <= 1.0
