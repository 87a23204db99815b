"""One decode per video: keyframes come from the analysis pass (held) or a short seek, with the
same pixels as a full sequential decode, and writing the outputs never decodes the video again."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.keyframes import frames as frames_module
from pipelines.keyframes.classical import KeyframeRequest, KeyframeRunner
from pipelines.keyframes.frames import PassIndex, fetch_frames, frames_at, pass_frames
from pipelines.keyframes.outputs import write_outputs
from pipelines.media import iter_frames, load_image
from tests import keyframes_fixtures as kf

WIDTH, HEIGHT = 192, 108


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keyframes-speed")
    timeline = kf.short_timeline()
    return kf.write_timeline(timeline, folder / "short.mp4", WIDTH, HEIGHT), timeline


@pytest.fixture(scope="module")
def reference(video):
    """Every frame of the video from the media module (one full sequential decode)."""
    return dict(iter_frames(video[0], backend="pyav"))


def count_decodes(monkeypatch) -> list[int]:
    opened = []
    original = frames_module._decoded

    def counting(path, fast=False, threads=0):
        opened.append(1)
        return original(path, fast, threads)

    monkeypatch.setattr(frames_module, "_decoded", counting)
    return opened


def test_the_whole_job_decodes_the_video_once(video, reference, tmp_path, monkeypatch):
    path, _ = video
    opened = count_decodes(monkeypatch)
    result = KeyframeRunner()(KeyframeRequest(str(path)))
    assert len(opened) == 1
    assert result.timings["held_keyframes"] == len(result.keyframes)  # all from the pass
    written = write_outputs(tmp_path, result, {})
    assert len(opened) == 1  # writing keyframes, ZIP and contact sheet decoded nothing more
    assert result.held == {}  # released after writing
    for image_path, _ in written.keyframes:
        frame = int(image_path.stem.split("_f")[1])
        image = load_image(image_path).rgb.astype(int)
        assert np.abs(image - reference[frame]).mean() < 3  # JPEG of the exact frame


def test_held_keyframes_are_the_decoded_frames(video, reference):
    path, _ = video
    result = KeyframeRunner()(KeyframeRequest(str(path)))
    images = dict(result.keyframe_images())
    assert sorted(images) == [k.frame for k in result.keyframes]
    for frame, rgb in images.items():
        np.testing.assert_array_equal(rgb, reference[frame])


def test_keyframes_not_held_are_fetched_by_seeking(video, reference, monkeypatch):
    path, _ = video
    result = KeyframeRunner()(KeyframeRequest(str(path), hold_budget=0))
    assert result.index is not None and result.index.seekable()
    assert result.index.key_frames[0] == 0
    missing = [k.frame for k in result.keyframes if k.frame not in result.held]
    assert missing  # with no budget, (almost) nothing is held
    opened = count_decodes(monkeypatch)
    images = dict(result.keyframe_images())
    assert opened == []  # seeking, not a sequential decode from the start
    for frame, rgb in images.items():
        np.testing.assert_array_equal(rgb, reference[frame])


def test_seeking_fetch_matches_sequential_decode(video, reference):
    path, timeline = video
    index = PassIndex()
    for _ in pass_frames(path, 64, index):
        pass
    assert len(index.pts) == timeline.frame_count and index.seekable()
    wanted = [timeline.frame_count - 1, 0, 7, 150, 151, 300]
    fetched = dict(fetch_frames(path, wanted, index))
    assert list(fetched) == sorted(wanted)
    for frame, rgb in fetched.items():
        np.testing.assert_array_equal(rgb, reference[frame])
    # Without an index it falls back to one sequential decode, same frames.
    again = dict(fetch_frames(path, [5, 200], None))
    assert list(again) == [5, 200]
    np.testing.assert_array_equal(again[200], dict(frames_at(path, [200]))[200])


def test_clustered_keyframes_also_come_without_a_second_full_decode(video, reference,
                                                                    monkeypatch):  # fmt: skip
    from pipelines.keyframes.settings import SelectParams

    path, _ = video
    opened = count_decodes(monkeypatch)
    result = KeyframeRunner()(KeyframeRequest(str(path), select=SelectParams(k=4)))
    images = dict(result.keyframe_images())
    assert len(opened) == 1 and len(images) == len(result.keyframes) >= 2
    for frame, rgb in images.items():
        np.testing.assert_array_equal(rgb, reference[frame])


def test_per_shot_picks_do_not_depend_on_the_hold_budget(video):
    path, _ = video
    full = KeyframeRunner()(KeyframeRequest(str(path)))
    none = KeyframeRunner()(KeyframeRequest(str(path), hold_budget=0))
    assert [k.frame for k in full.keyframes] == [k.frame for k in none.keyframes]
    assert [c.frame for c in full.cuts] == [c.frame for c in none.cuts]
