"""Classical portrait driving: a picture follows a driving video's head, eyes, mouth and brows.

Weight-free apart from the face landmark model. Without it, Haar cascades place an average mesh
(the source's lips fitted to the picture's, :func:`pipelines.landmarks.fit_mouth`), optical
flow follows the driver's head and the driver's mouth and eyelids are read from the pixels
(:class:`pipelines.landmarks.FaceTracker`): rougher, but the mouth still follows. For each
driving frame:

1. **Landmarks** of the driver's face (tracked from frame to frame, lightly smoothed).
2. **Motion**: relative mode (default) fits a 3D similarity from the driver's first frame to
   this one on rigid points (forehead, nose, eye corners, cheeks) - head rotation, translation
   and scale - and takes what the fit leaves as the expression (eyelids, lips, jaw, brows).
   The expression, expressed in the driver's head axes and scaled by the ratio of the two faces'
   sizes, is added to the source's landmarks in the source's head axes, then the source head is
   turned, scaled and moved as the driver's was. The first frame is the source itself.
   Absolute mode instead turns the source to the driver's own head pose and sets eye openness,
   mouth opening and width and brow height to the driver's measured values.
3. **Render** (:class:`SourceFace`): a thin-plate spline from the moved landmarks back to the
   source's (plus fixed anchors round the region) gives, for every output pixel, where to sample
   the source; it is evaluated on an 8-pixel grid, tapered to zero at the region's edge so the
   face blends into the untouched picture, resized and applied with ``cv2.remap``. Where the
   mouth opens further than in the source, the gap between the lips is painted as a dark inner
   mouth (from the lips' own colour, darker at the top); pixels that sample the source's own
   open mouth (teeth, tongue) are kept.

Frames where the driver's face is lost hold the last good pose and are counted in the stats.
Output frames have the source's size. Expression edits (:mod:`.expression`) apply on top.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import landmarks as lmk
from pipelines.errors import InputError

try:  # BLAS threads fight over two busy cores: the small solves run ~50x faster on one
    from threadpoolctl import ThreadpoolController

    _THREADS = ThreadpoolController()
except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn/scikit-image
    _THREADS = None
from pipelines.portrait import expression as ex
from pipelines.progress import Progress

log = logging.getLogger(__name__)

# Landmarks that steer the warp: outline, eyes, brows, nose, lips, chin and cheeks (~100 points:
# the spline's solve grows with the cube of their number).
CONTROL = tuple(dict.fromkeys((
    *lmk.FACE_OVAL[::2],
    *lmk.RIGHT_EYE, *lmk.LEFT_EYE,
    247, 30, 29, 27, 28, 56, 190, 467, 260, 259, 257, 258, 286, 414,  # the lids' creases
    70, 63, 105, 66, 107, 300, 293, 334, 296, 336,
    1, 4, 6, 168, 98, 327, 2,
    *lmk.LIPS_OUTER, *lmk.LIPS_INNER,
    18, 200, 175, 205, 425, 50, 280,
)))
GRID_STEP = 8  # pixels between the spline's evaluation points (at least; more on big faces)
FINE_STEPS_PER_EYE_DISTANCE = 40  # evaluation density round the eyes and lips
MARGIN = 0.55  # the warped region reaches this many face widths beyond the face
TAPER = 0.12  # fraction of the region, at its edge, over which the warp fades out
ANCHORS_PER_SIDE = 7
REGULARISATION = 1e-5
MIN_FACE_SIDE = 24  # pixels: smaller faces cannot be driven
# The driver's landmarks are smoothed lightly at speed: with the tracker's default (8) the
# portrait's mouth trailed the driver's by about a frame on the carphone clip (inner-lip gap
# correlation 0.968 in step, 0.979 a frame late); with 30 it is in step (0.984, 0.965 a frame
# late) and its eyes follow better (0.39 -> 0.47), for about a fifth more frame-to-frame jitter
# while the face moves (none more at rest). bench/drive.py measures it.
DRIVER_SMOOTH_BETA = 30.0


# --------------------------------------------------------------------------------------------
# Thin-plate spline


def _tps_kernel(r2: np.ndarray) -> np.ndarray:
    """U(r) = r^2 log r^2, 0 at r = 0 (in the input's precision)."""
    return r2 * np.log(np.maximum(r2, r2.dtype.type(1e-20)))


def tps_fit(centres: np.ndarray, values: np.ndarray, reg: float = REGULARISATION) -> np.ndarray:
    """Weights of a 2D thin-plate spline through ``values`` (n, k) at ``centres`` (n, 2):
    (n + 3, k), the last three rows the affine part."""
    n = len(centres)
    d2 = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = _tps_kernel(d2) + reg * np.eye(n)
    system[:n, n] = 1.0
    system[:n, n + 1:] = centres
    system[n, :n] = 1.0
    system[n + 1:, :n] = centres.T
    rhs = np.zeros((n + 3, values.shape[1]))
    rhs[:n] = values
    return np.linalg.solve(system, rhs)


def tps_eval(centres: np.ndarray, weights: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The spline of :func:`tps_fit` at ``points`` (m, 2)."""
    pts = points.astype(np.float32)
    ctr = centres.astype(np.float32)
    d2 = (pts**2).sum(1)[:, None] + (ctr**2).sum(1)[None, :] - 2.0 * pts @ ctr.T
    np.maximum(d2, 0.0, out=d2)
    n = len(centres)
    kernel = _tps_kernel(d2)
    return (kernel @ weights[:n].astype(np.float32)).astype(np.float64) + weights[n] \
        + points @ weights[n + 1:]


# --------------------------------------------------------------------------------------------
# The source face and its renderer


def _polygon_mask(shape: tuple[int, int], polygon: np.ndarray, offset: np.ndarray) -> np.ndarray:
    import cv2

    mask = np.zeros(shape, np.uint8)
    pts = np.round((polygon - offset) * 4).astype(np.int32)  # quarter-pixel precision
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=2)
    return mask


@dataclass
class SourceFace:
    """The picture to animate, its chosen face's landmarks and what rendering reuses."""

    image: np.ndarray
    points: np.ndarray  # (468, 3) float32
    source: str  # "mediapipe" or "haar"
    faces_found: int
    index: int
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        import cv2

        self.height, self.width = self.image.shape[:2]
        self.unit = float(np.linalg.norm(self.points[263, :2] - self.points[33, :2])) or 1.0
        xy = self.points[:, :2]
        lips = xy[list(lmk.LIPS_OUTER)]
        x0, y0 = np.floor(lips.min(0) - 2).astype(int)
        x1, y1 = np.ceil(lips.max(0) + 2).astype(int)
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(self.width, x1), min(self.height, y1)
        lip_mask = _polygon_mask((max(1, y1 - y0), max(1, x1 - x0)), lips, np.array([x0, y0]))
        inner = _polygon_mask(lip_mask.shape, xy[list(lmk.LIPS_INNER)], np.array([x0, y0]))
        ring = (lip_mask > 128) & (inner < 128)
        patch = self.image[y0:y1, x0:x1].reshape(-1, 3)
        lip = patch[ring.ravel()].mean(0) if ring.any() and patch.size else np.array([150, 70, 70])
        self.lip_colour = lip.astype(np.float32)
        # Where the source's own mouth is open: its pixels (teeth, tongue) are kept when sampled.
        self.interior = np.zeros((self.height, self.width), np.uint8)
        if inner.any():
            self.interior[y0:y1, x0:x1] = cv2.erode(inner, np.ones((3, 3), np.uint8))
        self._grid_cache: dict[tuple[int, int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        # Evaluation spacing grows with the face, so the cost per frame does not.
        self.step = max(GRID_STEP, int(self.unit / 8))
        self.fine_step = max(1, round(self.unit / FINE_STEPS_PER_EYE_DISTANCE))

    # -- the region a frame warps ------------------------------------------------------------------
    def _region(self, target: np.ndarray) -> tuple[int, int, int, int]:
        both = np.concatenate([self.points[list(lmk.FACE_OVAL), :2],
                               target[list(lmk.FACE_OVAL), :2]])
        lo, hi = both.min(0), both.max(0)
        pad = MARGIN * float(max(hi - lo))
        x0, y0 = np.floor(lo - pad).astype(int)
        x1, y1 = np.ceil(hi + pad).astype(int)
        # Snap to the grid step so consecutive frames reuse the same evaluation grid.
        step = self.step
        x0, y0 = max(0, x0 // step * step), max(0, y0 // step * step)
        x1 = min(self.width, -(-x1 // step) * step)
        y1 = min(self.height, -(-y1 // step) * step)
        return int(x0), int(y0), int(x1), int(y1)

    def _grid(self, region: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Coarse sample positions (the pixel centres ``cv2.resize`` implies) and the taper."""
        if region not in self._grid_cache:
            x0, y0, x1, y1 = region
            w, h = x1 - x0, y1 - y0
            gw, gh = max(2, -(-w // self.step)), max(2, -(-h // self.step))
            gx = (np.arange(gw) + 0.5) * (w / gw) - 0.5 + x0
            gy = (np.arange(gh) + 0.5) * (h / gh) - 0.5 + y0
            xx, yy = np.meshgrid(gx, gy)
            # 0 on the region's edge (unless it is the picture's edge), 1 inside, smooth between.
            def ramp(v: np.ndarray, lo: int, hi: int, at_lo: bool, at_hi: bool) -> np.ndarray:
                span = max(1.0, TAPER * (hi - lo))
                a = np.ones_like(v) if at_lo else np.clip((v - lo) / span, 0, 1)
                b = np.ones_like(v) if at_hi else np.clip((hi - 1 - v) / span, 0, 1)
                t = a * b
                return t * t * (3 - 2 * t)
            taper = (ramp(xx, x0, x1, x0 == 0, x1 == self.width)
                     * ramp(yy, y0, y1, y0 == 0, y1 == self.height))
            self._grid_cache.clear() if len(self._grid_cache) > 64 else None
            self._grid_cache[region] = (np.stack([xx.ravel(), yy.ravel()], 1), taper)
        return self._grid_cache[region]

    def _fade(self, taper: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """The taper at full resolution (cached with its grid)."""
        key = (id(taper), *size)
        if getattr(self, "_fade_key", None) != key:
            import cv2

            self._fade_key = key
            self._fade_map = cv2.resize(taper.astype(np.float32), size,
                                        interpolation=cv2.INTER_LINEAR)
        return self._fade_map

    # -- rendering ---------------------------------------------------------------------------------
    def render(self, target: np.ndarray, gaze: tuple[float, float] = (0.0, 0.0),
               out: np.ndarray | None = None) -> np.ndarray:
        """The source picture warped so its face's landmarks land on ``target`` (468, >= 2)."""
        if _THREADS is None:
            return self._render(target, gaze, out)
        with _THREADS.limit(limits=1, user_api="blas"):
            return self._render(target, gaze, out)

    def _render(self, target: np.ndarray, gaze: tuple[float, float],
                out: np.ndarray | None) -> np.ndarray:
        import cv2

        target = np.asarray(target, np.float64)
        frame = self.image.copy() if out is None else out
        if out is not None:
            frame[...] = self.image
        dst = target[list(CONTROL), :2]
        src = self.points[list(CONTROL), :2].astype(np.float64)
        moved = float(np.abs(dst - src).max())
        if moved < 0.05 and gaze == (0.0, 0.0):
            return frame
        region = self._region(target)
        x0, y0, x1, y1 = region
        w, h = x1 - x0, y1 - y0
        grid, taper = self._grid(region)
        # Anchors on the region's edge hold the picture still there.
        t = np.linspace(0, 1, ANCHORS_PER_SIDE, endpoint=False)
        edge = np.concatenate([
            np.stack([x0 + t * w, np.full_like(t, y0)], 1),
            np.stack([np.full_like(t, x1), y0 + t * h], 1),
            np.stack([x1 - t * w, np.full_like(t, y1)], 1),
            np.stack([np.full_like(t, x0), y1 - t * h], 1),
        ])
        scale = float(max(w, h))
        centres = np.concatenate([dst, edge]) / scale
        shift = np.concatenate([src - dst, np.zeros_like(edge)]) / scale
        weights = tps_fit(centres, shift)
        disp = tps_eval(centres, weights, grid / scale) * scale
        gh, gw = taper.shape
        dx = (disp[:, 0].reshape(gh, gw) * taper).astype(np.float32)
        dy = (disp[:, 1].reshape(gh, gw) * taper).astype(np.float32)
        dx = cv2.resize(dx, (w, h), interpolation=cv2.INTER_LINEAR)
        dy = cv2.resize(dy, (w, h), interpolation=cv2.INTER_LINEAR)
        # Eyes and lips move by a few pixels over a few pixels: there the grid is too coarse,
        # so the spline is evaluated at every pixel.
        for ring, pad in ((lmk.RIGHT_EYE, 0.5), (lmk.LEFT_EYE, 0.5), (lmk.LIPS_OUTER, 0.3)):
            pts = target[list(ring), :2]
            lo, hi = pts.min(0), pts.max(0)
            extra = pad * (hi - lo) + 2
            bx0, by0 = np.maximum(np.floor(lo - extra).astype(int), (x0, y0))
            bx1, by1 = np.minimum(np.ceil(hi + extra).astype(int), (x1, y1))
            if bx1 - bx0 < 2 or by1 - by0 < 2:
                continue
            f = self.fine_step
            yy, xx = np.mgrid[by0:by1:f, bx0:bx1:f]
            exact = tps_eval(centres, weights, np.stack([xx.ravel(), yy.ravel()], 1) / scale)
            ex_x = exact[:, 0].reshape(yy.shape).astype(np.float32) * scale
            ex_y = exact[:, 1].reshape(yy.shape).astype(np.float32) * scale
            if f > 1:  # samples at the block's pixels (0, f, 2f, ...): stretch them over it
                size = (bx1 - bx0, by1 - by0)
                ex_x = cv2.resize(ex_x, size, interpolation=cv2.INTER_LINEAR)
                ex_y = cv2.resize(ex_y, size, interpolation=cv2.INTER_LINEAR)
            sl = (slice(by0 - y0, by1 - y0), slice(bx0 - x0, bx1 - x0))
            fade = self._fade(taper, (w, h))[sl]
            dx[sl] = ex_x * fade
            dy[sl] = ex_y * fade
        xs = np.arange(x0, x1, dtype=np.float32)[None, :]
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        map_x, map_y = dx + xs, dy + ys
        if gaze != (0.0, 0.0):
            self._shift_gaze(target, gaze, map_x, map_y, (x0, y0))
        frame[y0:y1, x0:x1] = cv2.remap(self.image, map_x, map_y, cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REFLECT)
        self._paint_mouth(target, frame, map_x, map_y, (x0, y0))
        return frame

    def _shift_gaze(self, target: np.ndarray, gaze: tuple[float, float], map_x: np.ndarray,
                    map_y: np.ndarray, origin: tuple[int, int]) -> None:
        """Move what is inside each eye's opening (iris and pupil) by ``gaze``."""
        import cv2

        for ring, (c0, c1) in ((lmk.RIGHT_EYE, lmk.RIGHT_EYE_CORNERS),
                               (lmk.LEFT_EYE, lmk.LEFT_EYE_CORNERS)):
            poly = target[list(ring), :2]
            width = float(np.linalg.norm(target[c0, :2] - target[c1, :2]))
            lo = np.floor(poly.min(0)).astype(int) - 2
            hi = np.ceil(poly.max(0)).astype(int) + 3
            lo = np.maximum(lo, origin)
            hi = np.minimum(hi, (origin[0] + map_x.shape[1], origin[1] + map_x.shape[0]))
            if (hi - lo).min() < 3:
                continue
            mask = _polygon_mask((hi[1] - lo[1], hi[0] - lo[0]), poly, lo).astype(np.float32)
            mask = cv2.GaussianBlur(mask / 255.0, (0, 0), max(0.5, width * 0.06))
            sl = (slice(lo[1] - origin[1], hi[1] - origin[1]),
                  slice(lo[0] - origin[0], hi[0] - origin[0]))
            map_x[sl] -= mask * gaze[0] * 0.22 * width
            map_y[sl] -= mask * gaze[1] * 0.10 * width

    def _paint_mouth(self, target: np.ndarray, frame: np.ndarray, map_x: np.ndarray,
                     map_y: np.ndarray, origin: tuple[int, int]) -> None:
        """A dark inner mouth where the lips part; the source's teeth ride on their lips.

        Inside the target's inner-lip outline, the half nearer the upper lip samples the source
        moved as the upper lip moved (not stretched), the other half likewise with the lower
        lip; where that lands inside the source's own open mouth (teeth, tongue), the source's
        pixels show, elsewhere a cavity shaded from the lips' colour.
        """
        import cv2

        inner = target[list(lmk.LIPS_INNER), :2].astype(np.float64)
        gap = float(np.linalg.norm(target[13, :2] - target[14, :2]))
        if gap < 0.02 * self.unit:
            return
        if np.abs(inner - self.points[list(lmk.LIPS_INNER), :2]).max() < 0.5:
            return  # the mouth as in the source: its own pixels are right
        lo = np.maximum(np.floor(inner.min(0)).astype(int) - 2, 0)
        hi = np.minimum(np.ceil(inner.max(0)).astype(int) + 3, (self.width, self.height))
        if (hi - lo).min() < 2:
            return
        mask = _polygon_mask((hi[1] - lo[1], hi[0] - lo[0]), inner, lo).astype(np.float32) / 255
        if not mask.any():
            return
        xs = np.arange(lo[0], hi[0], dtype=np.float64)
        ys = np.arange(lo[1], hi[1], dtype=np.float64)[:, None]
        src = self.points[:, :2].astype(np.float64)
        lips = {}
        for name, ids in (("upper", (78, *lmk.LIPS_INNER_UPPER, 308)),
                          ("lower", (78, *lmk.LIPS_INNER_LOWER, 308))):
            ids = list(ids)
            order = np.argsort(inner_x := target[ids, 0].astype(np.float64))
            line_y = np.interp(xs, inner_x[order], target[ids, 1][order])
            moved = src[ids] - target[ids, :2]
            shift_x = np.interp(xs, inner_x[order], moved[order, 0])
            shift_y = np.interp(xs, inner_x[order], moved[order, 1])
            lips[name] = (line_y, shift_x, shift_y)
        upper_y, lower_y = lips["upper"][0], lips["lower"][0]
        nearer_upper = (ys - upper_y) <= (lower_y - ys)
        xgrid = np.broadcast_to(xs[None, :], nearer_upper.shape)
        ygrid = np.broadcast_to(ys, nearer_upper.shape)
        sx = np.where(nearer_upper, lips["upper"][1], lips["lower"][1])
        sy = np.where(nearer_upper, lips["upper"][2], lips["lower"][2])
        teeth_x = (xgrid + sx).astype(np.float32)
        teeth_y = (ygrid + sy).astype(np.float32)
        own = cv2.remap(self.interior, teeth_x, teeth_y, cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT).astype(np.float32) / 255
        teeth = cv2.remap(self.image, teeth_x, teeth_y, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        top, bottom = float(inner[:, 1].min()), float(inner[:, 1].max())
        rows = np.clip((ys - top) / max(bottom - top, 1.0), 0, 1)[..., None].astype(np.float32)
        cavity = self.lip_colour * (0.16 + 0.22 * rows)  # shadow under the upper lip
        own = own[..., None]
        inside = teeth * own + cavity * (1 - own)
        alpha = mask[..., None]
        region = frame[lo[1]:hi[1], lo[0]:hi[0]].astype(np.float32)
        frame[lo[1]:hi[1], lo[0]:hi[0]] = np.clip(
            region * (1 - alpha) + inside * alpha, 0, 255).astype(np.uint8)


def _check_picture(rgb: Any, what: str) -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise InputError(f"The {what} must be an RGB uint8 picture (H x W x 3); got an array of "
                         f"shape {arr.shape} and type {arr.dtype}.")
    if min(arr.shape[:2]) < 32:
        raise InputError(f"The {what} is {arr.shape[1]}x{arr.shape[0]} pixels; use one at least "
                         "32 pixels on each side.")
    return np.ascontiguousarray(arr)


def prepare_source(rgb: np.ndarray, landmarker: lmk.Landmarker | None,
                   face_index: int | None = None) -> SourceFace:
    """The source picture's chosen face (largest, or ``face_index``-th largest) ready to render.

    Raises InputError when there is no usable face or the index is out of range."""
    image = _check_picture(rgb, "source picture")
    faces = lmk.find_landmarks(image, landmarker=landmarker, max_faces=None)
    if not faces:
        raise InputError(
            "No face was found in the source picture. Use a picture with one face turned "
            "towards the camera, at least 48 pixels wide and not cut by the picture's edge."
        )
    index = 0 if face_index is None else int(face_index)
    if not 0 <= index < len(faces):
        raise InputError(f"Face {index} was asked for, but the source picture has {len(faces)} "
                         f"face(s), numbered from 0 (largest first). Pick a face below "
                         f"{len(faces)}.")
    face = faces[index]
    if face.box.w < MIN_FACE_SIDE or face.box.h < MIN_FACE_SIDE:
        raise InputError(f"The face in the source picture is {face.box.w}x{face.box.h} pixels; "
                         f"use a picture where it is at least {MIN_FACE_SIDE} pixels wide.")
    notes = [lmk.source_note(face.source)]
    if len(faces) > 1:
        b = face.box
        notes.append(f"The source picture has {len(faces)} faces; animating face {index} "
                     f"(at x={b.x}, y={b.y}, {b.w}x{b.h} pixels; 0 is the largest).")
    points = face.points.copy() if face.source != "haar" else lmk.fit_mouth(image, face.points)
    return SourceFace(image, points, face.source, len(faces), index, notes)


def edit(rgb: np.ndarray, *, eyes: float = 0.0, lips: float = 0.0, smile: float = 0.0,
         brow: float = 0.0, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0,
         gaze: tuple[float, float] = (0.0, 0.0), landmarker=None, registry=None,
         face_index: int | None = None) -> np.ndarray:
    """One picture with its face's expression edited (same size; the rest untouched).

    ``landmarker``: a :class:`pipelines.landmarks.Landmarker` (else loaded from ``registry``,
    else Haar cascades with an average mesh). ``face_index``: which face (largest first) when
    there are several; the largest by default.
    """
    expr = ex.Expression(eyes, lips, smile, brow, yaw, pitch, roll, gaze)
    if landmarker is None:
        landmarker = lmk.load_landmarker(registry)
    source = prepare_source(rgb, landmarker, face_index)
    if expr.is_neutral:
        return source.image.copy()
    return source.render(ex.edit_points(source.points, expr), gaze=expr.gaze)


# --------------------------------------------------------------------------------------------
# Motion transfer


@dataclass
class DriveStats:
    """What a driving run did: frames out, frames whose driver face was lost (they hold the last
    good pose), faces seen, the landmark source, seconds spent, and notes for the user."""

    frames: int = 0
    lost_frames: int = 0
    source_faces: int = 0
    driver_faces: int = 0
    landmarks: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class Motion:
    """Turns driver landmarks into target landmarks for the source face."""

    def __init__(self, source: SourceFace, relative: bool = True,
                 expression: ex.Expression | None = None):
        self.source = source
        self.relative = relative
        self.expression = expression if expression is not None and not expression.is_neutral \
            else None
        pts = source.points.astype(np.float64)
        self.s_centre, self.s_frame = lmk.head_frame(pts)
        self.s_points = pts
        self.reference: np.ndarray | None = None
        self._rigid = list(lmk.RIGID)

    def start(self, driver: np.ndarray) -> None:
        self.reference = np.asarray(driver, np.float64)
        self.d_centre, self.d_frame = lmk.head_frame(self.reference)
        d_unit = float(np.linalg.norm(self.reference[263, :2] - self.reference[33, :2])) or 1.0
        self.k = self.source.unit / d_unit
        if not self.relative:
            src_pose = lmk.rotation_matrix(*lmk.head_pose(self._face(self.s_points)))
            self.undo_source = src_pose.T

    @staticmethod
    def _face(points: np.ndarray) -> lmk.FaceLandmarks:
        return lmk.FaceLandmarks(np.asarray(points, np.float32), None, 1.0, "")

    def target(self, driver: np.ndarray) -> np.ndarray:
        if self.reference is None:
            self.start(driver)
        drv = np.asarray(driver, np.float64)
        ref = self.reference
        scale, rot, _ = lmk.fit_similarity(ref[self._rigid], drv[self._rigid])
        centre_t = drv[self._rigid].mean(0)
        centre_0 = ref[self._rigid].mean(0)
        if self.relative:
            aligned = (drv - centre_t) @ rot / scale + centre_0  # undo the head's motion
            delta = aligned - ref  # the expression, in the first frame's camera axes
            in_head = delta @ self.d_frame.T  # ... in the driver's head axes
            face = self.s_points + self.k * (in_head @ self.s_frame)
        else:
            face = ex.match_measures(self.s_points, ex.Measures.of(drv)).astype(np.float64)
            rot = lmk.rotation_matrix(*lmk.head_pose(self._face(drv))) @ self.undo_source
        target = (self.s_centre + self.k * (centre_t - centre_0)
                  + scale * (face - self.s_centre) @ rot.T)
        if self.expression is not None:
            target = ex.edit_points(target, self.expression)
        return target.astype(np.float32)


class DriveRun:
    """Iterator of output frames; :attr:`stats` fills in as frames are produced."""

    def __init__(self, frames: Iterator[np.ndarray], stats: DriveStats):
        self._frames = frames
        self.stats = stats

    def __iter__(self) -> Iterator[np.ndarray]:
        return self

    def __next__(self) -> np.ndarray:
        return next(self._frames)


def drive(source_rgb: np.ndarray, driving_frames: Iterable[np.ndarray], *,
          landmarker: lmk.Landmarker | None, relative: bool = True,
          face_index: int | None = None, expression: ex.Expression | None = None,
          fps: float = 25.0, total: int | None = None,
          progress: Progress | None = None) -> DriveRun:
    """Animate ``source_rgb``'s face with the motion of the face in ``driving_frames``.

    Returns a :class:`DriveRun`: iterate it for one output frame (the source's size, RGB uint8)
    per driving frame; its ``stats`` count frames and lost-face frames and carry notes.
    ``landmarker``: the face landmark runner (None: Haar cascades and optical flow, the mouth
    and eyelids read from the pixels).
    ``relative``: motion relative to the driver's first frame with a face (the first output
    frame is the source); False for the driver's absolute head pose and expression.
    ``face_index``: which source face (largest first); the driver's largest face drives.
    ``expression``: edits applied on top of every frame. ``fps`` tunes the landmark smoothing;
    ``total`` (frame count, when known) scales ``progress(fraction, text)``.

    Raises InputError (before any frame is yielded) when the source has no usable face or no
    driving frame shows a face.
    """
    source = prepare_source(source_rgb, landmarker, face_index)
    stats = DriveStats(source_faces=source.faces_found, landmarks=source.source,
                       notes=list(source.notes))
    motion = Motion(source, relative, expression)
    tracker = lmk.FaceTracker(landmarker, fps=fps, smooth_beta=DRIVER_SMOOTH_BETA)
    return DriveRun(_run(source, motion, tracker, driving_frames, stats, total, progress), stats)


def _run(source: SourceFace, motion: Motion, tracker: lmk.FaceTracker,
         driving_frames: Iterable[np.ndarray], stats: DriveStats, total: int | None,
         progress: Progress | None) -> Iterator[np.ndarray]:
    start = time.perf_counter()
    pending = 0  # frames before the driver's first face: they show the source as it is
    last: np.ndarray | None = None
    rest = ex.edit_points(source.points, motion.expression) if motion.expression else None
    seen = 0
    for frame in driving_frames:
        frame = _check_picture(frame, "driving video's frame")
        seen += 1
        face = tracker.update(frame)
        if face is None:
            stats.lost_frames += 1
            if last is None:
                pending += 1
                continue
            target = last
        else:
            if last is None:
                stats.driver_faces = tracker.faces_seen
                if tracker.faces_seen > 1:
                    stats.notes.append(f"The driving video shows {tracker.faces_seen} faces; "
                                       "the largest one drives.")
            target = motion.target(face.points)
            last = target
            while pending:  # the source at rest (with the edits) until the driver's face shows
                pending -= 1
                yield _emit(source, rest, motion, stats, start)
        yield _emit(source, target, motion, stats, start)
        if progress is not None and total:
            progress(min(1.0, stats.frames / total), f"frame {stats.frames} of {total}")
    if last is None:
        if seen == 0:
            raise InputError("The driving video has no frames. Use a video at least one frame "
                             "long.")
        raise InputError(f"No face was found in any of the {seen} driving frames. Use a "
                         "driving video where a face is visible and turned towards the camera.")
    if stats.lost_frames:
        stats.notes.append(f"The driver's face was lost in {stats.lost_frames} of "
                           f"{stats.frames} frames; those frames hold the last good pose.")
    stats.seconds = time.perf_counter() - start


def _emit(source: SourceFace, target: np.ndarray | None, motion: Motion, stats: DriveStats,
          start: float) -> np.ndarray:
    stats.frames += 1
    if target is None:
        frame = source.image.copy()
    else:
        gaze = motion.expression.gaze if motion.expression is not None else (0.0, 0.0)
        frame = source.render(target, gaze=gaze)
    stats.seconds = time.perf_counter() - start
    return frame


# --------------------------------------------------------------------------------------------
# Files


@dataclass(frozen=True)
class DriveResult:
    """A driven video on disk: its path, frame rate and the run's stats."""

    path: Path
    fps: float
    stats: DriveStats
    audio: bool


def drive_file(source_rgb: np.ndarray, driving_path: Path | str, out_path: Path | str, *,
               landmarker: lmk.Landmarker | None, relative: bool = True,
               face_index: int | None = None, expression: ex.Expression | None = None,
               max_side: int | None = None,
               progress: Progress | None = None) -> DriveResult:
    """Drive ``source_rgb`` with a video file and write an MP4 with the driver's frame rate,
    frame count and audio (when it has any). ``max_side`` downsizes driving frames for speed
    (landmarks need no more than ~640 pixels)."""
    from pipelines import media

    info = media.probe_video(driving_path)
    frames = media.iter_frames(driving_path, max_side=max_side or 640)
    run = drive(source_rgb, (frame for _, frame in frames), landmarker=landmarker,
                relative=relative, face_index=face_index, expression=expression,
                fps=info.fps or 25.0, total=info.frame_count or None, progress=progress)
    out_path = Path(out_path)
    silent = out_path.with_name(out_path.stem + ".silent.mp4") if info.has_audio else out_path
    media.write_video(silent, run, info.fps or 25.0)
    if info.has_audio:
        media.mux_audio(silent, driving_path, out_path)
        silent.unlink(missing_ok=True)
    return DriveResult(out_path, info.fps or 25.0, run.stats, info.has_audio)


__all__ = ["DriveResult", "DriveRun", "DriveStats", "Motion", "SourceFace", "drive",
           "drive_file", "edit", "prepare_source", "tps_eval", "tps_fit"]
