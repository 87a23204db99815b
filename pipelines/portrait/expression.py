"""Expression editing on face landmarks: eyes, lips, smile, brows, head turn and gaze.

An :class:`Expression` is a set of slider values. :func:`edit_points` moves a face's 468
landmarks accordingly (in the head's own frame, so a tilted face opens its mouth along its own
chin line), and the classical renderer of :mod:`pipelines.portrait.drive` warps the picture to
the moved points (``drive.edit`` does that for one still; ``drive(..., expression=...)`` applies
the same edits on top of every driven frame). This module knows landmarks only: it imports no
renderer. :func:`match_measures` sets the eyes, mouth and
brows to measured values (the driving engine's absolute mode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from pipelines import landmarks as lmk
from pipelines.errors import InputError
from pipelines.portrait.settings import EXPRESSION_LIMITS

# Smile: how far each point near the corners follows them (1 at the corners).
SMILE = {61: 1.0, 78: 0.9, 291: 1.0, 308: 0.9, 146: 0.5, 185: 0.5, 375: 0.5, 409: 0.5,
         91: 0.25, 40: 0.25, 321: 0.25, 270: 0.25, 95: 0.4, 191: 0.4, 324: 0.4, 415: 0.4}
BROWS = lmk.RIGHT_BROW + lmk.LEFT_BROW

LIMITS = EXPRESSION_LIMITS  # the sliders' ranges, declared once with the task's settings


@dataclass(frozen=True)
class Expression:
    """Slider values; zero everywhere leaves the face as it is.

    ``eyes``: -1 closes the eyes, +1 opens them 60% wider. ``lips``: +1 opens the mouth by 0.35
    of the eye distance (wide open), -1 closes an open mouth. ``smile``: +1 lifts and widens
    the mouth corners, -1 lowers them. ``brow``: +1 raises, -1 lowers the brows. ``yaw``, ``pitch``,
    ``roll``: head turn in degrees (yaw > 0 turns the nose to the image's right, pitch > 0
    down, roll > 0 clockwise). ``gaze``: (x, y) in [-1, 1], the irises' shift as a fraction of
    what the eye allows (x > 0 to the image's right, y > 0 down).
    """

    eyes: float = 0.0
    lips: float = 0.0
    smile: float = 0.0
    brow: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    gaze: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"The expression setting '{name}' must be a number; got "
                                 f"{value!r}.")
            if not low <= value <= high:
                raise InputError(f"The expression setting '{name}' is {value}; use a value "
                                 f"from {low:g} to {high:g}.")
        gaze = tuple(self.gaze)
        if len(gaze) != 2 or not all(isinstance(v, (int, float)) and -1 <= v <= 1
                                     for v in gaze):
            raise InputError(f"gaze must be two numbers from -1 to 1 (x, y); got {self.gaze!r}.")
        object.__setattr__(self, "gaze", (float(gaze[0]), float(gaze[1])))

    @property
    def is_neutral(self) -> bool:
        return all(getattr(self, f.name) in (0, 0.0, (0.0, 0.0)) for f in fields(self))


def edit_points(points: np.ndarray, expr: Expression) -> np.ndarray:
    """The face's (468, 3) landmarks moved by ``expr`` (a new array)."""
    if expr.is_neutral:
        return np.asarray(points, np.float32).copy()
    q, centre, frame = lmk.to_head(points)
    unit = float(np.linalg.norm(q[263, :2] - q[33, :2])) or 1.0
    if expr.eyes:
        # Closed lids keep a sliver of a gap: lids that met exactly would give the warp two
        # sources for one point (the upper and the lower lid).
        factor = 1.0 + expr.eyes * (0.92 if expr.eyes < 0 else 0.6)
        lmk.scale_lids(q, lmk.RIGHT_LID_UPPER, lmk.RIGHT_LID_LOWER, factor)
        lmk.scale_lids(q, lmk.LEFT_LID_UPPER, lmk.LEFT_LID_LOWER, factor)
    if expr.lips > 0:
        lmk.open_mouth(q, expr.lips * 0.35 * unit)
    elif expr.lips < 0:
        gap = max(0.0, float(q[14, 1] - q[13, 1]))
        lmk.open_mouth(q, expr.lips * gap)
    if expr.smile:
        for index, weight in SMILE.items():
            side = 1.0 if q[index, 0] > 0 else -1.0
            q[index, 0] += side * weight * 0.10 * unit * expr.smile
            q[index, 1] -= weight * 0.10 * unit * expr.smile
    if expr.brow:
        q[list(BROWS), 1] -= 0.14 * unit * expr.brow
    out = q @ frame + centre
    if expr.yaw or expr.pitch or expr.roll:
        rot = lmk.rotation_matrix(expr.yaw, expr.pitch, expr.roll)
        out = (out - centre) @ rot.T + centre
    return out.astype(np.float32)


@dataclass(frozen=True)
class Measures:
    """Eye openness (right, left), mouth opening and width, brow raise of one face."""

    eyes: tuple[float, float]
    mouth_open: float
    mouth_width: float
    brow: float

    @classmethod
    def of(cls, points: np.ndarray) -> Measures:
        face = lmk.FaceLandmarks(np.asarray(points, np.float32), None, 1.0, "")
        return cls(lmk.eye_openness(face), lmk.mouth_opening(face), lmk.mouth_width(face),
                   lmk.brow_raise(face))


def match_measures(points: np.ndarray, target: Measures) -> np.ndarray:
    """The face's landmarks with eyes, mouth opening, mouth width and brows set to ``target``
    (measured on another face: the absolute driving mode)."""
    now = Measures.of(points)
    q, centre, frame = lmk.to_head(points)
    unit = float(np.linalg.norm(q[263, :2] - q[33, :2])) or 1.0
    for (upper, lower), have, want in zip(((lmk.RIGHT_LID_UPPER, lmk.RIGHT_LID_LOWER),
                                           (lmk.LEFT_LID_UPPER, lmk.LEFT_LID_LOWER)),
                                          now.eyes, target.eyes, strict=True):
        lmk.scale_lids(q, upper, lower, float(np.clip(want / max(have, 0.02), 0.08, 2.0)))
    lmk.open_mouth(q, (target.mouth_open - now.mouth_open) * unit)
    widen = (target.mouth_width - now.mouth_width) * unit / 2
    for index, weight in SMILE.items():
        side = 1.0 if q[index, 0] > 0 else -1.0
        q[index, 0] += side * weight * widen
    q[list(BROWS), 1] -= (target.brow - now.brow) * unit
    return (q @ frame + centre).astype(np.float32)
