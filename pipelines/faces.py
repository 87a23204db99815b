"""Face boxes and the Haar cascades that ship inside OpenCV's wheel.

:class:`Box` and :class:`Face` are the face types every task uses; :func:`detect_faces` finds
faces with the cascades alone. :func:`pipelines.landmarks.find_faces` uses the 468-point
landmark model when its files are on this machine and these cascades otherwise; each
:class:`Face` says which (``source``) and carries its landmarks when there are any. This module
imports nothing of the landmark model, so imports flow one way: landmarks -> faces.

Portrait animation and talking heads both need the face, the eyes and the mouth of a portrait.
This module finds faces on a downscaled grey copy (fast, and robust to noise), refines the eyes
with the eye cascade inside the face's upper half, and places the mouth from the face's geometry
(the smile cascade fires only on open smiles, so it is not relied on). Boxes are in the input
image's pixel coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

DETECT_SIDE = 480  # faces are searched on a copy whose longer side is at most this


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    @property
    def area(self) -> int:
        return self.w * self.h

    def clip(self, width: int, height: int) -> Box:
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(width, self.x + self.w), min(height, self.y + self.h)
        return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


@dataclass(frozen=True)
class Face:
    box: Box
    eyes: tuple[Box, Box]  # (left in the image, right in the image)
    mouth: Box
    eyes_detected: bool = field(default=False)  # False: eyes placed from face geometry
    source: str = "haar"  # "haar" (cascades) or "mediapipe" (landmark model)
    # pipelines.landmarks.FaceLandmarks when the face came with 468 points, else None
    landmarks: Any = field(default=None, compare=False, repr=False)


@cache
def _cascade(name: str):
    import cv2

    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if classifier.empty():
        raise RuntimeError(f"OpenCV's {name} is missing; install opencv-python-headless<5")
    return classifier


def _geometric_eyes(face: Box) -> tuple[Box, Box]:
    """Eye boxes where they sit on an average frontal face."""
    w, h = round(face.w * 0.22), round(face.h * 0.14)
    y = face.y + round(face.h * 0.30)
    left = Box(face.x + round(face.w * 0.18), y, w, h)
    right = Box(face.x + round(face.w * 0.60), y, w, h)
    return left, right


def _mouth(face: Box) -> Box:
    """The mouth region of a frontal face: centred, in the lower third."""
    return Box(
        face.x + round(face.w * 0.27),
        face.y + round(face.h * 0.72),
        round(face.w * 0.46),
        round(face.h * 0.20),
    )


def _find_eyes(gray: np.ndarray, face: Box) -> tuple[Box, Box] | None:
    """Two eyes from the eye cascade in the face's upper half, or None."""
    top = gray[face.y : face.y + face.h // 2, face.x : face.x + face.w]
    min_side = max(8, face.w // 8)
    found = _cascade("haarcascade_eye.xml").detectMultiScale(
        top, scaleFactor=1.1, minNeighbors=4, minSize=(min_side, min_side)
    )
    if len(found) < 2:
        return None
    boxes = sorted(
        (Box(face.x + int(x), face.y + int(y), int(w), int(h)) for x, y, w, h in found),
        key=lambda b: -b.area,
    )
    left_side = [b for b in boxes if b.center[0] < face.x + face.w / 2]
    right_side = [b for b in boxes if b.center[0] >= face.x + face.w / 2]
    if not left_side or not right_side:
        return None
    return left_side[0], right_side[0]


def detect_faces(rgb: np.ndarray, min_fraction: float = 0.08) -> list[Face]:
    """Frontal faces in an RGB uint8 image, largest first.

    ``min_fraction``: smallest face side as a fraction of the image's shorter side.
    """
    import cv2

    height, width = rgb.shape[:2]
    scale = min(1.0, DETECT_SIDE / max(height, width))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.equalizeHist(small)
    min_side = max(20, round(min(small.shape) * min_fraction))
    found = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        small, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side)
    )
    faces = []
    for x, y, w, h in found:
        box = Box(round(x / scale), round(y / scale), round(w / scale), round(h / scale))
        box = box.clip(width, height)
        eyes = _find_eyes(gray, box)
        faces.append(Face(box, eyes or _geometric_eyes(box), _mouth(box), eyes is not None))
    return sorted(faces, key=lambda f: -f.box.area)

