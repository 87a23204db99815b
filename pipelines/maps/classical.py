"""The weight-free maps backend.

- ``flow``: dense optical flow from each frame to the next one read, by OpenCV's DIS (dense
  inverse search, medium preset) or Farneback's polynomial expansion;
- ``motion``: moving-object masks from OpenCV's MOG2 background model, primed with the
  median of up to 15 frames spread over the clip (so what moves in the first frame is not
  learned as background) and then learning at 1/``history`` a frame (shadows, which MOG2 marks
  apart, are left out; a 3x3 opening removes speckle);
- ``depth``: relative inverse depth from motion parallax when the camera moves, else a rough
  single-image cue (see :func:`parallax` and :func:`still_cue`; docs/maps.md says where each
  holds).

Frames stream through: only the frame pair in hand (and the background model) is held.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from pipelines.errors import InputError
from pipelines.maps.frames import grey, read_input
from pipelines.maps.settings import KINDS
from pipelines.maps.temporal import smooth_depth
from pipelines.maps.types import MapFrame, MapsRequest, MapsResult
from pipelines.media import iter_frames
from pipelines.progress import Progress, no_progress
from pipelines.registry import LoadContext

PROBE_PAIRS = 6  # frame pairs the camera-motion probe reads across the clip
PROBE_SIDE = 256  # ... at this longest side
MOVING_PX = 0.35  # median flow (pixels at PROBE_SIDE) above which the camera counts as moving
PRIMING_FRAMES = 15  # frames whose median primes the motion masks' background model
PRIOR_WEIGHT = 0.7  # still cue: share of the vertical-position prior (the rest: edge density)


def flow_engine(method: str):
    """A function ``(grey a, grey b) -> flow HxWx2 float32`` (pixels, a -> b)."""
    if method == "farneback":
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 15, 3, 5, 1.2, 0)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return lambda a, b: dis.calc(a, b, None)


def parallax(flow: np.ndarray) -> np.ndarray:
    """Relative inverse depth from one flow field of a moving camera.

    For a translating camera the image speed of a point is proportional to its inverse depth;
    a rotating camera adds motion that does not depend on depth. When most of the field moves
    one way (a pan or tracking shot) the flow is projected on that dominant direction (signed:
    a near layer passing a far one counts as nearer whichever of the two fills more of the
    frame); otherwise (moving forward, zooming) its length is taken. The map is then smoothed
    (a 5-pixel median, a Gaussian of 1 % of the frame). Units: pixels per frame step.
    """
    fx, fy = flow[..., 0], flow[..., 1]
    dominant = np.array([np.median(fx), np.median(fy)], np.float32)
    length = float(np.hypot(*dominant))
    speed = np.hypot(fx, fy)
    if length > 0 and length >= 0.5 * float(np.median(speed)):
        depth = np.maximum(0.0, (fx * dominant[0] + fy * dominant[1]) / length)
    else:
        depth = speed
    depth = cv2.medianBlur(depth.astype(np.float32), 5)
    sigma = 0.01 * max(depth.shape)
    return cv2.GaussianBlur(depth, (0, 0), sigma).astype(np.float32)


def still_cue(rgb: np.ndarray) -> np.ndarray:
    """A rough single-image depth cue for a still camera or one image: lower in the frame is
    nearer (a ground-plane prior, weight 0.7) blended with local edge density (0.3; in-focus,
    detailed parts tend to be the subject). Values in [0, 1]; a cue, not a measurement."""
    height, width = rgb.shape[:2]
    prior = np.repeat(np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None], width, axis=1)
    g = grey(rgb).astype(np.float32) / 255.0
    edges = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    density = cv2.GaussianBlur(edges, (0, 0), 0.05 * max(height, width))
    top = float(np.percentile(density, 99))
    density = np.clip(density / top, 0, 1) if top > 0 else np.zeros_like(density)
    return (PRIOR_WEIGHT * prior + (1 - PRIOR_WEIGHT) * density).astype(np.float32)


def camera_moves(request: MapsRequest) -> tuple[bool, float]:
    """Whether the camera moves over the clip: the median flow length of a few frame pairs
    spread over it (at 256 px), above 0.35 px per frame step; returns (moves, that median)."""
    if request.is_image or request.count < 2:
        return False, 0.0
    compute = flow_engine("dis")
    positions = np.unique(np.linspace(0, request.count - 2, PROBE_PAIRS).round().astype(int))
    medians = []
    for position in positions:
        start = int(position) * request.step
        pair = [f for _, f in iter_frames(request.media, start=start, end=start +
                                          request.step + 1, stride=request.step,
                                          max_side=PROBE_SIDE)]
        if len(pair) == 2:
            flow = compute(grey(pair[0]), grey(pair[1]))
            medians.append(float(np.median(np.hypot(flow[..., 0], flow[..., 1]))))
    motion = float(np.median(medians)) if medians else 0.0
    return motion > MOVING_PX, motion


def median_background(request: MapsRequest) -> np.ndarray:
    """The per-pixel median of up to 15 frames spread evenly over the frames the job reads."""
    stride = request.step * max(1, -(-request.count // PRIMING_FRAMES))
    frames = [f for _, f in iter_frames(request.media, start=0, end=request.count * request.step,
                                        stride=stride, max_side=request.max_side)]
    return np.median(np.stack(frames), axis=0).astype(np.uint8)


class MapsRunner:
    """Flow, motion masks and relative depth, weight-free (CPU)."""

    device, dtype = "cpu", "float32"

    def modules(self) -> dict[str, Any]:
        return {}

    def __call__(self, request: MapsRequest, progress: Progress | None = None) -> MapsResult:
        report = progress or no_progress
        if request.kind not in KINDS:
            raise InputError(f"Unknown map '{request.kind}'; use {', '.join(KINDS)}.")
        if request.kind in ("flow", "motion") and request.is_image:
            raise InputError(f"A {request.kind} map needs a video; '{request.media.name}' is "
                             f"one image (use kind 'depth' for an image).")
        info: dict[str, Any] = {}
        notes: list[str] = []
        if request.kind == "flow":
            maps = self._flow(request, report)
            info["units"] = "pixels per frame step, from each frame to the next one read"
        elif request.kind == "motion":
            maps = self._motion(request, report)
        elif request.kind == "person":
            maps = self._person(request, report)
            info["model"] = "MediaPipe selfie segmentation (metrics.person-mask)"
        else:
            moves, motion = camera_moves(request)
            info["cue"] = "parallax" if moves else "single-image"
            info["camera_motion_px"] = round(motion, 4)
            if moves:
                maps = self._parallax(request, report)
            else:
                maps = self._still(request, report)
                notes.append("The camera barely moves (median flow "
                              f"{motion:.2f} px at {PROBE_SIDE} px), so depth comes from a "
                              "single-image cue (lower is nearer, blended with edge "
                              "density): a rough guess, not parallax." if not request.is_image
                              else "One image: depth comes from a single-image cue (lower is "
                              "nearer, blended with edge density): a rough guess.")
            maps = smooth_depth(maps, request.align, request.smoothing, info)
        return MapsResult(request.kind, maps, request.fps / request.step, notes, info)

    @staticmethod
    def _counted(request: MapsRequest, report: Progress) -> Iterator[tuple[int, np.ndarray]]:
        for n, (index, rgb) in enumerate(read_input(request), 1):
            yield index, rgb
            report(min(1.0, n / max(1, request.count)), f"frame {n}/{request.count}")

    def _flow(self, request: MapsRequest, report: Progress) -> Iterator[MapFrame]:
        compute = flow_engine(request.flow_method)
        previous = None
        for index, rgb in self._counted(request, report):
            current = (index, rgb, grey(rgb))
            if previous is not None:
                yield MapFrame(previous[0], previous[1], compute(previous[2], current[2]))
            previous = current

    def _motion(self, request: MapsRequest, report: Progress) -> Iterator[MapFrame]:
        model = cv2.createBackgroundSubtractorMOG2(history=request.history,
                                                   varThreshold=request.threshold,
                                                   detectShadows=True)
        background = median_background(request)
        for k in range(10):  # the median, learned as the background
            model.apply(background, learningRate=1.0 / (k + 1))
        rate = 1.0 / request.history
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        for index, rgb in self._counted(request, report):
            foreground = (model.apply(rgb, learningRate=rate) == 255).astype(np.uint8)
            mask = cv2.morphologyEx(foreground, cv2.MORPH_OPEN, kernel).astype(bool)
            yield MapFrame(index, rgb, mask)

    def _person(self, request: MapsRequest, report: Progress) -> Iterator[MapFrame]:
        if request.segmenter is None:
            raise InputError("A person mask needs the person-mask network; run the job "
                             "through the studio (it loads metrics.person-mask).")
        for index, rgb in self._counted(request, report):
            yield MapFrame(index, rgb, request.segmenter.mask(rgb) > 0.5)

    def _parallax(self, request: MapsRequest, report: Progress) -> Iterator[MapFrame]:
        compute = flow_engine(request.flow_method)
        previous, depth = None, None
        for index, rgb in self._counted(request, report):
            current = (index, rgb, grey(rgb))
            if previous is not None:
                depth = parallax(compute(previous[2], current[2]))
                yield MapFrame(previous[0], previous[1], depth)
            previous = current
        if previous is not None:  # the last frame keeps the last pair's map
            yield MapFrame(previous[0], previous[1],
                           depth if depth is not None else still_cue(previous[1]))

    def _still(self, request: MapsRequest, report: Progress) -> Iterator[MapFrame]:
        for index, rgb in self._counted(request, report):
            yield MapFrame(index, rgb, still_cue(rgb))


def build(ctx: LoadContext) -> MapsRunner:
    """Builder of ``maps.classical`` (weight-free)."""
    return MapsRunner()
