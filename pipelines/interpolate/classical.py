"""The weight-free interpolator: bidirectional optical flow, flows for time t, occlusion-aware
backward warping of both neighbours.

For a pair (a, b):

1. Dense flow both ways, ``F01`` and ``F10``, with OpenCV's DIS (coarse-to-fine over an image
   pyramid, so large motion is found at coarse levels and refined at fine ones; preset medium
   with :data:`DIS_PARAMS`) on grey frames downscaled so the longer side is at most
   ``flow_side``; Farneback (also pyramidal) where DIS is missing or asked for.
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
   smeared the background's over it), then a second round around the winner (from 2 pixels
   away, and +-1 pixel). A 5x5 median cleans the field.
5. Both neighbours are warped backwards (``cv2.remap``) at full resolution and blended with
   weights ``(1 - t) V0`` and ``t V1``, ``V`` the visibility of the pixel fetched.
6. Where neither neighbour is surely visible (both ``V`` low) and the two warped neighbours
   disagree (grey difference over ``SOFTEN_AGREE``, fully at ``SOFTEN_DISAGREE``), the flow has
   failed (typically on limbs, fast small objects and motion blur) and the frame is blurred in
   proportion (Gaussian, ``SOFTEN_SIGMA`` pixels of the flow frame): when the position is
   uncertain, the average over the likely positions is the estimate with the least squared
   error, and it replaces a sharp double image. Flat areas (inconsistent flow, but both
   neighbours agree) and occlusions (one side visible) stay sharp.
7. Graceful fallback: where little of the flow is consistent (heavy blur, noise, flashes) the
   result moves toward the plain cross-fade in proportion; flows are smooth fields, so warping
   never tears.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from pipelines.interpolate.types import InterpolateRequest, InterpolateResult
from pipelines.progress import Progress

FLOW_SIDE = 320  # longer side of the frames flow is computed on (320 measured best of 320-480)
FIXED_POINT_STEPS = 3
# DIS preset medium with two changes, measured on whole real clips (docs/interpolate.md): a patch
# every 4 pixels instead of 3, and one variational refinement pass instead of 5 (more passes
# smooth the motion across object edges, which the candidate refinement then has to undo).
DIS_PARAMS = {"PatchStride": 4, "VariationalRefinementIterations": 1}
RELIABLE_LOW, RELIABLE_HIGH = 0.15, 0.4  # mean consistency: plain blend below, full MC above
VISIBILITY_FLOOR = 0.05  # keeps both neighbours in the blend where neither is surely visible
PHOTO_TOLERANCE = 24.0  # grey levels of (smoothed) warping residual at which confidence is 1/e
# Candidate refinement (step 4): shifts in flow-frame pixels, window, penalty per pixel of change.
REFINE_SHIFTS = ((4, 8), (2,))  # first round around the estimate, second around the best
REFINE_STEP = 1.0
REFINE_WINDOW = 7
REFINE_ACTIVE = 0.5  # pixels: where all candidates agree closer than this, nothing is searched
# Softening (step 6): blur where the larger visibility is below SOFTEN_BELOW (fully at 0).
SOFTEN_BELOW = 0.6
SOFTEN_SIGMA = 1.0  # in pixels of the flow frame (2.4 at 768x576, 4 at 1280x720)
SOFTEN_AGREE, SOFTEN_DISAGREE = 2.0, 12.0  # grey levels: warped neighbours agree / disagree


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


def _resize_field(field: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.resize(field, (width, height), interpolation=cv2.INTER_LINEAR)


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

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The motion ``D`` through each pixel of the frame at time t (it fetches a at
        ``x - t D`` and b at ``x + (1 - t) D``), and the visibility of what it fetches."""
        motion = self.motion(t)
        return motion, *self.visibility(motion, t)

    def motion(self, t: float) -> np.ndarray:
        """The motion of :meth:`at` alone (step 3)."""
        v = self.f01.copy()
        w = self.f10.copy()
        for _ in range(FIXED_POINT_STEPS):
            v = _sample(self.f01, v, scale=-t)
            w = _sample(self.f10, w, scale=-(1.0 - t))
        ka = _sample(self.c0, v, scale=-t)[..., None]  # how sure a's estimate v is
        kb = _sample(self.c1, w, scale=-(1.0 - t))[..., None]  # and b's estimate -w
        eps = 1e-3
        return (ka * v - kb * w + eps * (v - w)) / (ka + kb + 2 * eps)

    def visibility(self, motion: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """How surely the pixels of a and of b that ``motion`` fetches are visible."""
        return _sample(self.c0, motion, scale=-t), _sample(self.c1, motion, scale=1.0 - t)

    def refined(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`at` with the motion through every pixel chosen among candidates (step 4).

        Only the box around the pixels where some candidate differs from the estimate by more
        than ``REFINE_ACTIVE`` pixels is searched (elsewhere every candidate is the same
        motion): a few walking people make a box of about 40% of the frame."""
        estimate = self.motion(t)
        first = [self.f01, -self.f10, np.zeros_like(estimate),
                 *_shifts(estimate, REFINE_SHIFTS[0])]
        box = _active_box(estimate, first, REFINE_WINDOW + 2 * max(REFINE_SHIFTS[1]))
        best = estimate.copy()
        if box is not None:
            y0, y1, x0, x1 = box
            grid = _GRIDS(*estimate.shape[:2])[y0:y1, x0:x1]
            crop = best[y0:y1, x0:x1]  # a view: choices land in ``best``
            cost = self._cost(crop, t, grid)
            self._choose([c[y0:y1, x0:x1] for c in first], t, cost, crop, grid)
            steps = ((REFINE_STEP, 0.0), (-REFINE_STEP, 0.0), (0.0, REFINE_STEP),
                     (0.0, -REFINE_STEP))
            second = [c[y0:y1, x0:x1] for c in _shifts(best, REFINE_SHIFTS[1])]
            self._choose([*second, *(cv2.add(crop, (dx, dy, 0.0, 0.0)) for dx, dy in steps)], t,
                         cost, crop, grid)
        best = cv2.merge([cv2.medianBlur(np.ascontiguousarray(best[..., k]), 5) for k in (0, 1)])
        return best, *self.visibility(best, t)

    def _cost(self, motion: np.ndarray, t: float, grid: np.ndarray) -> np.ndarray:
        """How badly the two ends of ``motion`` (at the pixels ``grid``) agree: grey
        difference summed over a window."""
        at0 = cv2.scaleAdd(motion, -t, grid)
        at1 = cv2.scaleAdd(motion, 1.0 - t, grid)
        diff = cv2.absdiff(cv2.remap(self.g0, at0, None, cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE),
                           cv2.remap(self.g1, at1, None, cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE))
        return cv2.boxFilter(diff, -1, (REFINE_WINDOW, REFINE_WINDOW))

    def _choose(self, candidates: list[np.ndarray], t: float, cost: np.ndarray,
                best: np.ndarray, grid: np.ndarray) -> None:
        """Update ``best`` (and its ``cost``) in place wherever a candidate does better."""
        for motion in candidates:
            here = self._cost(motion, t, grid)
            better = cv2.compare(here, cost, cv2.CMP_LT)
            cv2.min(here, cost, dst=cost)
            cv2.copyTo(motion, better, best)


def _active_box(estimate: np.ndarray, candidates: list[np.ndarray],
                margin: int) -> tuple[int, int, int, int] | None:
    """Rows ``y0:y1`` and columns ``x0:x1`` around every pixel where a candidate differs from
    ``estimate`` by more than ``REFINE_ACTIVE`` pixels (plus ``margin``), or None."""
    height, width = estimate.shape[:2]
    spread = np.zeros_like(estimate)
    for motion in candidates:
        cv2.max(spread, cv2.absdiff(motion, estimate), dst=spread)
    active = spread.reshape(height, 2 * width) > REFINE_ACTIVE  # both components side by side
    rows = np.flatnonzero(active.any(axis=1))
    cols = np.flatnonzero(active.any(axis=0).reshape(width, 2).any(axis=1))
    if rows.size == 0:
        return None
    return (max(0, int(rows[0]) - margin), min(height, int(rows[-1]) + margin + 1),
            max(0, int(cols[0]) - margin), min(width, int(cols[-1]) + margin + 1))


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
                 soften: bool = True, dis_params: Mapping[str, int] | None = None):
        """``refine`` and ``soften`` switch steps 4 and 6; ``dis_params`` overrides DIS settings
        of the preset (default :data:`DIS_PARAMS`). ``refine=False, soften=False,
        dis_params={}`` is the interpolator as it was before issue 26, kept for comparisons."""
        if method not in ("dis", "farneback"):
            raise ValueError(f"unknown flow method {method!r}")
        if method == "dis" and not hasattr(cv2, "DISOpticalFlow_create"):
            method = "farneback"
        self.flow_side = flow_side
        self.method = method
        self.preset = preset
        self.dis_params = dict(DIS_PARAMS if dis_params is None else dis_params)
        self.refine = refine
        self.soften = soften
        self._last_grey: tuple[np.ndarray, np.ndarray, float] | None = None

    def modules(self) -> dict:
        return {}

    # -- flow --------------------------------------------------------------------------------
    def _flow(self, g0: np.ndarray, g1: np.ndarray) -> np.ndarray:
        if self.method == "dis":
            dis = cv2.DISOpticalFlow_create(self.preset)
            for name, value in self.dis_params.items():
                getattr(dis, f"set{name}")(value)
            return dis.calc(g0, g1, None)
        return cv2.calcOpticalFlowFarneback(g0, g1, None, 0.5, 5, 21, 3, 5, 1.1, 0)

    def pair_flows(self, a: np.ndarray, b: np.ndarray) -> tuple[PairFlows, float]:
        g0, scale = self._grey(a)
        g1, _ = self._grey(b)
        return PairFlows(self._flow(g0, g1), self._flow(g1, g0), g0, g1), scale

    def _grey(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """The grey working frame; the last one is remembered, since a video's pairs share
        frames (b of one pair is a of the next; frames are never changed in place)."""
        last = self._last_grey
        if last is not None and last[0] is frame:
            return last[1], last[2]
        grey, scale = _grey(frame, self.flow_side)
        self._last_grey = (frame, grey, scale)
        return grey, scale

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
            motion, vis0, vis1 = flows.refined(t) if self.refine else flows.at(t)
            w0 = (1.0 - t) * (vis0 + VISIBILITY_FLOOR)
            w1 = t * (vis1 + VISIBILITY_FLOOR)
            working = motion
            if scale < 1.0:
                motion = _resize_field(motion, width, height)
                w0 = _resize_field(w0, width, height)
                w1 = _resize_field(w1, width, height)
            frame = cv2.blendLinear(_sample(a, motion, scale=-t / scale),
                                    _sample(b, motion, scale=(1.0 - t) / scale), w0, w1)
            if self.soften:
                frame = _soften(frame, flows, working, vis0, vis1, t, scale)
            if mix < 1.0:
                frame = cv2.addWeighted(frame, mix, cv2.addWeighted(a, 1.0 - t, b, t, 0.0),
                                        1.0 - mix, 0.0)
            out.append(frame)
        return out

    def __call__(self, request: InterpolateRequest,
                 progress: Progress | None = None) -> InterpolateResult:
        from pipelines.interpolate.engine import run_interpolation

        return run_interpolation(request, self, progress, backend="interpolate.classical")


def _soften(frame: np.ndarray, flows: PairFlows, motion: np.ndarray, vis0: np.ndarray,
            vis1: np.ndarray, t: float, scale: float) -> np.ndarray:
    """Blur ``frame`` where neither neighbour is surely visible and the two, warped along
    ``motion`` (flow-frame size), disagree (step 6); the amount also falls toward ``t`` = 0 and
    1, where the new frame is nearly a neighbour. Only the box around such pixels is touched,
    in place."""
    doubt = np.clip(1.0 - np.maximum(vis0, vis1) * (1.0 / SOFTEN_BELOW), 0.0, 1.0)
    apart = cv2.absdiff(_sample(flows.g0, motion, scale=-t),
                        _sample(flows.g1, motion, scale=1.0 - t))
    apart = cv2.GaussianBlur(apart, (0, 0), 2.0)
    doubt *= np.clip((apart - SOFTEN_AGREE) * (1.0 / (SOFTEN_DISAGREE - SOFTEN_AGREE)), 0.0, 1.0)
    doubt = cv2.GaussianBlur(doubt, (0, 0), 2.0) * np.float32(4.0 * t * (1.0 - t))
    rows = np.flatnonzero(doubt.max(axis=1) >= 0.01)
    cols = np.flatnonzero(doubt.max(axis=0) >= 0.01)
    if rows.size == 0:
        return frame
    height, width = frame.shape[:2]
    sigma = SOFTEN_SIGMA / scale
    pad = int(3 * sigma) + 2
    y0, y1 = max(0, int(rows[0] / scale) - pad), min(height, int((rows[-1] + 1) / scale) + pad)
    x0, x1 = max(0, int(cols[0] / scale) - pad), min(width, int((cols[-1] + 1) / scale) + pad)
    # ``doubt`` resized to the frame, for the box only: dst (x, y) reads src (x + x0 + 0.5) *
    # scale - 0.5 (as cv2.resize maps pixel centres).
    back = np.float32([[scale, 0, (x0 + 0.5) * scale - 0.5], [0, scale, (y0 + 0.5) * scale - 0.5]])
    doubt = cv2.warpAffine(doubt, back, (x1 - x0, y1 - y0),
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
    region = frame[y0:y1, x0:x1]
    blurred = cv2.GaussianBlur(region, (0, 0), sigma)
    frame[y0:y1, x0:x1] = cv2.blendLinear(region, blurred, 1.0 - doubt, doubt)
    return frame


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
