"""Temporal consistency for stylised video, and the scene-cut gate it needs.

:class:`TemporalBlender` warps the previous output frame onto the current one along dense optical
flow (OpenCV DIS on downscaled grey frames of the *content*), keeps it where a forward-backward
check and a photometric check say the pixel was visible in both frames, and blends it in with
weight ``blend``; elsewhere (disocclusions, frame borders, new objects) the new stylisation shows.

:class:`CutGate` runs the keyframe task's shot detector on the decoded frames and holds each
frame back until the detector has settled past it, so the blender is reset exactly at a cut and
never smears one shot into the next. The hold is bounded (``max_delay`` frames); a cut reported
later than that (a long fade) is still contained by the photometric check.

The blender's work is split so a video can be pipelined: :meth:`TemporalBlender.analyse` looks
only at two *content* frames (flow, visibility, blend weights) and may run on any thread, ahead
of time; :meth:`TemporalBlender.apply` warps the previous *output* and blends, in frame order.

:class:`TemporalMeter` measures warping error and flicker of the per-frame stylisation and of
the output with one flow per frame pair, so "before" and "after" are compared on equal terms.
It measures an evenly spaced sample of at most ``max_pairs`` pairs (every ``stride``-th), so its
cost stays bounded however long the video is; its flows (content only) can be computed ahead on
any thread too.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import cv2
import numpy as np

from metrics.video import (
    FLICKER_SIGMA,
    FLOW_PRESETS,
    PairFlow,
    resize_flow,
    to_float,
    to_gray,
)
from pipelines.keyframes.analysis import FrameAnalysis
from pipelines.keyframes.detectors import make_detector
from pipelines.keyframes.settings import DetectorParams
from pipelines.media import resize_max_side

FLOW_SIDE = 320  # longer side of the grey frames the blender's flow is computed on
PHOTO_TOLERANCE = 28.0  # grey levels: a warped pixel further than this from the truth is new
DETECTOR_SIDE = 256
# Fades are found a few frames after they end; 8 frames is enough for cuts and short dips.
CUT_PARAMS = DetectorParams(fade_frames=8)


class CutGate:
    """Feed ``(index, frame, payload)`` in order; get back ``(index, payload, is_cut)`` in order,
    each once the shot detector can say whether that frame starts a new shot."""

    def __init__(self, params: DetectorParams = CUT_PARAMS, max_delay: int = 12):
        self.detector = make_detector(params)
        self.max_delay = max_delay
        self.cuts: set[int] = set()
        self.late_cuts: list[int] = []  # reported after their frame had to be released
        self._held: deque[tuple[int, Any]] = deque()
        self._released = -1

    def push(self, index: int, frame: np.ndarray, payload: Any) -> list[tuple[int, Any, bool]]:
        small = resize_max_side(frame, DETECTOR_SIDE)
        self._note(self.detector.process_frame(FrameAnalysis(index, small)))
        self._held.append((index, payload))
        settled = self.detector.settled
        out = []
        while self._held and (self._held[0][0] < settled or len(self._held) > self.max_delay):
            out.append(self._release())
        return out

    def flush(self) -> list[tuple[int, Any, bool]]:
        self._note(self.detector.post_process())
        return [self._release() for _ in range(len(self._held))]

    def _note(self, cuts) -> None:
        for cut in cuts:
            self.cuts.add(cut.frame)
            if cut.frame <= self._released:
                self.late_cuts.append(cut.frame)

    def _release(self) -> tuple[int, Any, bool]:
        index, payload = self._held.popleft()
        self._released = index
        return index, payload, index in self.cuts


@lru_cache(maxsize=8)
def _grid(height: int, width: int) -> np.ndarray:
    """Each pixel's own (x, y), ``HxWx2`` float32 (read-only, shared): flow + grid = where a
    pixel samples from."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    grid = np.dstack([xs, ys])
    grid.flags.writeable = False
    return grid


def sample_points(flow: np.ndarray) -> np.ndarray:
    """Where each pixel samples from along ``flow`` (``cv2.remap``'s two-channel map)."""
    return _grid(*flow.shape[:2]) + flow


def visible(backward: np.ndarray, forward: np.ndarray,
            points: np.ndarray | None = None) -> np.ndarray:
    """The forward-backward check of :func:`metrics.video.occlusion_mask` (Sundaram et al.:
    ``|b + f|^2 <= 0.01 (|b|^2 + |f|^2) + 0.5``, target inside the frame), the same numbers,
    computed on separate x and y planes (NumPy's sums over a last axis of two are slow).
    ``points``: :func:`sample_points` of ``backward`` when the caller has them."""
    height, width = backward.shape[:2]
    points = sample_points(backward) if points is None else points
    f_back = cv2.remap(forward, points, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    bx, by = cv2.split(backward)
    fx, fy = cv2.split(f_back)
    round_trip = (bx + fx) ** 2 + (by + fy) ** 2
    bound = 0.01 * ((bx**2 + by**2) + (fx**2 + fy**2)) + 0.5
    px, py = cv2.split(points)
    return ((round_trip <= bound) & (px >= 0) & (px <= width - 1) & (py >= 0)
            & (py <= height - 1))


def _thread_dis(local: threading.local, preset: int):
    """This thread's DIS instance of ``preset`` (``calc`` is not safe on two threads at once)."""
    cache = local.__dict__.setdefault("dis", {})
    if preset not in cache:
        cache[preset] = cv2.DISOpticalFlow_create(preset)
    return cache[preset]


def _small(grey: np.ndarray, side: int) -> np.ndarray:
    """``grey`` with its longer side at most ``side`` (INTER_AREA), as metrics.video reduces
    frames for flow."""
    height, width = grey.shape[:2]
    if max(height, width) <= side:
        return grey
    scale = side / max(height, width)
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


class Motion(NamedTuple):
    """What :meth:`TemporalBlender.analyse` finds between two content frames, at flow size."""

    backward: np.ndarray  # flow current -> previous (pixels of the flow-sized frames)
    weight: np.ndarray  # 0..1: how far the warped previous frame can be trusted at each pixel


class TemporalBlender:
    """Blend the flow-warped previous output into each new stylised frame where it is valid."""

    def __init__(self, blend: float = 0.7, flow_side: int = FLOW_SIDE,
                 tolerance: float = PHOTO_TOLERANCE):
        self.blend = blend
        self.flow_side = flow_side
        self.tolerance = tolerance
        self._local = threading.local()  # one DIS instance per thread
        self._prev_grey: np.ndarray | None = None
        self._prev_out: np.ndarray | None = None
        self.last_valid = 0.0  # fraction of pixels taken (partly) from the warped frame

    def reset(self) -> None:
        self._prev_grey = self._prev_out = None

    def small_grey(self, frame: np.ndarray) -> np.ndarray:
        """The content frame as the flow sees it: grey, longer side at most ``flow_side``."""
        return _small(to_gray(frame), self.flow_side)

    def analyse(self, prev_grey: np.ndarray, grey: np.ndarray) -> Motion:
        """Flow and blend weights between two consecutive content frames (from
        :meth:`small_grey`). Depends on nothing else, so it may run on any thread, ahead."""
        dis = _thread_dis(self._local, cv2.DISOPTICAL_FLOW_PRESET_FAST)
        backward = dis.calc(grey, prev_grey, None)
        forward = dis.calc(prev_grey, grey, None)
        points = sample_points(backward)
        warped = cv2.remap(prev_grey, points, None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        photo = cv2.absdiff(warped, grey) < self.tolerance
        weight = (visible(backward, forward, points) & photo).astype(np.float32)
        weight = cv2.GaussianBlur(weight, (5, 5), 0)  # soft seams at occlusion borders
        return Motion(backward, weight)

    def apply(self, stylised: np.ndarray, motion: Motion | None, cut: bool = False) -> np.ndarray:
        """The output frame: ``stylised`` with the previous output, warped along ``motion``
        (between the previous content frame and this one), blended in. Call in frame order;
        ``motion`` None (the first frame) or ``cut`` restarts from ``stylised``."""
        prev_out = self._prev_out
        if (cut or motion is None or prev_out is None or prev_out.shape != stylised.shape
                or self.blend <= 0):
            out = stylised
            self.last_valid = 0.0
        else:
            self.last_valid = float(motion.weight.mean())
            out = self._blend(prev_out, stylised, motion)
        self._prev_out = out
        return out

    def _blend(self, prev_out: np.ndarray, stylised: np.ndarray, motion: Motion) -> np.ndarray:
        height, width = stylised.shape[:2]
        small_h, small_w = motion.backward.shape[:2]
        # The flow enlarged to the output size, its vectors scaled to match, as sample points.
        scaled = motion.backward * np.float32([width / small_w, height / small_h])
        points = cv2.resize(scaled, (width, height), interpolation=cv2.INTER_LINEAR)
        points += _grid(height, width)
        warped = cv2.remap(prev_out, points, None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.resize(motion.weight * np.float32(self.blend), (width, height),
                           interpolation=cv2.INTER_LINEAR)
        # stylised + alpha * (warped - stylised), rounded, in one pass.
        return cv2.blendLinear(warped, stylised, alpha, 1.0 - alpha)

    def __call__(self, content: np.ndarray, stylised: np.ndarray, cut: bool = False) -> np.ndarray:
        """:meth:`analyse` and :meth:`apply` in one step, for callers that go frame by frame."""
        grey = self.small_grey(content)
        prev_grey, self._prev_grey = self._prev_grey, grey
        first = cut or prev_grey is None or prev_grey.shape != grey.shape
        return self.apply(stylised, None if first else self.analyse(prev_grey, grey), cut)


def measure_stride(frame_count: int, max_pairs: int) -> int:
    """Every how many frames :class:`TemporalMeter` measures a pair, for at most ``max_pairs``
    evenly spaced pairs of a ``frame_count``-frame video (1: every pair)."""
    return max(1, math.ceil((frame_count - 1) / max(1, max_pairs)))


@dataclass
class TemporalMeter:
    """Mean warping error and flicker of two streams (per-frame and output), on content flow.

    Measures the pairs (frame ``i - 1``, frame ``i``) for ``i`` a multiple of ``stride``; pairs
    across a cut are left out. :meth:`flows` (content only) and :meth:`score` may run on any
    thread; :meth:`update` is called in frame order.
    """

    max_side: int = 480
    stride: int = 1
    before: dict[str, list[float]] = field(default_factory=lambda: {"warping_error": [],
                                                                    "flicker": []})
    after: dict[str, list[float]] = field(default_factory=lambda: {"warping_error": [],
                                                                   "flicker": []})
    _prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def wants(self, index: int) -> bool:
        """Whether the pair ending at frame ``index`` is measured."""
        return index > 0 and index % self.stride == 0

    def flows(self, prev_content: np.ndarray, content: np.ndarray) -> PairFlow | None:
        """The pair's flows on the content and their visibility mask: what
        :func:`metrics.video.pair_flow` gives (DIS medium at ``max_side``, flows at full size),
        each frame reduced once and the mask computed by :func:`visible`. None for frames of
        different sizes."""
        if prev_content.shape != content.shape:
            return None
        height, width = content.shape[:2]
        prev, cur = (_small(to_gray(f), self.max_side) for f in (prev_content, content))
        dis = _thread_dis(self._local, FLOW_PRESETS["medium"])
        backward = resize_flow(dis.calc(cur, prev, None), width, height)
        forward = resize_flow(dis.calc(prev, cur, None), width, height)
        return PairFlow(backward, forward, visible(backward, forward))

    @staticmethod
    def score(flows: PairFlow, prev: tuple[np.ndarray, np.ndarray],
              cur: tuple[np.ndarray, np.ndarray]) -> tuple[tuple[float, float], ...]:
        """(warping error, flicker) of the per-frame stream and of the output stream, given the
        previous and current (per-frame, output) frames: the numbers of
        :func:`metrics.video.warping_error` and :func:`metrics.video.flicker_index` on
        ``flows.backward`` and ``flows.mask``, with the sample points and the valid pixels found
        once for the pair and the colour channels summed on planes."""
        height, width = flows.backward.shape[:2]
        points = sample_points(flows.backward)
        px, py = cv2.split(points)
        valid = flows.mask & (px >= 0) & (px <= width - 1) & (py >= 0) & (py <= height - 1)
        if not valid.any():
            return tuple((0.0, 0.0) for _ in prev)
        scores = []
        for a, b in zip(prev, cur, strict=True):
            warped = cv2.remap(to_float(a), points, None, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
            diff = to_float(b) - warped
            planes = cv2.split(diff) if diff.ndim == 3 else [diff]
            total = planes[0] * planes[0]
            for plane in planes[1:]:
                total += plane * plane
            squared = total / np.float32(len(planes))
            low_a, low_b = (cv2.GaussianBlur(to_gray(x).astype(np.float32), (0, 0),
                                             FLICKER_SIGMA) for x in (a, b))
            low_a = cv2.remap(low_a, points, None, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
            scores.append((float(squared[valid].mean()),
                           float(np.abs(low_b - low_a)[valid].mean() / 255.0)))
        return tuple(scores)

    def pair(self, index: int, content: np.ndarray, raw: np.ndarray, out: np.ndarray,
             cut: bool) -> tuple[tuple[np.ndarray, np.ndarray], ...] | None:
        """Note frame ``index`` (in order); the (previous, current) (per-frame, output) frames
        to score when the pair ending here is measured, else None."""
        prev, self._prev = self._prev, (content, raw, out)
        if prev is None or cut or not self.wants(index) or prev[0].shape != content.shape:
            return None
        return (prev[1], prev[2]), (raw, out)

    def add(self, scores: tuple[tuple[float, float], ...]) -> None:
        """Record one pair's :meth:`score`."""
        for stream, (error, flicker) in zip((self.before, self.after), scores, strict=True):
            stream["warping_error"].append(error)
            stream["flicker"].append(flicker)

    def update(self, index: int, content: np.ndarray, raw: np.ndarray, out: np.ndarray,
               cut: bool, flows: PairFlow | None = None) -> None:
        """:meth:`pair`, :meth:`flows` (unless given) and :meth:`score` in one step, for callers
        that go frame by frame."""
        prev = self._prev
        frames = self.pair(index, content, raw, out, cut)
        if frames is None:
            return
        flows = flows if flows is not None else self.flows(prev[0], content)
        if flows is not None:
            self.add(self.score(flows, *frames))

    @property
    def pairs(self) -> int:
        """How many pairs were measured."""
        return len(self.before["warping_error"])

    @staticmethod
    def _means(scores: dict[str, list[float]]) -> dict[str, float]:
        return {k: round(float(np.mean(v)), 6) if v else 0.0 for k, v in scores.items()}

    def summary(self) -> tuple[dict[str, float], dict[str, float]]:
        return self._means(self.before), self._means(self.after)
