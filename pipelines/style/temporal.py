"""Temporal consistency for stylised video, and the scene-cut gate it needs.

:class:`TemporalBlender` warps the previous output frame onto the current one along dense optical
flow (OpenCV DIS on downscaled grey frames of the *content*), keeps it where a forward-backward
check and a photometric check say the pixel was visible in both frames, and blends it in with
weight ``blend``; elsewhere (disocclusions, frame borders, new objects) the new stylisation shows.

:class:`CutGate` runs the keyframe task's shot detector on the decoded frames and holds each
frame back until the detector has settled past it, so the blender is reset exactly at a cut and
never smears one shot into the next. The hold is bounded (``max_delay`` frames); a cut reported
later than that (a long fade) is still contained by the photometric check.

:class:`TemporalMeter` measures warping error and flicker of the per-frame stylisation and of
the output with one flow per frame pair, so "before" and "after" are compared on equal terms.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from metrics.video import (
    flicker_index,
    occlusion_mask,
    pair_flow,
    resize_flow,
    to_gray,
    warp,
    warping_error,
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


class TemporalBlender:
    """Blend the flow-warped previous output into each new stylised frame where it is valid."""

    def __init__(self, blend: float = 0.7, flow_side: int = FLOW_SIDE,
                 tolerance: float = PHOTO_TOLERANCE):
        self.blend = blend
        self.flow_side = flow_side
        self.tolerance = tolerance
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._prev_grey: np.ndarray | None = None
        self._prev_out: np.ndarray | None = None
        self.last_valid = 0.0  # fraction of pixels taken (partly) from the warped frame

    def reset(self) -> None:
        self._prev_grey = self._prev_out = None

    def _small_grey(self, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        scale = min(1.0, self.flow_side / max(height, width))
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        return cv2.resize(to_gray(frame), size, interpolation=cv2.INTER_AREA)

    def __call__(self, content: np.ndarray, stylised: np.ndarray, cut: bool = False) -> np.ndarray:
        grey = self._small_grey(content)
        prev_grey, prev_out = self._prev_grey, self._prev_out
        if cut or prev_out is None or prev_out.shape != stylised.shape or self.blend <= 0:
            out = stylised
            self.last_valid = 0.0
        else:
            backward = self._dis.calc(grey, prev_grey, None)
            forward = self._dis.calc(prev_grey, grey, None)
            visible = occlusion_mask(backward, forward)
            photo = np.abs(warp(prev_grey, backward).astype(np.float32) - grey) < self.tolerance
            weight = (visible & photo).astype(np.float32)
            weight = cv2.GaussianBlur(weight, (5, 5), 0)  # soft seams at occlusion borders
            self.last_valid = float(weight.mean())
            height, width = stylised.shape[:2]
            flow = resize_flow(backward, width, height)
            warped = warp(prev_out, flow)
            alpha = cv2.resize(weight, (width, height), interpolation=cv2.INTER_LINEAR)
            alpha = (alpha * self.blend)[..., None]
            out = stylised + alpha * (warped.astype(np.float32) - stylised)
            out = np.clip(out + 0.5, 0, 255).astype(np.uint8)
        self._prev_grey, self._prev_out = grey, out
        return out


@dataclass
class TemporalMeter:
    """Mean warping error and flicker of two streams (per-frame and output), on content flow."""

    max_side: int = 480
    before: dict[str, list[float]] = field(default_factory=lambda: {"warping_error": [],
                                                                    "flicker": []})
    after: dict[str, list[float]] = field(default_factory=lambda: {"warping_error": [],
                                                                   "flicker": []})
    _prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def update(self, content: np.ndarray, raw: np.ndarray, out: np.ndarray, cut: bool) -> None:
        prev, self._prev = self._prev, (content, raw, out)
        if prev is None or cut or prev[0].shape != content.shape:
            return
        flows = pair_flow(prev[0], content, preset="medium", max_side=self.max_side)
        for scores, a, b in ((self.before, prev[1], raw), (self.after, prev[2], out)):
            scores["warping_error"].append(warping_error(a, b, flows.backward, flows.mask))
            scores["flicker"].append(flicker_index(a, b, flows.backward, flows.mask))

    @staticmethod
    def _means(scores: dict[str, list[float]]) -> dict[str, float]:
        return {k: round(float(np.mean(v)), 6) if v else 0.0 for k, v in scores.items()}

    def summary(self) -> tuple[dict[str, float], dict[str, float]]:
        return self._means(self.before), self._means(self.after)

