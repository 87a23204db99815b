"""The prompt of an object mask (SAM 2.1 video): a box and/or points on one frame, in pixels of
the video, read from the ``box`` and ``points`` settings and checked against the frame's size
(light: no numpy). Every bad prompt is one sentence saying what to change."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipelines.errors import InputError

BOX_HINT = "give the box as x0,y0,x1,y1 in pixels of the video (left, top, right, bottom)"
POINTS_HINT = ("give points as x,y or x,y,label separated by ';' (label 1: on the object, "
               "0: background), in pixels of the video")


@dataclass(frozen=True)
class Prompt:
    """A box ``(x0, y0, x1, y1)`` or None, and points ``((x, y, label), ...)``, in pixels of a
    ``size`` = (width, height) frame; ``frame`` is the video frame they are drawn on."""

    box: tuple[float, float, float, float] | None
    points: tuple[tuple[float, float, int], ...]
    size: tuple[int, int]
    frame: int = 0

    def scaled(self, width: int, height: int) -> Prompt:
        """The same prompt on the frame resized to ``width`` x ``height``."""
        sx, sy = width / self.size[0], height / self.size[1]
        box = None if self.box is None else (self.box[0] * sx, self.box[1] * sy,
                                             self.box[2] * sx, self.box[3] * sy)
        points = tuple((x * sx, y * sy, label) for x, y, label in self.points)
        return Prompt(box, points, (width, height), self.frame)


def _numbers(text: str, what: str, hint: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        raise InputError(f"The {what} '{text.strip()}' is not a list of numbers: {hint}.") from None
    if not all(math.isfinite(v) for v in values):
        raise InputError(f"The {what} '{text.strip()}' holds a value that is not finite: {hint}.")
    return values


def _outside(x: float, y: float, width: int, height: int) -> bool:
    return not (0 <= x <= width and 0 <= y <= height)


def parse_box(text: str, width: int, height: int) -> tuple[float, float, float, float] | None:
    """The box of the ``box`` setting inside a ``width`` x ``height`` frame, or None if empty."""
    if not text or not text.strip():
        return None
    values = _numbers(text, "box", BOX_HINT)
    if len(values) != 4:
        raise InputError(f"The box '{text.strip()}' has {len(values)} number(s), not four: "
                         f"{BOX_HINT}.")
    x0, y0, x1, y1 = values
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"The box '{text.strip()}' has no area: x1 must be greater than x0 and "
                         f"y1 greater than y0 ({BOX_HINT}).")
    if _outside(x0, y0, width, height) or _outside(x1, y1, width, height):
        raise InputError(f"The box '{text.strip()}' reaches outside the {width}x{height} frame: "
                         f"keep x within 0-{width} and y within 0-{height}.")
    return x0, y0, x1, y1


def parse_points(text: str, width: int, height: int) -> tuple[tuple[float, float, int], ...]:
    """The points of the ``points`` setting inside a ``width`` x ``height`` frame."""
    points = []
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        values = _numbers(part, "point", POINTS_HINT)
        if len(values) not in (2, 3):
            raise InputError(f"The point '{part.strip()}' has {len(values)} number(s): "
                             f"{POINTS_HINT}.")
        label = 1 if len(values) == 2 else values[2]
        if label not in (0, 1):
            raise InputError(f"The point '{part.strip()}' has the label {values[2]:g}; use 1 "
                             f"(on the object) or 0 (background).")
        x, y = values[:2]
        if _outside(x, y, width, height):
            raise InputError(f"The point '{part.strip()}' lies outside the {width}x{height} "
                             f"frame: keep x within 0-{width} and y within 0-{height}.")
        points.append((x, y, int(label)))
    return tuple(points)


def parse_prompt(box: str, points: str, width: int, height: int, frame: int = 0) -> Prompt:
    """The prompt from the settings, checked: a box, points or both; at least one point on the
    object when there is no box."""
    found_box = parse_box(box, width, height)
    found_points = parse_points(points, width, height)
    if found_box is None and not found_points:
        raise InputError("An object mask needs a prompt on one frame: give a box (x0,y0,x1,y1) "
                         "or points (x,y[,label]; ...) in pixels of the video.")
    if found_box is None and not any(label == 1 for *_, label in found_points):
        raise InputError("Every point is marked background (label 0): put at least one point "
                         "on the object (label 1), or give a box.")
    return Prompt(found_box, found_points, (width, height), frame)
