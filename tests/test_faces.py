"""Face finding on a real public-domain portrait shipped inside scikit-image."""

from __future__ import annotations

import numpy as np
from skimage import data

from pipelines.faces import detect_faces


def test_finds_the_astronaut_face_with_eyes_and_mouth():
    image = data.astronaut()  # 512x512, Eileen Collins; her face is near (170-260, 60-170)
    faces = detect_faces(image)
    assert faces, "no face found"
    face = faces[0]
    cx, cy = face.box.center
    assert 150 < cx < 280 and 50 < cy < 170
    left, right = face.eyes
    assert all(type(v) is int for v in (*vars(face.box).values(), *vars(left).values()))
    assert left.center[0] < right.center[0]
    assert face.box.y < left.center[1] < face.mouth.y < face.box.y + face.box.h
    for part in (left, right, face.mouth):
        assert face.box.x <= part.x and part.x + part.w <= face.box.x + face.box.w


def test_no_face_in_a_landscape():
    rng = np.random.default_rng(0)
    sky = np.tile(np.linspace(80, 220, 256, dtype=np.uint8)[:, None, None], (1, 320, 3))
    noise = rng.integers(0, 10, sky.shape, dtype=np.uint8)
    assert detect_faces(sky + noise) == []


def test_coordinates_follow_the_input_resolution():
    image = data.astronaut()
    big = np.repeat(np.repeat(image, 3, axis=0), 3, axis=1)  # 1536x1536: detection downscales
    small_face, big_face = detect_faces(image)[0].box, detect_faces(big)[0].box
    assert abs(big_face.center[0] - 3 * small_face.center[0]) < 0.1 * big_face.w
    assert abs(big_face.w - 3 * small_face.w) < 0.2 * big_face.w


def test_eyes_survive_jpeg_compression():
    import cv2

    image = data.astronaut()
    ok, encoded = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[:, :, ::-1]
    assert detect_faces(decoded)[0].eyes_detected
