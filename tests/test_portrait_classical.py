"""The weight-free portrait backend on a real portrait (scikit-image's public-domain astronaut)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from skimage import data
from skimage.metrics import peak_signal_noise_ratio

from pipelines.errors import InputError
from pipelines.faces import detect_faces
from pipelines.portrait.classical import ClassicalAnimator
from pipelines.portrait.job import load_picture
from pipelines.portrait.types import CAMERA_PRESETS, AnimateRequest, MotionSettings
from tests.portrait_fixtures import mean_flow


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


def render(image: np.ndarray, frames: int = 48, seed: int = 0, **motion) -> list[np.ndarray]:
    request = AnimateRequest(image, frames=frames, fps=24, seed=seed,
                             motion=MotionSettings(**motion))
    return list(ClassicalAnimator()(request).frames)


@pytest.fixture(scope="module")
def default_clip(astronaut) -> list[np.ndarray]:
    return render(astronaut)


def test_requested_frames_and_size(default_clip, astronaut):
    assert len(default_clip) == 48
    assert all(f.shape == astronaut.shape and f.dtype == np.uint8 for f in default_clip)


def test_first_frame_is_the_input(default_clip, astronaut):
    first = default_clip[0]
    assert np.array_equal(first, astronaut) or peak_signal_noise_ratio(astronaut, first) > 30


def face_shift(first: np.ndarray, later: np.ndarray) -> float:
    """How far the face moved, in pixels: the detection in ``later`` nearest the first one.

    Haar cascades sometimes add a false, larger "face" (the suit's collar ring) in one frame;
    the face is the detection that matches the first frame's, not simply the largest.
    """
    start = detect_faces(first)[0].box
    return min(np.hypot(f.box.center[0] - start.center[0], f.box.center[1] - start.center[1])
               for f in detect_faces(later) if 0.7 < f.box.w / start.w < 1.4)


def test_there_is_motion_but_the_face_stays(default_clip, astronaut):
    assert mean_flow(default_clip[0], default_clip[24]) > 1.0
    for index in (12, 24, 36, 47):
        shift = face_shift(default_clip[0], default_clip[index])
        assert shift < 0.05 * max(astronaut.shape[:2]), (index, shift)


@pytest.mark.parametrize("camera", ["none", "orbit", "zoom_out"])
def test_face_stays_in_place_with_other_cameras(astronaut, camera):
    frames = render(astronaut, frames=24, camera=camera)
    assert face_shift(frames[0], frames[12]) < 0.05 * astronaut.shape[0]
    assert mean_flow(frames[0], frames[12]) > 0.1


def test_loop_flows_back_into_the_first_frame(default_clip):
    steps = [mean_flow(a, b) for a, b in itertools.pairwise(default_clip)]
    seam = mean_flow(default_clip[-1], default_clip[0])
    assert seam <= 1.5 * float(np.median(steps)) + 0.05, (seam, steps)


def test_without_loop_the_clip_ends_elsewhere(astronaut):
    frames = render(astronaut, frames=24, loop=False)
    steps = [mean_flow(a, b) for a, b in itertools.pairwise(frames)]
    assert mean_flow(frames[-1], frames[0]) > 5 * float(np.median(steps))


def test_same_seed_same_video_other_seed_other_video(astronaut):
    a = render(astronaut, frames=20, seed=7, camera="orbit")
    b = render(astronaut, frames=20, seed=7, camera="orbit")
    c = render(astronaut, frames=20, seed=8, camera="orbit")
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_frames_render_on_access_in_any_order(astronaut):
    request = AnimateRequest(astronaut, frames=10, fps=24, seed=3)
    clip = ClassicalAnimator()(request).frames
    assert np.array_equal(clip[7], list(clip)[7])
    assert len(clip[2:5]) == 3
    with pytest.raises(IndexError):
        clip[10]


@pytest.mark.parametrize("camera", [c for c in CAMERA_PRESETS if c != "none"])
def test_strong_motion_never_folds_or_leaves_the_picture(astronaut, camera):
    """No tearing: every frame's sampling map keeps a positive Jacobian and stays inside."""
    request = AnimateRequest(astronaut, frames=24, fps=24, seed=1, motion=MotionSettings(
        camera=camera, strength=3.0, camera_strength=3.0))
    clip = ClassicalAnimator()(request).frames
    height, width = astronaut.shape[:2]
    for index in range(0, 24, 3):
        map_x, map_y = clip.maps(clip.motion_at(index))
        dxx, dxy = np.gradient(map_x, axis=1), np.gradient(map_x, axis=0)
        dyx, dyy = np.gradient(map_y, axis=1), np.gradient(map_y, axis=0)
        assert (dxx * dyy - dxy * dyx).min() > 0, (camera, index)
        assert map_x.min() > -1.0 and map_x.max() < width
        assert map_y.min() > -1.0 and map_y.max() < height


def test_no_face_moves_the_camera_and_says_so():
    coffee = data.coffee()
    result = ClassicalAnimator()(AnimateRequest(coffee, frames=24, fps=24,
                                                motion=MotionSettings(camera="orbit")))
    assert any("No face" in note for note in result.notes)
    frames = list(result.frames)
    assert frames[0].shape == coffee.shape
    assert mean_flow(frames[0], frames[12]) > 0.2
    with pytest.raises(InputError, match="camera preset"):
        ClassicalAnimator()(AnimateRequest(coffee, frames=8, motion=MotionSettings(camera="none")))


@pytest.mark.parametrize("cut", [(slice(None), slice(180, None)), (slice(60, None), slice(None))])
def test_face_at_the_border(astronaut, cut):
    """Faces touching the left or the top edge animate without pulling in outside pixels."""
    picture = np.ascontiguousarray(astronaut[cut])
    result = ClassicalAnimator()(AnimateRequest(picture, frames=12, fps=24))
    assert result.info["face"] is not None
    frames = list(result.frames)
    assert len(frames) == 12 and all(f.shape == picture.shape for f in frames)
    assert np.array_equal(frames[0], picture)
    assert mean_flow(frames[0], frames[6]) > 0.2


def test_tiny_huge_grey_and_transparent_pictures(astronaut, tmp_path):
    with pytest.raises(InputError, match="at least 64 pixels"):
        render(astronaut[:40, :60])
    huge = np.ascontiguousarray(np.repeat(np.repeat(astronaut, 4, axis=0), 5, axis=1))
    result = ClassicalAnimator()(AnimateRequest(huge, frames=4))
    assert result.size == (1024, 819) and any("animated at 1024x819" in n for n in result.notes)

    grey, notes = load_picture(astronaut[..., 1])
    assert grey.shape == astronaut.shape and not notes
    assert len(render(grey, frames=6)) == 6

    from PIL import Image

    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:100, :100, 3] = 0
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba).save(path)
    flat, notes = load_picture(path)
    assert (flat[:100, :100] == 255).all() and "transparent" in notes[0]
    assert np.array_equal(flat[200:, 200:], astronaut[200:, 200:])


def test_settings_are_checked(astronaut):
    for motion, match in ((MotionSettings(camera="spin"), "camera preset"),
                          (MotionSettings(strength=9), "between 0 and 3")):
        with pytest.raises(InputError, match=match):
            ClassicalAnimator()(AnimateRequest(astronaut, frames=8, motion=motion))
    with pytest.raises(InputError, match="frames"):
        ClassicalAnimator()(AnimateRequest(astronaut, frames=1))
    with pytest.raises(InputError, match="frame rate"):
        ClassicalAnimator()(AnimateRequest(astronaut, frames=8, fps=0))
