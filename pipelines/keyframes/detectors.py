"""Shot detectors: push-style, one frame at a time, decoding kept outside.

Every detector implements :class:`ShotDetector`: ``process_frame`` takes the next frame's
:class:`~pipelines.keyframes.analysis.FrameAnalysis` and returns the cuts it can confirm so far,
``post_process`` returns the rest once the video has ended. Detectors look a few frames ahead,
so a cut may be returned some frames after it happened; ``settled`` says up to where their
answer is final. Memory is bounded: only a few recent analyses are kept, never pixels.

- :class:`ContentDetector`: frame-to-frame change of luma structure, edges and hue, against an
  adaptive threshold from a rolling window; a brightness spike, or any change, that reverts
  within ``flash_frames`` frames (a flash, a glitch, something passing the lens) is not a cut;
  plain frames are skipped.
- :class:`FadeDetector`: runs of plain black or white frames between different content (fades
  and dips through black or white) give one boundary, at the middle of the run.
- :class:`CombinedDetector`: several detectors at once; cuts of one transition merge into one.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from array import array
from collections import deque
from dataclasses import dataclass
from itertools import takewhile

import numpy as np

from pipelines.keyframes.analysis import FrameAnalysis, distance
from pipelines.keyframes.settings import DetectorParams


@dataclass(frozen=True)
class Cut:
    """A shot boundary: ``frame`` is the first frame of the new shot.

    ``start``/``end`` bound the transition (equal to ``frame`` for a hard cut); ``kind`` is
    ``cut``, ``fade-black``, ``fade-white`` or (from TransNetV2) ``dissolve``; ``score`` is the
    content distance across it (TransNetV2: its single-frame probability).
    """

    frame: int
    kind: str
    score: float
    start: int
    end: int


class ShotDetector(ABC):
    """A push-style shot detector fed one analysed frame at a time, in order.

    A detector that looks at the pixels themselves (a network) sets ``reads_pixels``; the pass
    then hands it each analysis-size RGB frame through :meth:`take_pixels` just before
    :meth:`process_frame`.
    """

    reads_pixels = False

    def __init__(self, params: DetectorParams):
        self.params = params.validate()
        self.flashes: list[tuple[int, int]] = []  # suppressed disturbances: [start, end)

    @abstractmethod
    def process_frame(self, frame: FrameAnalysis) -> list[Cut]:
        """Take the next frame; return the cuts confirmed by now (possibly earlier frames)."""

    @abstractmethod
    def post_process(self) -> list[Cut]:
        """The video has ended: return every cut not returned yet."""

    @property
    @abstractmethod
    def settled(self) -> int:
        """No cut still to come will have a frame or transition start below this index."""

    def trace(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-frame change score and threshold (NaN where not scored), if the detector has them."""
        return None

    def take_pixels(self, rgb: np.ndarray) -> None:
        """The next frame's analysis-size RGB pixels (only called when ``reads_pixels``)."""
        raise NotImplementedError(f"{type(self).__name__} does not read pixels")


class _Steps:
    """Distance of each frame to the one before it (None when either is plain)."""

    def __init__(self, params: DetectorParams):
        self.params = params
        self._last: FrameAnalysis | None = None

    def __call__(self, frame: FrameAnalysis) -> float | None:
        last, self._last = self._last, frame
        plain = self.params.flat_std
        if last is None or last.is_plain(plain) or frame.is_plain(plain):
            return None
        return distance(last, frame, self.params.weights)


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


class ContentDetector(ShotDetector):
    """Cuts where content changes more than the adaptive threshold, flashes suppressed.

    The score of a frame is its distance to the last accepted frame (the previous frame, or the
    last one before a run of plain frames or a suppressed flash). The threshold is ``margin``
    above the baseline, the larger of the mean score over the last ``window`` accepted frames and
    the mean step over the next ``lookahead`` frames (so a camera that starts moving fast is not a
    cut), and never below ``min_score``. A frame whose brightness jumps by ``flash_rise`` and
    falls back, or a candidate whose content comes back, within ``flash_frames`` frames starts a
    flash, not a cut.
    """

    def __init__(self, params: DetectorParams):
        super().__init__(params)
        self._steps = _Steps(self.params)
        self._pending: deque[tuple[FrameAnalysis, float | None]] = deque()
        self._recent: deque[float] = deque(maxlen=self.params.window)
        self._anchor: FrameAnalysis | None = None
        self._plain_start: int | None = None
        self._plain_brightness = 0.0
        self._skip_until = -1
        self._last_cut = -(10**9)
        self._next = 0
        self._scores = array("f")
        self._thresholds = array("f")

    @property
    def _delay(self) -> int:
        return max(self.params.lookahead, self.params.flash_frames)

    def process_frame(self, frame: FrameAnalysis) -> list[Cut]:
        self._pending.append((frame, self._steps(frame)))
        self._next = frame.index + 1
        cuts: list[Cut] = []
        while len(self._pending) > self._delay:
            cuts += self._decide()
        return cuts

    def post_process(self) -> list[Cut]:
        cuts: list[Cut] = []
        while self._pending:
            cuts += self._decide()
        return cuts

    @property
    def settled(self) -> int:
        head = self._pending[0][0].index if self._pending else self._next
        return min(head, self._plain_start) if self._plain_start is not None else head

    def trace(self) -> tuple[np.ndarray, np.ndarray]:
        return np.frombuffer(self._scores, np.float32), np.frombuffer(self._thresholds, np.float32)

    def _record(self, index: int, score: float, threshold: float) -> None:
        while len(self._scores) < index:  # frames never scored (should not happen) stay NaN
            self._scores.append(math.nan)
            self._thresholds.append(math.nan)
        self._scores.append(score)
        self._thresholds.append(threshold)

    def _decide(self) -> list[Cut]:
        frame, step = self._pending.popleft()
        p = self.params
        if frame.is_plain(p.flat_std):
            if self._plain_start is None:
                self._plain_start, self._plain_brightness = frame.index, frame.mean
            self._record(frame.index, math.nan, math.nan)
            return []
        anchor = self._anchor
        if anchor is None:
            self._anchor, self._plain_start = frame, None
            self._record(frame.index, 0.0, p.min_score)
            return []
        consecutive = anchor.index == frame.index - 1 and step is not None
        score = step if consecutive else distance(anchor, frame, p.weights)
        ahead = [s for _, s in list(self._pending)[: p.lookahead] if s is not None]
        baseline = max(_mean(self._recent), _mean(ahead))
        threshold = max(p.min_score, baseline + p.margin)
        self._record(frame.index, score, threshold)
        if frame.index <= self._skip_until:  # inside a suppressed flash: keep the anchor
            return []
        after_plain, self._plain_start = self._plain_start, None
        flash_end = None
        if after_plain is None:
            flash_end = self._spike_end(anchor, frame)
            if flash_end is None and score >= threshold:
                flash_end = self._flash_end(anchor, threshold)
        if flash_end is not None:  # keep the anchor; the frames up to flash_end are the flash
            self.flashes.append((frame.index, flash_end))
            self._skip_until = flash_end - 1
            return []
        if score < threshold:
            if after_plain is None:
                self._recent.append(score)
            elif (frame.index - after_plain <= p.flash_frames
                  and self._plain_brightness - anchor.mean >= p.flash_rise):
                self.flashes.append((after_plain, frame.index))  # a flash of plain frames
            self._anchor = frame
            return []
        self._anchor = frame
        self._recent.clear()  # a new shot: its own baseline
        if frame.index - self._last_cut < p.min_shot_frames:
            return []
        self._last_cut = frame.index
        start = frame.index if after_plain is None else after_plain
        return [Cut(frame.index, "cut", round(score, 4), start, frame.index)]

    def _spike_end(self, anchor: FrameAnalysis, frame: FrameAnalysis) -> int | None:
        """If ``frame`` starts a brightness spike that ends within ``flash_frames`` frames, the
        first frame after it."""
        rise = self.params.flash_rise
        if frame.mean - anchor.mean < rise:
            return None
        for later, _ in list(self._pending)[: self.params.flash_frames]:
            if abs(later.mean - anchor.mean) < rise / 2:
                return later.index
        return None

    def _flash_end(self, anchor: FrameAnalysis, threshold: float) -> int | None:
        """First frame after the candidate that looks like ``anchor`` again, if one is near."""
        for later, _ in list(self._pending)[: self.params.flash_frames]:
            if later.is_plain(self.params.flat_std):
                continue
            if distance(anchor, later, self.params.weights) < threshold:
                return later.index
        return None


class FadeDetector(ShotDetector):
    """One boundary per run of plain black or white frames that separates different content.

    The boundary is the middle of the run; the transition spans the fade ramps on either side
    (frames whose brightness moves steadily towards the run's level). A run between frames that
    look alike is a dip or a flash, not a boundary.
    """

    def __init__(self, params: DetectorParams):
        super().__init__(params)
        self._steps = _Steps(self.params)
        self._recent: deque[float] = deque(maxlen=self.params.window)
        self._history: deque[tuple[int, float]] = deque(maxlen=max(1, self.params.fade_frames))
        self._before: FrameAnalysis | None = None
        self._run: tuple[int, str, int] | None = None  # (start, level, ramp start)
        self._open: Cut | None = None  # a fade whose ramp-in is still rising
        self._open_mean = 0.0
        self._next = 0

    def _level(self, frame: FrameAnalysis) -> str | None:
        p = self.params
        if not frame.is_plain(p.flat_std):
            return None
        if frame.mean <= p.black_level:
            return "black"
        return "white" if frame.mean >= p.white_level else None

    def process_frame(self, frame: FrameAnalysis) -> list[Cut]:
        step = self._steps(frame)
        self._next = frame.index + 1
        cuts = self._follow_ramp(frame)
        level = self._level(frame)
        if level is not None:
            if self._run is None:
                self._run = (frame.index, level, self._ramp_start(frame.index, level))
        elif self._run is not None:
            cuts += self._end_run(frame)
        elif not frame.is_plain(self.params.flat_std):
            if step is not None:
                self._recent.append(step)
            self._before = frame
        self._history.append((frame.index, frame.mean))
        return cuts

    def post_process(self) -> list[Cut]:
        cuts, self._open, self._run = ([self._open] if self._open else []), None, None
        return cuts

    @property
    def settled(self) -> int:
        if self._open is not None:
            return self._open.start
        if self._run is not None:
            return self._run[2]
        return self._next - self.params.fade_frames

    def _ramp_start(self, run_start: int, level: str) -> int:
        """Walk back over frames whose brightness fell (or rose) steadily into the run."""
        start = run_start
        later_mean = None
        for index, mean in reversed(self._history):
            if later_mean is not None:
                towards = mean - later_mean if level == "black" else later_mean - mean
                if towards <= 0.25:
                    break
            start, later_mean = index, mean
        return start

    def _end_run(self, frame: FrameAnalysis) -> list[Cut]:
        start, level, ramp = self._run
        self._run = None
        before = self._before
        if frame.is_plain(self.params.flat_std):  # a plain grey frame: the run goes on
            self._run = (start, level, ramp)
            return []
        self._before = frame
        if before is None:  # the video opens on black or white: no boundary
            return []
        score = distance(before, frame, self.params.weights)
        p = self.params
        short = frame.index - start <= p.flash_frames
        # Across a short run the camera moved for a few frames: allow a few steps of change.
        steps = frame.index - before.index if short else 1
        if score < max(p.min_score, _mean(self._recent) * steps + p.margin):
            if short and level == "white":
                self.flashes.append((start, frame.index))
            return []
        self._open = Cut(start + (frame.index - start) // 2, f"fade-{level}", round(score, 4),
                         ramp, frame.index)  # fmt: skip
        self._open_mean = frame.mean
        return []

    def _follow_ramp(self, frame: FrameAnalysis) -> list[Cut]:
        """Extend an open fade while brightness keeps moving away from its level."""
        cut = self._open
        if cut is None or frame.index == cut.end:
            return []
        away = frame.mean - self._open_mean if cut.kind == "fade-black" else (
            self._open_mean - frame.mean)
        if away > 0.25 and frame.index - cut.end <= self.params.fade_frames:
            self._open = Cut(cut.frame, cut.kind, cut.score, cut.start, frame.index)
            self._open_mean = frame.mean
            return []
        self._open = None
        return [cut]


class CombinedDetector(ShotDetector):
    """Several detectors on the same frames; cuts whose transitions overlap become one.

    A cut overlapping the transition of a cut from a detector listed earlier is dropped (a
    fade's middle is a better boundary than the first frame after it); then no two cuts are
    closer than ``min_shot_frames``.
    """

    def __init__(self, params: DetectorParams, detectors: list[ShotDetector]):
        super().__init__(params)
        self.detectors = detectors
        self._held: list[tuple[int, Cut]] = []  # (priority, cut)
        self._last = -(10**9)

    def process_frame(self, frame: FrameAnalysis) -> list[Cut]:
        for priority, detector in enumerate(self.detectors):
            self._held += [(priority, cut) for cut in detector.process_frame(frame)]
        return self._release(min(d.settled for d in self.detectors))

    def post_process(self) -> list[Cut]:
        for priority, detector in enumerate(self.detectors):
            self._held += [(priority, cut) for cut in detector.post_process()]
        cuts = self._release(10**12)
        self.flashes = self._merged_flashes()
        return cuts

    @property
    def settled(self) -> int:
        # Cuts held back for merging are still to come, though their detectors are past them.
        pending = min((cut.start for _, cut in self._held), default=10**12)
        return min(pending, *(d.settled for d in self.detectors))

    def trace(self) -> tuple[np.ndarray, np.ndarray] | None:
        return next((t for d in self.detectors if (t := d.trace()) is not None), None)

    def _release(self, limit: int) -> list[Cut]:
        """Merge and return the held cuts that nothing still to come can overlap."""
        gap = 2  # transitions this close count as one
        groups: list[list[tuple[int, Cut]]] = []
        for item in sorted(self._held, key=lambda c: (c[1].start, c[0])):
            if groups and item[1].start <= max(c.end for _, c in groups[-1]) + gap:
                groups[-1].append(item)
            else:
                groups.append([item])
        # Groups are disjoint and ordered, so the finished ones form a prefix.
        ready = list(takewhile(lambda g: max(c.end for _, c in g) + gap < limit, groups))
        self._held = [item for g in groups[len(ready):] for item in g]
        # A cut inside the transition of a cut from a detector listed earlier is the same
        # boundary seen again; cuts of one detector are separate boundaries.
        kept = [cut for group in ready for priority, cut in group
                if not any(p < priority and c.start - gap <= cut.end and cut.start <= c.end + gap
                           for p, c in group)]  # fmt: skip
        released = []
        for cut in sorted(kept, key=lambda c: c.frame):
            if cut.frame - self._last >= self.params.min_shot_frames:
                released.append(cut)
                self._last = cut.frame
        return released

    def _merged_flashes(self) -> list[tuple[int, int]]:
        spans = sorted({span for d in self.detectors for span in d.flashes})
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged


def make_detector(params: DetectorParams) -> ShotDetector:
    """The detector ``params.detector`` names, configured by ``params``."""
    params = params.validate()
    if params.detector == "content":
        return ContentDetector(params)
    if params.detector == "fade":
        return FadeDetector(params)
    return CombinedDetector(params, [FadeDetector(params), ContentDetector(params)])
