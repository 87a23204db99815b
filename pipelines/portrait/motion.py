"""When things move: per-frame amounts of every classical motion, drawn once from a seed.

Every profile is zero at frame 0, so the first frame is the input picture. With ``loop`` each
profile is periodic over the clip (frame ``n`` would equal frame 0) and has whole cycles, so the
video can repeat without a seam; without it, motions drift naturally and camera moves ease in
and out once. Amplitudes are in units the spatial fields expect (radians, fractions of the
face size or of the picture); :mod:`pipelines.portrait.classical` turns them into pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from pipelines.face_motion import BLINK_LAG, TAU, Sway, blink_closure, blink_starts, smootherstep
from pipelines.portrait.types import MotionSettings

__all__ = ["Choreography", "FrameMotion", "scaled", "smootherstep"]

BREATH_SECONDS = 3.8  # a calm breath
# Amplitudes at strength 1.
ROLL_RADIANS = math.radians(1.6)
HEAD_SHIFT = 0.012  # of the face width
TURN_SHIFT = 0.018  # inner face against the head outline, of the face width
BREATH_SCALE = 0.008
ZOOM = 0.10
PAN = 0.05  # of the picture width
ORBIT = 0.015  # radius of the camera circle, of the picture's shorter side


@dataclass(frozen=True)
class FrameMotion:
    """How far every motion has gone at one frame."""

    roll: float = 0.0  # head roll, radians
    head_dx: float = 0.0  # head shift, fractions of the face width
    head_dy: float = 0.0
    turn: float = 0.0  # inner-face shift, fractions of the face width
    breath: float = 0.0  # chest scale - 1
    blinks: tuple[float, float] = (0.0, 0.0)  # eyelid closure, 0 open .. 1 closed
    zoom: float = 1.0  # camera zoom (>= 1)
    pan: float = 0.0  # camera shift, fractions of the picture width
    orbit: tuple[float, float] = (0.0, 0.0)  # camera offset, fractions of the shorter side

    @property
    def still(self) -> bool:
        return (self.roll == self.head_dx == self.head_dy == self.turn == self.breath
                == self.pan == 0.0 and self.zoom == 1.0 and self.orbit == (0.0, 0.0)
                and self.blinks == (0.0, 0.0))


def scaled(motion: FrameMotion, gain: float) -> FrameMotion:
    """``motion`` with its warps (not blinks, zoom or pan) multiplied by ``gain``."""
    if gain == 1.0:
        return motion
    return replace(motion, roll=motion.roll * gain, head_dx=motion.head_dx * gain,
                   head_dy=motion.head_dy * gain, turn=motion.turn * gain,
                   breath=motion.breath * gain,
                   orbit=(motion.orbit[0] * gain, motion.orbit[1] * gain))


class Choreography:
    """Per-frame motion amounts for one clip, fully determined by the settings and the seed."""

    def __init__(self, settings: MotionSettings, frames: int, fps: float, seed: int,
                 has_face: bool):
        self.settings, self.frames, self.fps = settings, frames, fps
        self.loop = settings.loop
        self.seconds = frames / fps
        self.has_face = has_face
        rng = np.random.default_rng(seed)
        seconds, loop = self.seconds, self.loop
        # Short clips move more slowly so that a 2 s loop is not a frantic wobble.
        pace = min(1.0, math.sqrt(seconds / 4.0))
        self._roll = Sway(rng, seconds, loop, 0.16)
        self._dx = Sway(rng, seconds, loop, 0.12)
        self._dy = Sway(rng, seconds, loop, 0.14)
        self._turn = Sway(rng, seconds, loop, 0.10)
        self._local = settings.strength * (0.6 + 0.4 * pace)
        cycles = seconds / BREATH_SECONDS
        self._breath_cycles = max(1.0, round(cycles)) if loop else max(0.5, cycles)
        self._blinks = blink_starts(rng, seconds, loop)
        # Both eyes blink together, the second a hair later, as real eyes do.
        self._blink_lag = float(rng.uniform(0.0, BLINK_LAG))
        self.orbit_sign = 1.0 if rng.random() < 0.5 else -1.0
        self.pan_sign = 1.0 if rng.random() < 0.5 else -1.0

    # -- time -------------------------------------------------------------------------------
    def u(self, index: int) -> float:
        """Clip position of a frame: [0, 1) when looping (frame n is frame 0), else [0, 1]."""
        return index / self.frames if self.loop else index / max(1, self.frames - 1)

    def _progress(self, u: float) -> float:
        """Camera progress: out and back when looping, one eased move otherwise."""
        return (1 - math.cos(TAU * u)) / 2 if self.loop else float(smootherstep(u))

    # -- motions ----------------------------------------------------------------------------
    def at(self, index: int) -> FrameMotion:
        s = self.settings
        u = self.u(index)
        t = u * self.seconds
        amp = self._local if self.has_face else 0.0
        sway = amp if s.sway else 0.0
        breath = amp * BREATH_SCALE * (1 - math.cos(TAU * self._breath_cycles * u)) / 2
        blinks = (0.0, 0.0)
        if s.blink and amp > 0:
            left, right = (
                max((float(blink_closure(t - start - lag)) for start in self._blinks),
                    default=0.0)
                for lag in (0.0, self._blink_lag)
            )
            blinks = (left, right)
        zoom, pan, orbit = self._camera(u)
        return FrameMotion(
            roll=sway * ROLL_RADIANS * self._roll(u),
            head_dx=sway * HEAD_SHIFT * self._dx(u),
            head_dy=sway * HEAD_SHIFT * 0.6 * self._dy(u),
            turn=sway * TURN_SHIFT * self._turn(u),
            breath=breath if s.breathing else 0.0,
            blinks=blinks,
            zoom=zoom,
            pan=pan,
            orbit=orbit,
        )

    def _camera(self, u: float) -> tuple[float, float, tuple[float, float]]:
        s = self.settings
        # Full amplitude from 4 s (looping: out and back) or 3 s (one way); shorter clips move
        # the camera less, so its speed stays calm.
        amount = s.camera_strength * min(1.0, self.seconds / (4.0 if self.loop else 3.0))
        p = self._progress(u)
        if s.camera == "zoom_in":
            return 1.0 + ZOOM * amount * p, 0.0, (0.0, 0.0)
        if s.camera == "zoom_out":
            start = (1 + math.cos(TAU * u)) / 2 if self.loop else 1.0 - p
            return 1.0 + ZOOM * amount * start, 0.0, (0.0, 0.0)
        if s.camera == "pan":
            return 1.0, PAN * amount * p * self.pan_sign, (0.0, 0.0)
        if s.camera == "orbit":
            # A circle through the origin, walked with zero speed at the start (and, looping,
            # at the seam); without a loop the camera travels half of it and settles.
            theta = TAU * (u - math.sin(TAU * u) / TAU) if self.loop else math.pi * p
            radius = ORBIT * amount
            offset = (radius * (math.cos(theta) - 1), self.orbit_sign * radius * math.sin(theta))
            return 1.0, 0.0, offset
        return 1.0, 0.0, (0.0, 0.0)
