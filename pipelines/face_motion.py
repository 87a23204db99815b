"""Face motion shared by every task that moves a face: easing, blinks, head sway, iris finding.

Portrait animation (:mod:`pipelines.portrait.motion`) and talking heads
(:mod:`pipelines.talking_head.motion`) draw their blinks and head sway from here, so both blink
at the same human rhythm, sway with the same kind of slow wander and ease with the same curve.
Timelines are seeded (a ``numpy.random.Generator``), so one seed gives one video.
"""

from __future__ import annotations

import math

import numpy as np

TAU = 2 * math.pi

# A blink: the lid closes fast, holds shut briefly, then opens more slowly (about 0.3 s in all;
# Stern et al. measure 100-400 ms).
BLINK_CLOSE, BLINK_HOLD, BLINK_OPEN = 0.08, 0.04, 0.16  # seconds
BLINK_LENGTH = BLINK_CLOSE + BLINK_HOLD + BLINK_OPEN
# Seconds between blink starts: people at rest blink 12-20 times a minute.
BLINK_INTERVAL = (2.5, 5.0)
# The second eye closes a hair after the first (up to 12 ms), as real eyes do.
BLINK_LAG = 0.012
# A head at rest wanders slowly: the slowest sway cycle takes 6-14 s.
SWAY_HZ = (0.07, 0.16)


def smootherstep(x: np.ndarray | float) -> np.ndarray:
    """0 -> 1 with zero velocity and acceleration at both ends (Perlin's quintic)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (x * (6 * x - 15) + 10)


def ramp(edge0: float, edge1: float, x: np.ndarray | float) -> np.ndarray:
    """:func:`smootherstep` from ``edge0`` (0) to ``edge1`` (1); falls when ``edge1 < edge0``."""
    return smootherstep((np.asarray(x, dtype=np.float32) - edge0) / (edge1 - edge0))


def blink_closure(tau: np.ndarray | float) -> np.ndarray:
    """Eyelid closure (0 open .. 1 shut) ``tau`` seconds after a blink starts."""
    tau = np.asarray(tau, dtype=np.float64)
    closing = smootherstep(tau / BLINK_CLOSE)
    opening = 1.0 - smootherstep((tau - BLINK_CLOSE - BLINK_HOLD) / BLINK_OPEN)
    return np.where((tau > 0) & (tau < BLINK_LENGTH), np.minimum(closing, opening), 0.0)


def blink_starts(rng: np.random.Generator, seconds: float, loop: bool = False) -> list[float]:
    """Blink start times in seconds, one every :data:`BLINK_INTERVAL`, never across the start
    of the clip (or, looping, across the seam back to it)."""
    latest = seconds - BLINK_LENGTH - (0.1 if loop else 0.0)
    starts = []
    t = rng.uniform(0.5, 2.0) if seconds > 2.2 else seconds * rng.uniform(0.3, 0.5)
    while t <= latest:
        starts.append(float(t))
        t += rng.uniform(*BLINK_INTERVAL)
    return starts


def blink_track(times: np.ndarray, starts: list[float], lag: float = 0.0) -> np.ndarray:
    """Closure at each of ``times`` (seconds) for blinks starting at ``starts``."""
    times = np.asarray(times, dtype=np.float64)
    closure = np.zeros(times.shape, np.float64)
    for start in starts:
        closure = np.maximum(closure, blink_closure(times - start - lag))
    return closure.astype(np.float32)


class Sway:
    """Slow wander: two sines, each shifted to be zero at the clip's start (so values lie in
    [-2, 2], mostly within ±1); with ``loop`` each has whole cycles over the clip, so the motion
    repeats without a seam."""

    WEIGHTS = (0.7, 0.3)
    HARMONICS = (1.0, 2.3)

    def __init__(self, rng: np.random.Generator, seconds: float, loop: bool = False,
                 base_hz: float | None = None):
        base = rng.uniform(*SWAY_HZ) if base_hz is None else base_hz
        self.seconds = seconds
        self.cycles = []
        for harmonic in self.HARMONICS:
            cycles = base * harmonic * seconds * rng.uniform(0.85, 1.15)
            self.cycles.append(max(1.0, round(cycles)) if loop else max(0.35, cycles))
        self.phases = rng.uniform(0, TAU, size=len(self.HARMONICS))

    def __call__(self, u: np.ndarray | float) -> np.ndarray | float:
        """The sway at clip position ``u`` (0 at the start, 1 at the end)."""
        u = np.asarray(u, dtype=np.float64)
        value = sum(w * (np.sin(TAU * c * u + p) - np.sin(p))
                    for w, c, p in zip(self.WEIGHTS, self.cycles, self.phases, strict=True))
        return float(value) if value.ndim == 0 else value

    def at_seconds(self, times: np.ndarray) -> np.ndarray:
        return np.asarray(self(np.asarray(times) / max(self.seconds, 1e-6)), dtype=np.float32)


def find_iris(gray: np.ndarray, cx: float, cy: float, size: float, reach: float = 0.4
              ) -> tuple[float, float]:
    """The darkest blob (the iris) near an eye centre guessed from geometry or a detector.

    Searches a window of ``1.6 size x 1.2 size`` around ``(cx, cy)`` after a blur of an eighth
    of the eye's size; when the darkest spot lies farther than ``reach * size`` from the guess,
    something darker than an eye (hair, glasses) won, and the guess is kept.
    """
    import cv2

    x0, x1 = max(0, int(cx - 0.8 * size)), min(gray.shape[1], int(cx + 0.8 * size) + 1)
    y0, y1 = max(0, int(cy - 0.6 * size)), min(gray.shape[0], int(cy + 0.6 * size) + 1)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return cx, cy
    blurred = cv2.GaussianBlur(gray[y0:y1, x0:x1].astype(np.float32), (0, 0),
                               max(0.8, 0.12 * size))
    dy, dx = np.unravel_index(int(blurred.argmin()), blurred.shape)
    ix, iy = float(x0 + dx), float(y0 + dy)
    if abs(ix - cx) <= reach * size and abs(iy - cy) <= reach * size:
        return ix, iy
    return cx, cy
