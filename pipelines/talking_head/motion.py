"""Weight-free face motion for stills: a talking mouth, blinks and small head movements.

Every effect is a smooth backward warp (``cv2.remap``) over a small region of interest whose
displacement falls to zero at the region's border, so pasting the region back leaves no seam:

* :class:`MouthRig` drops the jaw (lower lip and chin move down, the upper lip lifts a little),
  spreads or rounds the lips, and paints the mouth cavity (dark interior, a hint of tongue and
  upper teeth) into the opening with a soft edge;
* :class:`EyeRig` pulls the upper lid down over the eye to a lash line;
* :class:`BrowRig` slides the skin above the eyes up, raising the brows;
* :class:`HeadRig` turns, shifts and scales the head under a soft mask, so the background and
  the shoulders stay still while the neck stretches smoothly.

The timelines (:func:`blink_track`, :func:`head_track`, and :func:`speech_motion`, whose head
turns, nods, brows and blinks follow the speech's loudness and pitch) are seeded, so a seed
gives one video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.face_motion import Sway, blink_starts, find_iris, ramp
from pipelines.face_motion import blink_track as closure_at
from pipelines.faces import Box, Face

_smoothstep = ramp  # the shared easing curve (pipelines.face_motion)

# Where a mouth sits in a face box, as fractions of the box (Haar face boxes end near the chin).
MOUTH_ROW = 0.82  # the line between the lips, from the box's top
MOUTH_HALF_SPAN = 0.08  # lips' half height when colour finds nothing
MOUTH_SEARCH_TOP = 0.62  # below the nose tip: where the lip search starts
MOUTH_SEARCH_BOTTOM = 1.0  # the chin
MOUTH_SEARCH_WIDEN = 0.15  # of the mouth box's width, on each side (wide smiles)
# Cheek patches whose median colour is the skin the lips are compared with.
CHEEK_ROWS = (0.52, 0.64)  # from the box's top: below the eyes, above the mouth corners
CHEEK_COLUMNS = (0.16, 0.72)  # left edge of each patch, from the box's left
CHEEK_WIDTH = 0.12
# Lip rows: redder than the cheeks (a*), teeth lighter, the opening darker, in that order.
LIP_RED, TEETH_LIGHT, OPENING_DARK = 2.0, 0.3, 0.1
LIP_ROW_SPREAD = 0.1  # of the box's height: the Gaussian prior around MOUTH_ROW
LIP_MIN_SCORE = 6.0  # a row scoring less than this has no lip colour (a beard, low contrast)
LIP_KEEP = 0.4  # rows and columns within this fraction of the best score belong to the lips
LIP_HALF_WIDTH = (0.3, 0.8)  # plausible lips' half width, of the mouth box's width
# MediaPipe face mesh points of the mouth (when the landmark model found the face).
MESH_MOUTH_CORNERS = (61, 291)
MESH_INNER_LIPS = (13, 14)  # the inner edges of the upper and lower lip, at the middle
MESH_LIP_TOP, MESH_LIP_BOTTOM = 0, 17  # outer edges of the upper and lower lip, at the middle

def _roi(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> Box:
    left, top = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    right, bottom = min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1)))
    return Box(left, top, max(1, right - left), max(1, bottom - top))


def _remap(patch: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.remap(patch, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


# --------------------------------------------------------------------------------------------
# Mouth


@dataclass(frozen=True)
class MouthGeometry:
    """Where the lips are: centre column, the line between the lips, half width, lip extent."""

    cx: float
    seam: float
    half_width: float
    top: float
    bottom: float


def locate_mouth(rgb: np.ndarray, face: Face) -> MouthGeometry:
    """Refine the face finder's mouth box with colour.

    Lips are redder than the cheeks, and teeth and the mouth's opening are brighter or darker;
    rows scoring high on that, weighted by where mouths sit in a face box (around 80 % of its
    height), give the line between the lips and the lips' extent. Falls back to the box's
    geometry when nothing stands out (low contrast, a beard).
    """
    import cv2

    if face.landmarks is not None and face.source == "mediapipe":
        return _mouth_from_landmarks(face.landmarks.xy)
    box, mouth = face.box, face.mouth
    prior = box.y + MOUTH_ROW * box.h
    fallback = MouthGeometry(mouth.x + mouth.w / 2, prior, mouth.w / 2,
                             prior - MOUTH_HALF_SPAN * box.h, prior + MOUTH_HALF_SPAN * box.h)
    height, width = rgb.shape[:2]
    area = _roi(mouth.x - MOUTH_SEARCH_WIDEN * mouth.w, box.y + MOUTH_SEARCH_TOP * box.h,
                mouth.x + (1 + MOUTH_SEARCH_WIDEN) * mouth.w, box.y + MOUTH_SEARCH_BOTTOM * box.h,
                width, height)
    if area.w < 8 or area.h < 8:
        return fallback

    def lab(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        part = rgb[max(0, int(y0)): max(0, int(y1)), max(0, int(x0)): max(0, int(x1))]
        if not part.size:
            return np.empty((0, 0, 3), np.float32)
        return cv2.cvtColor(np.ascontiguousarray(part), cv2.COLOR_RGB2LAB).astype(np.float32)

    top_row, bottom_row = CHEEK_ROWS
    cheeks = [lab(box.x + fx * box.w, box.y + top_row * box.h, box.x + (fx + CHEEK_WIDTH) * box.w,
                  box.y + bottom_row * box.h).reshape(-1, 3) for fx in CHEEK_COLUMNS]
    cheeks = np.concatenate(cheeks)
    if not len(cheeks):
        return fallback
    skin = np.median(cheeks, axis=0)
    patch = lab(area.x, area.y, area.x + area.w, area.y + area.h)
    lighter = patch[..., 0] - skin[0]  # teeth are lighter than skin; the opening darker
    score = (LIP_RED * np.maximum(patch[..., 1] - skin[1], 0)
             + TEETH_LIGHT * np.maximum(lighter, 0) + OPENING_DARK * np.maximum(-lighter, 0))
    score = cv2.GaussianBlur(score, (0, 0), max(0.8, box.h / 80))
    ys = np.arange(area.y, area.y + area.h, dtype=np.float32)
    rows = score[:, int(0.3 * area.w): int(0.7 * area.w)].mean(1)  # the mouth's middle columns
    rows = rows * np.exp(-0.5 * ((ys - prior) / (LIP_ROW_SPREAD * box.h)) ** 2)
    if rows.max() < LIP_MIN_SCORE:
        return fallback
    keep = rows >= LIP_KEEP * rows.max()
    top, bottom = float(ys[keep].min()), float(ys[keep].max())
    seam = (top + bottom) / 2
    band = score[keep].mean(0)
    cols = np.flatnonzero(band >= LIP_KEEP * band.max())
    half = (cols.max() - cols.min()) / 2
    low, high = LIP_HALF_WIDTH
    if not low * mouth.w <= half <= high * mouth.w:
        return MouthGeometry(fallback.cx, seam, fallback.half_width, top, bottom)
    return MouthGeometry(area.x + (cols.min() + cols.max()) / 2, seam, float(half), top, bottom)


def _mouth_from_landmarks(xy: np.ndarray) -> MouthGeometry:
    """The lips measured from the face mesh: corners, the line between the lips, lip extent."""
    left, right = xy[MESH_MOUTH_CORNERS[0]], xy[MESH_MOUTH_CORNERS[1]]
    upper_inner, lower_inner = xy[MESH_INNER_LIPS[0]], xy[MESH_INNER_LIPS[1]]
    top, bottom = float(xy[MESH_LIP_TOP][1]), float(xy[MESH_LIP_BOTTOM][1])
    return MouthGeometry(float(left[0] + right[0]) / 2,
                         float(upper_inner[1] + lower_inner[1]) / 2,
                         float(abs(right[0] - left[0])) / 2, top, bottom)


class MouthRig:
    """Opens, spreads and rounds the mouth of one face in a still image."""

    def __init__(self, rgb: np.ndarray, face: Face, strength: float = 1.0):
        height, width = rgb.shape[:2]
        self.geometry = geo = locate_mouth(rgb, face)
        fw, fh = face.box.w, face.box.h
        self.max_gap = 0.12 * fh * strength
        chin = max(face.box.y + 1.08 * fh, geo.bottom + 0.2 * fh)
        self.roi = roi = _roi(geo.cx - 0.75 * fw, geo.seam - 0.4 * fh, geo.cx + 0.75 * fw,
                              chin + 0.4 * fh, width, height)
        xs = np.arange(roi.x, roi.x + roi.w, dtype=np.float32)
        ys = np.arange(roi.y, roi.y + roi.h, dtype=np.float32)
        self._xs, self._ys = xs, ys
        self._grid_x, self._grid_y = np.meshgrid(xs - roi.x, ys - roi.y)
        dx = np.abs(xs - geo.cx)
        self._jaw_x = 1 - _smoothstep(0.28 * fw, 0.55 * fw, dx)
        lip = max(2.0, geo.bottom - geo.seam)
        self._lower_y = 1 - _smoothstep(chin, chin + 0.35 * fh, ys)
        self._lower_y[ys < geo.seam] = 0
        self._lip_to_jaw = _smoothstep(geo.seam, geo.seam + 1.5 * lip, ys)
        self._upper_y = _smoothstep(geo.seam - 0.28 * fh, geo.seam, ys)
        self._upper_y[ys >= geo.seam] = 0
        self._lips_y = np.exp(-(((ys - geo.seam) / max(2.0, 1.2 * lip)) ** 2))
        self._feather = max(0.8, 0.012 * fw)
        self._colours(rgb, geo)

    def _colours(self, rgb: np.ndarray, geo: MouthGeometry) -> None:
        x0, x1 = int(geo.cx - geo.half_width), int(geo.cx + geo.half_width) + 1
        y0, y1 = int(geo.top), int(geo.bottom) + 1
        pixels = rgb[max(0, y0): y1, max(0, x0): x1].reshape(-1, 3).astype(np.float32)
        if not len(pixels):
            pixels = np.array([[150, 80, 80]], np.float32)
        brightness = pixels.mean(1)
        dark = pixels[brightness <= np.percentile(brightness, 10)].mean(0)
        self._cavity = dark * 0.4
        redness = pixels[:, 0] - pixels[:, 1:].mean(1)
        lips = pixels[redness >= np.percentile(redness, 75)].mean(0)
        self._tongue = lips * 0.7
        self._teeth = np.array([226, 222, 212], np.float32)

    def apply(self, frame: np.ndarray, opening: float, shape: float) -> None:
        """Warp ``frame`` (the still's size) in place: ``opening`` 0..1, ``shape`` -1..1."""
        gap = float(np.clip(opening, 0, 1)) * self.max_gap
        shape = float(np.clip(shape, -1, 1))
        if gap < 0.3 and abs(shape) < 0.02:
            return
        geo, roi = self.geometry, self.roi
        spread, rounded = max(shape, 0.0), max(-shape, 0.0)
        gap *= 1 + 0.3 * rounded
        half = max(1.0, geo.half_width * (0.9 + 0.1 * spread - 0.35 * rounded))
        lens = np.sqrt(np.clip(1 - ((self._xs - geo.cx) / half) ** 2, 0, 1)) ** (1 - 0.5 * spread)
        lift = (0.35 + 0.15 * rounded) * gap
        drop = gap - lift
        lower = drop * ((1 - self._lip_to_jaw)[:, None] * lens + self._lip_to_jaw[:, None]
                        * self._jaw_x) * self._lower_y[:, None]
        upper = lift * self._upper_y[:, None] * lens
        squeeze = 0.12 * spread - 0.25 * rounded
        corners = 1 - _smoothstep(1.0 * geo.half_width, 1.6 * geo.half_width,
                                  np.abs(self._xs - geo.cx))
        dx = squeeze * (self._xs - geo.cx) * corners * self._lips_y[:, None]
        map_x = (self._grid_x - dx).astype(np.float32)
        map_y = (self._grid_y - lower + upper).astype(np.float32)
        patch = frame[roi.y: roi.y + roi.h, roi.x: roi.x + roi.w]
        warped = _remap(patch, map_x, map_y).astype(np.float32)
        if gap >= 0.5:
            self._paint_cavity(warped, lens * lift, lens * drop)
        patch[...] = np.clip(warped + 0.5, 0, 255).astype(np.uint8)

    def _paint_cavity(self, warped: np.ndarray, up: np.ndarray, down: np.ndarray) -> None:
        """Fill the opening between the lips (rows seam-up .. seam+down) with a mouth interior:
        dark at the back, lighter and redder towards the tongue, a hint of upper teeth."""
        seam = self.geometry.seam - self.roi.y
        cols = np.flatnonzero(up + down > 0)
        if not len(cols):
            return
        x0, x1 = cols[0], cols[-1] + 1
        y0 = max(0, int(seam - up.max() - self._feather - 1))
        y1 = min(warped.shape[0], int(np.ceil(seam + down.max() + self._feather + 1)))
        up, down = up[x0:x1], down[x0:x1]
        top, bottom = seam - up, seam + down
        y = self._grid_y[y0:y1, x0:x1]
        inside = np.minimum(y - top, bottom - y)
        opened = np.clip((bottom - top) / (2 * self._feather), 0, 1)
        alpha = (np.clip(inside / self._feather + 0.5, 0, 1) * opened)[..., None]
        depth = np.clip((y - top) / np.maximum(bottom - top, 1e-3), 0, 1)[..., None]
        colour = self._cavity + (self._tongue - self._cavity) * depth**1.5
        corners = np.sqrt(np.minimum(up, down) / max(float(np.minimum(up, down).max()), 1e-3))
        colour = colour * (0.6 + 0.4 * corners)[None, :, None]
        teeth = np.clip((0.2 - depth) / 0.08, 0, 1) * (bottom - top > 6)[None, :, None]
        colour = colour + (self._teeth - colour) * 0.5 * teeth
        region = warped[y0:y1, x0:x1]
        region += (colour - region) * alpha


# --------------------------------------------------------------------------------------------
# Eyes


class EyeRig:
    """Closes both eyes of one face: the upper lids slide down to a lash line."""

    def __init__(self, rgb: np.ndarray, face: Face):
        import cv2

        height, width = rgb.shape[:2]
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        self.eyes = []
        for eye in face.eyes:
            cx, cy = self._iris(gray, eye)
            lid = cy + 0.2 * eye.h
            roi = _roi(cx - 0.8 * eye.w, cy - 0.6 * eye.h, cx + 0.8 * eye.w, lid + 0.4 * eye.h,
                       width, height)
            xs = np.arange(roi.x, roi.x + roi.w, dtype=np.float32)
            ys = np.arange(roi.y, roi.y + roi.h, dtype=np.float32)
            across = np.cos(np.clip((xs - cx) / (0.7 * eye.w), -1, 1) * np.pi / 2) ** 2
            down = _smoothstep(cy - 0.35 * eye.h, lid - 0.1 * eye.h, ys)
            down *= 1 - _smoothstep(lid, lid + 1.5, ys)
            lash = np.exp(-(((ys - lid) / max(1.0, 0.05 * eye.h)) ** 2))[:, None] * across[None]
            grid_x, grid_y = np.meshgrid(xs - roi.x, ys - roi.y)
            travel = down[:, None] * across[None] * 0.45 * eye.h
            self.eyes.append((roi, grid_x, grid_y, travel, lash))

    @staticmethod
    def _iris(gray: np.ndarray, eye: Box) -> tuple[float, float]:
        """The iris near the eye box's centre (the shared finder), or the box centre."""
        return find_iris(gray, *eye.center, eye.w * 0.8)

    def apply(self, frame: np.ndarray, closure: float) -> None:
        """Close the eyes of ``frame`` in place by ``closure`` (0 open .. 1 shut)."""
        closure = float(np.clip(closure, 0, 1))
        if closure < 0.02:
            return
        for roi, grid_x, grid_y, travel, lash in self.eyes:
            patch = frame[roi.y: roi.y + roi.h, roi.x: roi.x + roi.w]
            warped = _remap(patch, grid_x, (grid_y - closure * travel).astype(np.float32))
            shade = 1 - 0.25 * closure * closure * lash
            patch[...] = np.clip(warped * shade[..., None] + 0.5, 0, 255).astype(np.uint8)


def blink_track(n_frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Eye closure per frame (0..1), blinking at the shared rhythm (pipelines.face_motion)."""
    times = (np.arange(n_frames) + 0.5) / fps
    return closure_at(times, blink_starts(rng, n_frames / fps))


# --------------------------------------------------------------------------------------------
# Head


@dataclass(frozen=True)
class HeadPose:
    """A small head movement: roll in degrees, shift in pixels, scale factor."""

    angle: float = 0.0
    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0


def head_track(n_frames: int, fps: float, face: Box, rng: np.random.Generator,
               amount: float = 1.0, emphasis: np.ndarray | None = None) -> list[HeadPose]:
    """Head poses per frame: slow wandering, plus a slight nod with the speech's loud parts."""
    times = np.arange(n_frames) / fps
    seconds = n_frames / fps

    def wander() -> np.ndarray:  # halved: Sway spans [-2, 2], these amplitudes assume ±1
        return 0.5 * Sway(rng, seconds).at_seconds(times)

    angle = 2.0 * wander()
    dx = 0.015 * face.w * wander()
    dy = 0.01 * face.h * wander()
    scale = 1 + 0.008 * wander()
    if emphasis is not None and len(emphasis) == n_frames:
        width = max(1, round(0.25 * fps))
        kernel = np.hanning(2 * width + 3)[1:-1]
        smooth = np.convolve(np.pad(emphasis, width, mode="edge"), kernel / kernel.sum(), "valid")
        dy = dy + 0.02 * face.h * (smooth - smooth.mean())
    return [HeadPose(float(a) * amount, float(x) * amount, float(y) * amount,
                     1 + (float(s) - 1) * amount)
            for a, x, y, s in zip(angle, dx, dy, scale, strict=True)]


# Head motion at head_motion = 1 (the setting scales it): degrees of slow sway while speaking.
SPEAKING_SWAY = {"yaw": 6.0, "pitch": 3.0, "roll": 2.5}
PAUSE_CALM = 0.2  # in pauses the sway shrinks to this fraction of its speaking size
NOD_DEGREES = 5.0  # a stressed syllable (a loudness rise) nods the head down by up to this
PITCH_LIFT = 0.5  # degrees the head lifts per semitone above the speaker's median pitch
BROW_SEMITONES = 4.0  # a pitch this far above the median raises the brows fully
ACTIVITY_ATTACK, ACTIVITY_RELEASE = 0.25, 0.6  # seconds: talk wakes the head, pauses calm it


@dataclass(frozen=True)
class SpeechMotion:
    """Per video frame: head angles in degrees (yaw > 0 turns to the image's right, pitch > 0
    nods down, roll > 0 clockwise), brow raise 0..1, eye closure 0..1, speaking activity 0..1."""

    yaw: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    brow: np.ndarray
    blink: np.ndarray
    activity: np.ndarray

    def __len__(self) -> int:
        return len(self.yaw)

    def curves(self) -> dict[str, np.ndarray]:
        return {"yaw": self.yaw, "pitch": self.pitch, "roll": self.roll, "brow": self.brow,
                "blink": self.blink, "activity": self.activity}


def _one_pole(x: np.ndarray, fps: float, attack_s: float, release_s: float) -> np.ndarray:
    up, down = 1 - np.exp(-1 / (fps * attack_s)), 1 - np.exp(-1 / (fps * release_s))
    out = np.empty(len(x), np.float32)
    state = 0.0
    for i, value in enumerate(x):
        state += (up if value > state else down) * (value - state)
        out[i] = state
    return out


def speech_motion(loudness: np.ndarray, pitch: np.ndarray | None, fps: float,
                  rng: np.random.Generator, amount: float = 1.0,
                  blinks: bool = True) -> SpeechMotion:
    """Head, brow and eye motion that follows speech: seeded, per video frame.

    * activity: the loudness through a one-pole follower (fast attack, slower release), so
      the head wakes when speech starts and settles within about a second of a pause;
    * sway: slow wander (:class:`pipelines.face_motion.Sway`) in yaw, pitch and roll, at full
      size while speaking and :data:`PAUSE_CALM` of it in pauses;
    * nods: rises in loudness (stressed syllables) tip the head down briefly;
    * intonation: pitch above the speaker's median lifts the head and raises the brows, as
      speakers do on questions and emphasis; stresses raise the brows a little too;
    * blinks at the shared rhythm (:mod:`pipelines.face_motion`), off when ``blinks`` is off.

    ``amount`` (the ``head_motion`` setting, 0..1) scales the head angles; 0 keeps the head still.
    """
    loudness = np.asarray(loudness, np.float32)
    n = len(loudness)
    seconds = n / fps
    times = np.arange(n) / fps
    pitch = np.zeros(n, np.float32) if pitch is None else np.asarray(pitch, np.float32)
    activity = _one_pole(loudness, fps, ACTIVITY_ATTACK, ACTIVITY_RELEASE)
    activity = np.clip(activity / max(float(np.percentile(activity, 95)), 0.2), 0, 1)
    calm = PAUSE_CALM + (1 - PAUSE_CALM) * activity
    sway = {name: 0.5 * Sway(rng, seconds, base_hz=rng.uniform(0.12, 0.3)).at_seconds(times)
            for name in SPEAKING_SWAY}  # faster than idle wander: speakers move as they talk
    # Stresses: the positive part of the loudness rise over ~80 ms, spread over ~0.3 s.
    rise = np.maximum(np.diff(loudness, prepend=loudness[:1]), 0)
    width = max(1, round(0.15 * fps))
    kernel = np.hanning(2 * width + 3)[1:-1]
    stress = np.convolve(np.pad(rise, width, mode="edge"), kernel / kernel.max(), "valid")
    stress = np.clip(stress / max(float(np.percentile(stress, 98)), 1e-3), 0, 1).astype(np.float32)
    lift = _one_pole(np.clip(pitch, -6, 8), fps, 0.12, 0.35)
    yaw = SPEAKING_SWAY["yaw"] * sway["yaw"] * calm
    head_pitch = (SPEAKING_SWAY["pitch"] * sway["pitch"] * calm + NOD_DEGREES * stress
                  - PITCH_LIFT * lift)
    roll = SPEAKING_SWAY["roll"] * sway["roll"] * calm
    brow = np.clip(np.maximum(lift, 0) / BROW_SEMITONES + 0.3 * stress, 0, 1) * activity
    if blinks:
        blink = closure_at((np.arange(n) + 0.5) / fps, blink_starts(rng, seconds))
    else:
        blink = np.zeros(n, np.float32)
    amount = float(amount)
    return SpeechMotion((yaw * amount).astype(np.float32),
                        (head_pitch * amount).astype(np.float32),
                        (roll * amount).astype(np.float32), brow.astype(np.float32),
                        blink.astype(np.float32), activity.astype(np.float32))


def speech_poses(motion: SpeechMotion, face: Box) -> list[HeadPose]:
    """2-D head poses for the classical warp: roll turns the head, yaw and pitch shift it the
    way the face's centre moves when the head turns about the neck (a small turn looks like a
    shift), and a nod down brings the face a touch closer."""
    yaw, pitch = np.radians(motion.yaw), np.radians(motion.pitch)
    dx = 0.55 * face.w * np.sin(yaw)
    dy = 0.45 * face.h * np.sin(pitch)
    scale = 1 + 0.01 * np.sin(pitch) / np.sin(np.radians(5.0))
    return [HeadPose(float(r), float(x), float(y), float(s))
            for r, x, y, s in zip(motion.roll, dx, dy, scale, strict=True)]


class BrowRig:
    """Raises both brows of one face: the skin above each eye slides up, most at the brow."""

    def __init__(self, rgb: np.ndarray, face: Face):
        height, width = rgb.shape[:2]
        self.brows = []
        for eye in face.eyes:
            cx, cy = eye.center
            brow = cy - 0.75 * eye.h  # the brow line sits about three quarters of an eye up
            roi = _roi(cx - 0.9 * eye.w, brow - 1.2 * eye.h, cx + 0.9 * eye.w, cy, width, height)
            xs = np.arange(roi.x, roi.x + roi.w, dtype=np.float32)
            ys = np.arange(roi.y, roi.y + roi.h, dtype=np.float32)
            across = np.cos(np.clip((xs - cx) / (0.85 * eye.w), -1, 1) * np.pi / 2) ** 2
            rising = _smoothstep(cy - 0.1 * eye.h, brow, ys)  # 0 at the eye, 1 at the brow
            falling = 1 - _smoothstep(brow - 0.2 * eye.h, roi.y + 1.0, ys)  # back to 0 above
            travel = (rising * falling)[:, None] * across[None] * 0.22 * eye.h
            grid_x, grid_y = np.meshgrid(xs - roi.x, ys - roi.y)
            self.brows.append((roi, grid_x, grid_y, travel))

    def apply(self, frame: np.ndarray, raise_: float) -> None:
        """Raise the brows of ``frame`` in place by ``raise_`` (0 .. 1)."""
        raise_ = float(np.clip(raise_, 0, 1))
        if raise_ < 0.02:
            return
        for roi, grid_x, grid_y, travel in self.brows:
            patch = frame[roi.y: roi.y + roi.h, roi.x: roi.x + roi.w]
            patch[...] = _remap(patch, grid_x, (grid_y + raise_ * travel).astype(np.float32))


class HeadRig:
    """Moves the head of one face under a soft mask (hair and face move; the rest stays)."""

    def __init__(self, rgb: np.ndarray, face: Face):
        import cv2

        height, width = rgb.shape[:2]
        box = face.box
        self.centre = (box.x + box.w / 2, box.y + 0.45 * box.h)
        self.pivot = (box.x + box.w / 2, box.y + 1.2 * box.h)  # the neck turns the head
        axes = (0.85 * box.w, 0.95 * box.h)
        soft = 0.3 * box.w
        reach_x, reach_y = axes[0] + 2 * soft, axes[1] + 2 * soft
        self.roi = roi = _roi(self.centre[0] - reach_x, self.centre[1] - reach_y,
                              self.centre[0] + reach_x, self.centre[1] + reach_y, width, height)
        xs = np.arange(roi.x, roi.x + roi.w, dtype=np.float32)
        ys = np.arange(roi.y, roi.y + roi.h, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)
        inside = ((gx - self.centre[0]) / axes[0]) ** 2 + ((gy - self.centre[1]) / axes[1]) ** 2
        mask = (inside <= 1).astype(np.float32)
        mask = cv2.GaussianBlur(mask, (0, 0), soft / 2)
        edge = np.minimum.reduce([gx - roi.x, roi.x + roi.w - 1 - gx, gy - roi.y,
                                  roi.y + roi.h - 1 - gy])
        self.mask = mask * _smoothstep(0, soft / 2, edge)
        self.gx, self.gy = gx, gy

    def matrix(self, pose: HeadPose) -> np.ndarray:
        """The forward 2x3 affine of ``pose`` (rotation and scale about the neck, then shift)."""
        import cv2

        matrix = cv2.getRotationMatrix2D(self.pivot, pose.angle, pose.scale)
        matrix[:, 2] += (pose.dx, pose.dy)
        return matrix

    def apply(self, frame: np.ndarray, pose: HeadPose) -> None:
        """Move the head of ``frame`` in place by ``pose``."""
        import cv2

        if pose == HeadPose():
            return
        inverse = cv2.invertAffineTransform(self.matrix(pose))
        src_x = inverse[0, 0] * self.gx + inverse[0, 1] * self.gy + inverse[0, 2]
        src_y = inverse[1, 0] * self.gx + inverse[1, 1] * self.gy + inverse[1, 2]
        map_x = (self.gx + (src_x - self.gx) * self.mask).astype(np.float32)
        map_y = (self.gy + (src_y - self.gy) * self.mask).astype(np.float32)
        roi = self.roi
        frame[roi.y: roi.y + roi.h, roi.x: roi.x + roi.w] = cv2.remap(
            frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)

    def move_box(self, box: Box, pose: HeadPose) -> Box:
        """Where ``box`` (on the head) lands under ``pose``."""
        x, y = self.matrix(pose) @ np.array([box.x + box.w / 2, box.y + box.h / 2, 1.0])
        w, h = box.w * pose.scale, box.h * pose.scale
        return Box(round(x - w / 2), round(y - h / 2), round(w), round(h))
