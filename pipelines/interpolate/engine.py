"""Stream a video through a pair interpolator: decode, find cuts, drop duplicates, make the
frames each pair needs, hand them out lazily.

Frames flow one at a time: the decoder yields a source frame; the cut gate (the keyframe task's
push-style shot detector) holds it until the detector has settled past it, so it is known
whether it starts a new shot; duplicates of the last kept frame are dropped (``dedupe``); each
new kept frame closes a pair with the previous one and the pair's output frames (from
:class:`~pipelines.interpolate.timing.TimingPlan`) are made in one ``between`` call (so a flow
or network pass is shared by all times of the pair). Across a cut nothing is blended: frames
before the pair's midpoint repeat the last frame of the old shot, later ones the first frame of
the new shot. At most ``CutGate.max_delay`` source frames are held at once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError
from pipelines.interpolate.timing import DuplicateFilter, TimingPlan, plan_timing
from pipelines.interpolate.types import (
    InterpolateRequest,
    InterpolateResult,
    PairInterpolator,
)
from pipelines.keyframes.analysis import FrameAnalysis
from pipelines.keyframes.detectors import make_detector
from pipelines.keyframes.settings import DetectorParams
from pipelines.media import get_limits, iter_frames, probe_video, resize_max_side
from pipelines.progress import Progress

DETECTOR_SIDE = 256
CUT_PARAMS = DetectorParams(fade_frames=8)  # fades are reported a few frames after they end


class CutGate:
    """Feed ``(index, frame)`` in order; get back ``(index, frame, starts_shot)`` in order, each
    once the shot detector is sure whether that frame starts a new shot (or it has been held
    ``max_delay`` frames)."""

    def __init__(self, params: DetectorParams = CUT_PARAMS, max_delay: int = 12):
        self.detector = make_detector(params)
        self.max_delay = max_delay
        self.cuts: set[int] = set()
        self._held: deque[tuple[int, np.ndarray]] = deque()

    def push(self, index: int, frame: np.ndarray) -> list[tuple[int, np.ndarray, bool]]:
        small = resize_max_side(frame, DETECTOR_SIDE)
        self.cuts.update(c.frame for c in self.detector.process_frame(FrameAnalysis(index, small)))
        self._held.append((index, frame))
        settled = self.detector.settled
        out = []
        while self._held and (self._held[0][0] < settled or len(self._held) > self.max_delay):
            out.append(self._release())
        return out

    def flush(self) -> list[tuple[int, np.ndarray, bool]]:
        self.cuts.update(c.frame for c in self.detector.post_process())
        return [self._release() for _ in range(len(self._held))]

    def _release(self) -> tuple[int, np.ndarray, bool]:
        index, frame = self._held.popleft()
        return index, frame, index in self.cuts


class _NoGate:
    """Stands in for :class:`CutGate` when scene-cut detection is off."""

    def push(self, index: int, frame: np.ndarray) -> list[tuple[int, np.ndarray, bool]]:
        return [(index, frame, False)]

    def flush(self) -> list[tuple[int, np.ndarray, bool]]:
        return []


def count_source_frames(path: Path, fallback: int) -> tuple[int, bool]:
    """The exact number of video packets (demuxed, not decoded; ``fallback`` if unreadable), and
    whether the frame durations vary (variable frame rate)."""
    import av

    limit = get_limits().max_frames
    count = 0
    stamps: list[int] = []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for packet in container.demux(stream):
                if packet.size:
                    count += 1
                    if packet.pts is not None:
                        stamps.append(packet.pts)
                if count > limit:
                    break
    except (av.FFmpegError, ValueError, IndexError, OSError):
        return fallback, False
    steps = np.diff(np.sort(np.array(stamps, dtype=np.int64)))
    steps = steps[steps > 0]
    variable = steps.size >= 2 and float(steps.max()) > 1.5 * float(np.median(steps))
    return count or fallback, variable


def check_request(request: InterpolateRequest) -> None:
    """InputError for settings out of range (the video itself is checked by probing it)."""
    if request.max_side is not None and request.max_side < 16:
        raise InputError(f"max_side must be at least 16 pixels; got {request.max_side}.")
    if not isinstance(request.video, (str, Path)):
        raise InputError("Give the video as a file path.")


def _report(progress: Progress | None, fraction: float, desc: str) -> None:
    if progress is not None:
        progress(min(1.0, max(0.0, fraction)), desc)


def run_interpolation(request: InterpolateRequest, interpolator: PairInterpolator,
                      progress: Progress | None = None, *, backend: str = "") -> InterpolateResult:
    """Plan the output of ``request`` and return it as a lazy stream made by ``interpolator``.

    Input problems (not a video, a target rate below the source's, too many output frames) raise
    InputError here, before any frame is made.
    """
    check_request(request)
    path = Path(request.video)
    info = probe_video(path)
    source_frames, variable_rate = count_source_frames(path, info.frame_count)
    plan = plan_timing(info.fps, source_frames, factor=request.factor, fps=request.fps,
                       slowmo=request.slowmo)
    notes: list[str] = []
    if source_frames == 1:
        notes.append("The video has a single frame: there is nothing to interpolate, so the "
                     "output holds that frame.")
    if variable_rate:
        notes.append(f"The video has a variable frame rate; it was timed as a constant "
                     f"{info.fps:.3f} fps (its average), so sound may drift from the picture. "
                     "Re-encode it at a constant rate for exact timing.")
    if request.fps is not None and request.factor not in (None,):
        notes.append(f"The target frame rate {request.fps:g} fps replaces the factor.")
    width, height = info.width, info.height
    if request.max_side is not None and max(width, height) > request.max_side:
        scale = request.max_side / max(width, height)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    cuts: list[int] = []
    result_info: dict[str, Any] = {
        "backend": backend,
        "source_fps": info.fps,
        "source_frames": source_frames,
        "mode": plan.mode,
        "out_fps": float(plan.out_fps),
        "out_fps_fraction": f"{plan.out_fps.numerator}/{plan.out_fps.denominator}",
        "dropped_duplicates": 0,
        "interpolated": 0,
        "rotation": info.rotation,
        "has_audio": info.has_audio,
        "slowmo": request.slowmo,
    }
    frames = _stream(request, interpolator, plan, cuts, notes, result_info, progress)
    return InterpolateResult(frames=frames, count=plan.count, fps=float(plan.out_fps),
                             timestamps=plan.timestamps(), size=(width, height), cuts=cuts,
                             notes=notes, info=result_info)


def _stream(request: InterpolateRequest, interpolator: PairInterpolator, plan: TimingPlan,
            cuts: list[int], notes: list[str], info: dict[str, Any],
            progress: Progress | None) -> Iterator[np.ndarray]:
    """Exactly ``plan.count`` frames, made pair by pair."""
    start = time.perf_counter()
    gate = CutGate() if request.scene_cuts else _NoGate()
    dedupe = DuplicateFilter() if request.dedupe else None
    emitted = 0
    last_out: np.ndarray | None = None
    prev: tuple[int, np.ndarray] | None = None  # last kept source frame

    def pair(a_index: int, a: np.ndarray, b_index: int | None, b: np.ndarray | None,
             cut: bool) -> Iterator[np.ndarray]:
        nonlocal emitted, last_out
        ta = plan.frame_time(a_index)
        tb = None if b_index is None else plan.frame_time(b_index)
        wanted = plan.outputs_between(ta, tb)
        wanted = [(k, t) for k, t in wanted if k >= emitted]
        if not wanted:
            return
        inner = [float(t) for _, t in wanted if 0 < t < 1]
        made: list[np.ndarray] = []
        if inner and b is not None and not cut:
            made = interpolator.between(a, b, inner)
            info["interpolated"] += len(made)
        made_iter = iter(made)
        for _, t in wanted:
            if t == 0 or b is None:
                frame = a
            elif cut:
                frame = a if t < Fraction(1, 2) else b
            else:
                frame = next(made_iter)
            emitted += 1
            last_out = frame
            yield frame
        _report(progress, emitted / plan.count, f"frame {emitted}/{plan.count}")

    def take(items: list[tuple[int, np.ndarray, bool]]) -> Iterator[np.ndarray]:
        nonlocal prev
        for index, frame, starts_shot in items:
            if starts_shot:
                cuts.append(index)
            if dedupe is not None and dedupe.is_duplicate(frame, force_keep=starts_shot):
                continue
            if prev is not None:
                yield from pair(prev[0], prev[1], index, frame, starts_shot)
            prev = (index, frame)
            if emitted >= plan.count:
                return

    _report(progress, 0.0, "decoding")
    for index, frame in iter_frames(request.video, max_side=request.max_side):
        if index >= plan.source_frames:
            break
        yield from take(gate.push(index, frame))
        if emitted >= plan.count:
            break
    if emitted < plan.count:
        yield from take(gate.flush())
    if prev is not None and emitted < plan.count:
        yield from pair(prev[0], prev[1], None, None, False)  # hold the last frame to the end
    while emitted < plan.count and last_out is not None:  # the decoder gave fewer frames
        emitted += 1
        yield last_out
    if dedupe is not None:
        info["dropped_duplicates"] = dedupe.dropped
        if dedupe.dropped:
            notes.append(f"{dedupe.dropped} duplicate frame(s) were dropped before "
                         "interpolating; their time went to the frames made.")
    if cuts:
        notes.append(f"Scene cuts at source frame(s) {', '.join(map(str, cuts))}: nothing was "
                     "blended across them.")
    info["seconds"] = round(time.perf_counter() - start, 3)
    _report(progress, 1.0, "done")
