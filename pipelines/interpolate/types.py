"""Requests, results and the pair-interpolator contract of the frame-interpolation task.

A *pair interpolator* makes frames between two neighbours: ``between(a, b, times)`` returns one
RGB uint8 frame per fractional time ``0 < t < 1`` (``t`` = 0 is ``a``, 1 is ``b``). The engine
(:mod:`pipelines.interpolate.engine`) streams a video through one, deciding which times each
pair needs, where scene cuts are and which duplicate frames to drop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

FACTORS: tuple[int, ...] = (2, 3, 4, 8)


@dataclass(frozen=True)
class InterpolateRequest:
    """What to interpolate and how.

    ``factor``: multiply the frame rate by 2, 3, 4 or 8. ``fps``: a target frame rate at or above
    the source's instead (e.g. 24 -> 60); give one or the other (with ``fps`` set, ``factor`` must
    be None or its default 2, which ``fps`` then replaces). ``slowmo``: keep the source frame rate
    and play the new frames at it (``factor`` times slower, or ``fps / source fps`` times).
    ``dedupe``: drop near-identical consecutive frames first (animation on twos, screen
    recordings) and spread their time over the frames made. ``scene_cuts``: never blend across a
    cut. ``max_side``: downscale frames so the longer side is at most this many pixels.
    """

    video: Path
    factor: int | None = 2
    fps: float | None = None
    slowmo: bool = False
    dedupe: bool = False
    scene_cuts: bool = True
    max_side: int | None = None


@dataclass
class InterpolateResult:
    """The interpolated video as a lazy stream of frames.

    ``frames`` yields exactly ``count`` RGB uint8 frames of ``size`` (width, height), decoded and
    made one pair at a time, so the whole video is never in memory. ``timestamps`` are the output
    times in seconds (``k / fps``). ``cuts`` (source frame indices that start a new shot), some
    ``notes`` and ``info`` entries (``dropped_duplicates``, ``seconds``) are completed while
    ``frames`` is consumed.
    """

    frames: Iterator[np.ndarray]
    count: int
    fps: float
    timestamps: list[float]
    size: tuple[int, int]
    cuts: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


class PairInterpolator(Protocol):
    """Makes the frames between two neighbours (both RGB uint8, same shape)."""

    def between(self, a: np.ndarray, b: np.ndarray, times: Sequence[float]) -> list[np.ndarray]:
        ...
