"""Exact output timing: which source time every output frame shows, and duplicate removal.

Rates are exact fractions (29.97 fps is 30000/1001), so output frame ``k`` sits at exactly
``k / fps_out`` seconds and maps to source time ``k * step``; between the source frames at times
``ta <= s < tb`` it is made at fraction ``t = (s - ta) / (tb - ta)``. The output lasts as long as
the source (``source_frames / source_fps`` seconds; frames after the last source frame hold it),
so an audio track of the source stays in sync.

- factor N: ``fps_out = N * fps_in``, ``step = 1 / fps_out``: N frames per source frame.
- target fps F >= fps_in: ``step = 1 / F``; non-integer ratios (24 -> 60) give t = 0, 0.4, 0.8,
  0.2, 0.6, ... exactly.
- slow motion: the frames are made as above but played at the source rate, so the video is
  ``N`` (or ``F / fps_in``) times longer.
- dedupe: a frame nearly identical to the last kept one is dropped; the kept frames keep their
  own times, so the time of the dropped ones is spread over the frames made between.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

from pipelines.errors import InputError, LimitExceeded
from pipelines.interpolate.types import FACTORS
from pipelines.media import Limits, get_limits

DEDUPE_SIDE = 96  # longer side of the thumbnails compared for duplicates
DEDUPE_MAD = 1.2  # mean absolute grey difference (0..255) at or below which frames are duplicates
DEDUPE_PEAK = 12.0  # ... provided no thumbnail pixel differs by more than this


def as_fraction(fps: float | Fraction) -> Fraction:
    """A frame rate as an exact fraction (NTSC rates become n/1001)."""
    return Fraction(fps).limit_denominator(10_000)


@dataclass(frozen=True)
class TimingPlan:
    """Where the output frames fall. All times in seconds, as exact fractions."""

    source_fps: Fraction
    out_fps: Fraction
    step: Fraction  # source seconds between consecutive output frames
    count: int
    source_frames: int
    mode: str  # "factor N", "fps F" (with " slow motion" appended when slowmo)

    def source_time(self, k: int) -> Fraction:
        return k * self.step

    def frame_time(self, index: int) -> Fraction:
        """Source time of source frame ``index`` (constant frame rate)."""
        return Fraction(index) / self.source_fps

    def timestamps(self) -> list[float]:
        return [float(Fraction(k) / self.out_fps) for k in range(self.count)]

    def outputs_between(self, ta: Fraction, tb: Fraction | None) -> list[tuple[int, Fraction]]:
        """Output frames whose source time ``s`` has ``ta <= s < tb`` (``tb`` None: to the end),
        each as ``(k, t)`` with ``t = (s - ta) / (tb - ta)`` (0 when ``tb`` is None)."""
        first = math.ceil(ta / self.step)
        last = self.count if tb is None else min(self.count, math.ceil(tb / self.step))
        if tb is None:
            return [(k, Fraction(0)) for k in range(first, last)]
        span = tb - ta
        return [(k, (k * self.step - ta) / span) for k in range(first, last)]


def plan_timing(source_fps: float | Fraction, source_frames: int, *, factor: int | None = 2,
                fps: float | None = None, slowmo: bool = False,
                limits: Limits | None = None) -> TimingPlan:
    """The output timing for a source of ``source_frames`` frames at ``source_fps``.

    Raises InputError for a factor outside 2, 3, 4, 8, a target rate below the source's, and
    LimitExceeded when the output would have more frames than ``max_frames`` allows.
    """
    limits = limits or get_limits()
    src = as_fraction(source_fps)
    if src <= 0:
        raise InputError("The video has no usable frame rate; re-encode it at a constant rate.")
    if source_frames < 1:
        raise InputError("The video contains no frames. Upload a video with at least one frame.")
    if fps is not None and factor not in (None, 2):
        raise InputError(f"Give either a factor ({factor}) or a target frame rate ({fps:g} fps), "
                         "not both.")
    if fps is not None:
        if not math.isfinite(fps) or fps <= 0:
            raise InputError(f"The target frame rate must be a positive number; got {fps}.")
        target = as_fraction(fps)
        if target < src:
            raise InputError(
                f"The target frame rate {float(target):g} fps is lower than the source's "
                f"{float(src):g} fps; interpolation only adds frames. Pick a target of at least "
                f"{float(src):g} fps, or use a factor (2, 3, 4 or 8) instead.")
        step, mode = 1 / target, f"fps {float(target):g}"
        out_fps = src if slowmo else target
    else:
        if factor is None:
            raise InputError("Give a factor (2, 3, 4 or 8) or a target frame rate.")
        if factor not in FACTORS:
            raise InputError(f"The factor must be one of {', '.join(map(str, FACTORS))}; got "
                             f"{factor}. For other rates give a target frame rate instead.")
        step, mode = 1 / (src * factor), f"factor {factor}"
        out_fps = src if slowmo else src * factor
    if slowmo:
        mode += " slow motion"
    duration = Fraction(source_frames) / src
    count = math.ceil(duration / step)
    if count > limits.max_frames:
        raise LimitExceeded(
            "max_frames", count, limits.max_frames,
            f"Interpolating {source_frames:,} frames ({mode}) would make {count:,} frames. Use a "
            "smaller factor or target frame rate, or trim the video.")
    return TimingPlan(src, out_fps, step, count, source_frames, mode)


class DuplicateFilter:
    """Says whether each new frame nearly repeats the last frame kept (compression noise
    allowed: small mean and peak difference of grey thumbnails)."""

    def __init__(self, mad: float = DEDUPE_MAD, peak: float = DEDUPE_PEAK):
        self.mad = mad
        self.peak = peak
        self._last: np.ndarray | None = None
        self.dropped = 0

    @staticmethod
    def _thumb(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        scale = min(1.0, DEDUPE_SIDE / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)

    def is_duplicate(self, frame: np.ndarray, force_keep: bool = False) -> bool:
        thumb = self._thumb(frame)
        last = self._last
        if not force_keep and last is not None and last.shape == thumb.shape:
            diff = np.abs(thumb - last)
            if float(diff.mean()) <= self.mad and float(diff.max()) <= self.peak:
                self.dropped += 1
                return True
        self._last = thumb
        return False
