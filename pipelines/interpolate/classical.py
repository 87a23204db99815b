"""The weight-free interpolator: bidirectional optical flow, flows for time t, occlusion-aware
backward warping of both neighbours.

For a pair (a, b):

1. Dense flow both ways, ``F01`` and ``F10``, with OpenCV's DIS (coarse-to-fine over an image
   pyramid, so large motion is found at coarse levels and refined at fine ones) on grey frames
   downscaled so the longer side is at most ``flow_side``; Farneback (also pyramidal) where DIS
   is missing or asked for.
2. Forward-backward consistency and photometric agreement give, for every pixel of a, how
   surely it is still visible in b (``c0``), and likewise ``c1`` for b; a pixel whose flow
   leaves the frame is not visible.
3. The flows at time t, for every pixel x of the new frame: the pixel p of a with
   ``p + t F01(p) = x`` (fixed-point iteration ``v <- F01(x - t v)``) gives ``Ft0 = -t v`` and
   ``Ft1 = (1 - t) v``; the same from b's side; both estimates are weighted by the visibility of
   the pixel they came from, so at motion boundaries the visible layer's motion wins.
4. Refinement by candidates: the motion through each pixel of the new frame (``D = Ft1 - Ft0``)
   is replaced by whichever of a few candidates makes its two ends agree best (``a`` at
   ``x - t D``, ``b`` at ``x + (1 - t) D``, absolute grey difference summed over a 7x7 window
   of the flow frame): the estimate itself, both raw flows, zero, and the estimate taken from 4
   and 8 pixels away in four directions (so a small object gets its own motion back where DIS
   smeared the background's over it), then a second round around the winner (from 2 and 5
   pixels away, and +-1 pixel). A 5x5 median cleans the field.
5. Both neighbours are warped backwards (``cv2.remap``) at full resolution and blended with
   weights ``(1 - t) V0`` and ``t V1``, ``V`` the visibility of the pixel fetched.
6. Where neither neighbour is surely visible (both ``V`` low: the flow failed there, typically
   on limbs, fast small objects and motion blur) the frame is blurred in proportion (Gaussian,
   ``SOFTEN_SIGMA`` pixels of the flow frame): when the position is uncertain, the average over
   the likely positions is the estimate with the least squared error, and it replaces a sharp
   double image.
7. Graceful fallback: where little of the flow is consistent (heavy blur, noise, flashes) the
   result moves toward the plain cross-fade in proportion; flows are smooth fields, so warping
   never tears.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from pipelines.interpolate.types import InterpolateRequest, InterpolateResult
from pipelines.progress import Progress

FLOW_SIDE = 320  # longer side of the frames flow is computed on (320 measured best of 320-480)
FIXED_POINT_STEPS = 3
RELIABLE_LOW, RELIABLE_HIGH = 0.15, 0.4  # mean consistency: plain blend below, full MC above
VISIBILITY_FLOOR = 0.05  # keeps both neighbours in the blend where neither is surely visible
PHOTO_TOLERANCE = 24.0  # grey levels of (smoothed) warping residual at which confidence is 1/e
# Candidate refinement (step 4): shifts in flow-frame pixels, window, penalty per pixel of change.
REFINE_SHIFTS = ((4, 8), (2, 5))  # first round around the estimate, second around the best
REFINE_STEP = 1.0
REFINE_WINDOW = 7
# Softening (step 6): blur where the larger visibility is below SOFTEN_BELOW (fully at 0).
SOFTEN_BELOW = 0.6
SOFTEN_SIGMA = 1.0  # in pixels of the flow frame (2.4 at 768x576, 4 at 1280x720)


def _grid(height: int, width: int) -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return np.dstack([xs, ys])


class _Grids:
    """Pixel-coordinate grids (``[..., 0]`` x, ``[..., 1]`` y), cached per shape."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def __call__(self, height: int, width: int) -> np.ndarray:
        key = (height, width)
        if key not in self._cache:
            if len(self._cache) > 4:
                self._cache.clear()
            self._cache[key] = _grid(height, width)
        return self._cache[key]


_GRIDS = _Grids()


def _sample(image: np.ndarray, flow: np.ndarray, border: int = cv2.BORDER_REPLICATE,
            scale: float = 1.0) -> np.ndarray:
    """``image`` sampled at ``x + scale * flow(x)`` (bilinear)."""
    grid = _GRIDS(*flow.shape[:2])
    where = cv2.add(flow, grid) if scale == 1.0 else cv2.scaleAdd(flow, scale, grid)
    return cv2.remap(image, where, None, cv2.INTER_LINEAR, borderMode=border)


def _consistency(fwd: np.ndarray, bwd: np.ndarray) -> np.ndarray:
    """Soft forward-backward consistency (1: visible in both frames, 0: occluded or gone).

    Follows Sundaram et al.'s test ``|F + B'|^2 < 0.01 (|F|^2 + |B'|^2) + 0.5``, made smooth.
    """
    back = _sample(bwd, fwd)
    total = fwd + back
    err = total[..., 0] ** 2 + total[..., 1] ** 2
    tolerance = 0.01 * (fwd[..., 0] ** 2 + fwd[..., 1] ** 2 + back[..., 0] ** 2
                        + back[..., 1] ** 2) + 0.5
    conf = np.exp(-err / (2.0 * tolerance))
    height, width = fwd.shape[:2]
    grid = _GRIDS(height, width)
    tx, ty = grid[..., 0] + fwd[..., 0], grid[..., 1] + fwd[..., 1]
    inside = (tx >= -0.5) & (tx <= width - 0.5) & (ty >= -0.5) & (ty <= height - 0.5)
    return (conf * inside).astype(np.float32)


def _resize_field(field: np.ndarray, width: int, height: int, scale: float = 1.0) -> np.ndarray:
    out = cv2.resize(field, (width, height), interpolation=cv2.INTER_LINEAR)
    return out * np.float32(scale) if scale != 1.0 else out


def _photometric(grey_from: np.ndarray, grey_to: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """How well ``grey_to`` warped along ``flow`` matches ``grey_from`` (1: same brightness)."""
    warped = _sample(grey_to, flow).astype(np.float32)
    diff = cv2.GaussianBlur(np.abs(grey_from.astype(np.float32) - warped), (5, 5), 0)
    return np.exp(-((diff / PHOTO_TOLERANCE) ** 2)).astype(np.float32)


class PairFlows:
    """Flows both ways and their confidence maps for one pair, at the working size.

    A pixel's confidence is its forward-backward consistency times its photometric agreement
    (the other frame, warped along the flow, has the same brightness there).
    """

    def __init__(self, f01: np.ndarray, f10: np.ndarray, g0: np.ndarray, g1: np.ndarray):
        self.f01, self.f10 = f01, f10
        self.g0, self.g1 = g0.astype(np.float32), g1.astype(np.float32)
        self.c0 = _consistency(f01, f10) * _photometric(g0, g1, f01)
        self.c1 = _consistency(f10, f01) * _photometric(g1, g0, f10)
        self.reliability = float(0.5 * (self.c0.mean() + self.c1.mean()))

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Flows from the frame at time t to a and to b, and the visibility of what they fetch."""
        v = self.f01.copy()
        w = self.f10.copy()
        for _ in range(FIXED_POINT_STEPS):
            v = _sample(self.f01, -t * v)
            w = _sample(self.f10, -(1.0 - t) * w)
        fa0, fa1 = -t * v, (1.0 - t) * v  # estimate from a's pixels
        fb0, fb1 = t * w, -(1.0 - t) * w  # estimate from b's pixels
        ka = _sample(self.c0, fa0)[..., None]
        kb = _sample(self.c1, fb1)[..., None]
        eps = 1e-3
        norm = ka + kb + 2 * eps
        ft0 = (ka * fa0 + kb * fb0 + eps * (fa0 + fb0)) / norm
        ft1 = (ka * fa1 + kb * fb1 + eps * (fa1 + fb1)) / norm
        vis0 = _sample(self.c0, ft0)
        vis1 = _sample(self.c1, ft1)
        return ft0, ft1, vis0, vis1

    def refined(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`at` with the motion through every pixel chosen among candidates (step 4)."""
        ft0, ft1, _, _ = self.at(t)
        estimate = ft1 - ft0
        cost, best = self._cost(estimate, t), estimate.copy()
        self._choose([self.f01, -self.f10, np.zeros_like(estimate),
                      *_shifts(estimate, REFINE_SHIFTS[0])], t, cost, best)
        steps = ((REFINE_STEP, 0.0), (-REFINE_STEP, 0.0), (0.0, REFINE_STEP), (0.0, -REFINE_STEP))
        self._choose([*_shifts(best, REFINE_SHIFTS[1]), *(best + np.float32(s) for s in steps)],
                     t, cost, best)
        best = cv2.merge([cv2.medianBlur(np.ascontiguousarray(best[..., k]), 5) for k in (0, 1)])
        ft0, ft1 = -t * best, (1.0 - t) * best
        return ft0, ft1, _sample(self.c0, ft0), _sample(self.c1, ft1)

    def _cost(self, motion: np.ndarray, t: float) -> np.ndarray:
        """How badly the two ends of ``motion`` through each pixel agree (grey difference
        summed over a window)."""
        diff = cv2.absdiff(_sample(self.g0, motion, scale=-t),
                           _sample(self.g1, motion, scale=1.0 - t))
        return cv2.boxFilter(diff, -1, (REFINE_WINDOW, REFINE_WINDOW))

    def _choose(self, candidates: list[np.ndarray], t: float, cost: np.ndarray,
                best: np.ndarray) -> None:
        """Update ``best`` (and its ``cost``) in place wherever a candidate does better."""
        for motion in candidates:
            here = self._cost(motion, t)
            better = cv2.compare(here, cost, cv2.CMP_LT)
            cv2.min(here, cost, dst=cost)
            cv2.copyTo(motion, better, best)


def _shifts(field: np.ndarray, distances: Sequence[int]) -> list[np.ndarray]:
    """``field`` read from ``d`` pixels away in the four directions, for each distance ``d``
    (edges repeated)."""
    height, width = field.shape[:2]
    r = max(distances)
    padded = cv2.copyMakeBorder(field, r, r, r, r, cv2.BORDER_REPLICATE)
    return [padded[r - dy:r - dy + height, r - dx:r - dx + width]
            for d in distances for dx, dy in ((d, 0), (-d, 0), (0, d), (0, -d))]


def _grey(frame: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    height, width = frame.shape[:2]
    scale = min(1.0, side / max(height, width))
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey, scale


class FlowInterpolator:
    """Classical motion-compensated interpolation (see the module docstring)."""

    device = "cpu"
    dtype = "float32"

    def __init__(self, flow_side: int = FLOW_SIDE, method: str = "dis",
                 preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, refine: bool = True,
                 soften: bool = True):
        """``refine`` and ``soften`` switch steps 4 and 6 (both off: the interpolator as it was
        before issue 26, kept for comparisons)."""
        if method not in ("dis", "farneback"):
            raise ValueError(f"unknown flow method {method!r}")
        if method == "dis" and not hasattr(cv2, "DISOpticalFlow_create"):
            method = "farneback"
        self.flow_side = flow_side
        self.method = method
        self.preset = preset
        self.refine = refine
        self.soften = soften

    def modules(self) -> dict:
        return {}

    # -- flow --------------------------------------------------------------------------------
    def _flow(self, g0: np.ndarray, g1: np.ndarray) -> np.ndarray:
        if self.method == "dis":
            dis = cv2.DISOpticalFlow_create(self.preset)
            return dis.calc(g0, g1, None)
        return cv2.calcOpticalFlowFarneback(g0, g1, None, 0.5, 5, 21, 3, 5, 1.1, 0)

    def pair_flows(self, a: np.ndarray, b: np.ndarray) -> tuple[PairFlows, float]:
        g0, scale = _grey(a, self.flow_side)
        g1, _ = _grey(b, self.flow_side)
        return PairFlows(self._flow(g0, g1), self._flow(g1, g0), g0, g1), scale

    # -- synthesis ---------------------------------------------------------------------------
    def between(self, a: np.ndarray, b: np.ndarray, times: Sequence[float]) -> list[np.ndarray]:
        """Frames at fractional times ``0 < t < 1`` between ``a`` and ``b`` (RGB uint8)."""
        if a.shape != b.shape:
            raise ValueError(f"frames differ in shape: {a.shape} and {b.shape}")
        if not times:
            return []
        flows, scale = self.pair_flows(a, b)
        height, width = a.shape[:2]
        mix = float(np.clip((flows.reliability - RELIABLE_LOW) / (RELIABLE_HIGH - RELIABLE_LOW),
                            0.0, 1.0))
        out = []
        for t in times:
            t = float(t)
            if mix <= 0.0:
                out.append(cv2.addWeighted(a, 1.0 - t, b, t, 0.0))
                continue
            ft0, ft1, vis0, vis1 = flows.refined(t) if self.refine else flows.at(t)
            w0 = (1.0 - t) * (vis0 + VISIBILITY_FLOOR)
            w1 = t * (vis1 + VISIBILITY_FLOOR)
            if scale < 1.0:
                ft0 = _resize_field(ft0, width, height, 1.0 / scale)
                ft1 = _resize_field(ft1, width, height, 1.0 / scale)
                w0 = _resize_field(w0, width, height)
                w1 = _resize_field(w1, width, height)
            frame = cv2.blendLinear(_sample(a, ft0), _sample(b, ft1), w0, w1)
            if self.soften:
                frame = _soften(frame, vis0, vis1, t, scale)
            if mix < 1.0:
                frame = cv2.addWeighted(frame, mix, cv2.addWeighted(a, 1.0 - t, b, t, 0.0),
                                        1.0 - mix, 0.0)
            out.append(frame)
        return out

    def __call__(self, request: InterpolateRequest,
                 progress: Progress | None = None) -> InterpolateResult:
        from pipelines.interpolate.engine import run_interpolation

        return run_interpolation(request, self, progress, backend="interpolate.classical")


def _soften(frame: np.ndarray, vis0: np.ndarray, vis1: np.ndarray, t: float,
            scale: float) -> np.ndarray:
    """Blur ``frame`` where neither neighbour is surely visible (step 6); the amount also falls
    toward ``t`` = 0 and 1, where the new frame is nearly a neighbour."""
    doubt = np.clip(1.0 - np.maximum(vis0, vis1) * (1.0 / SOFTEN_BELOW), 0.0, 1.0)
    doubt = cv2.GaussianBlur(doubt, (0, 0), 2.0) * np.float32(4.0 * t * (1.0 - t))
    if float(doubt.max()) < 0.01:
        return frame
    height, width = frame.shape[:2]
    if doubt.shape[:2] != (height, width):
        doubt = _resize_field(doubt, width, height)
    blurred = cv2.GaussianBlur(frame, (0, 0), SOFTEN_SIGMA / scale)
    return cv2.blendLinear(frame, blurred, 1.0 - doubt, doubt)


class BlendInterpolator:
    """Plain cross-fading (no motion compensation): the baseline the others must beat."""

    device = "cpu"
    dtype = "float32"

    def modules(self) -> dict:
        return {}

    def between(self, a: np.ndarray, b: np.ndarray, times: Sequence[float]) -> list[np.ndarray]:
        return [cv2.addWeighted(a, 1.0 - float(t), b, float(t), 0.0) for t in times]

    def __call__(self, request: InterpolateRequest,
                 progress: Progress | None = None) -> InterpolateResult:
        from pipelines.interpolate.engine import run_interpolation

        return run_interpolation(request, self, progress, backend="blend")


def build(ctx) -> FlowInterpolator:
    """Registry builder of ``interpolate.classical`` (no weights)."""
    return FlowInterpolator()
