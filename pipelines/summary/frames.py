"""Which frames a summary reads, and reading them: only the sampled frames are decoded (or, for
the scene-change mosaic, every frame streams past once), never the whole video held.

Samples are arithmetic progressions of frame indices, so one :func:`pipelines.media.iter_frames`
call reads them (decord's random access when it can read the file: only the frames asked for
are decoded). Times come from the container's timestamps, so variable-frame-rate videos get
true times (:func:`pipelines.keyframes.timecodes.frame_times`, demuxing only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.errors import InputError
from pipelines.keyframes.timecodes import frame_times, timecode
from pipelines.media import VideoInfo, iter_frames, probe_video

__all__ = ["Span", "open_span", "read", "sample", "timecode"]


@dataclass(frozen=True)
class Span:
    """The part of a video a summary uses: frames ``first`` to ``stop`` (exclusive)."""

    video: Path
    info: VideoInfo
    first: int
    stop: int
    times: np.ndarray  # seconds of every frame of the video, from its timestamps

    @property
    def count(self) -> int:
        return self.stop - self.first

    def time(self, index: int) -> float:
        return float(self.times[min(index, len(self.times) - 1)])


def open_span(video: Path, start: float, end: float) -> Span:
    """The frames from ``start`` up to ``end`` seconds (``end`` 0: the end of the video)."""
    info = probe_video(video)
    times = frame_times(video, info.frame_count, info.fps)
    if start >= info.duration:
        raise InputError(f"The start ({start:g} s) is at or past the end of the video "
                         f"({info.duration:.2f} s); set 'start' below {info.duration:.2f}.")
    if end and end <= start:
        raise InputError(f"The end ({end:g} s) must come after the start ({start:g} s); "
                         f"raise 'end', or set it to 0 for the end of the video.")
    first = int(np.searchsorted(times, start - 1e-6))
    stop = int(np.searchsorted(times, end - 1e-6)) if end else len(times)
    return Span(Path(video), info, first, max(first, stop), times)


def sample(span: Span, n: int, step: int = 0, *, ends: bool = True) -> range:
    """At most ``n`` frame indices of ``span``, evenly spaced (``ends``: from its first to its
    last frame; else centred, each the middle of its share) or every ``step`` frames from its
    start; always a progression."""
    if step:
        return range(span.first, min(span.stop, span.first + n * step), step)
    n = min(n, span.count)
    if n <= 1:
        return range(span.first + (span.count - 1) // 2, span.first + (span.count + 1) // 2)
    stride = (span.count - 1) // (n - 1) if ends else max(1, span.count // n)
    offset = (span.count - 1 - (n - 1) * stride) // 2
    begin = span.first + offset
    return range(begin, begin + (n - 1) * stride + 1, stride)


def read(span: Span, indices: range, max_side: int | None) -> list[tuple[int, np.ndarray]]:
    """``(index, RGB frame)`` for ``indices`` (fewer when the video ends sooner than its header
    says), each downscaled so its longer side is at most ``max_side``."""
    if not indices:
        return []
    return list(iter_frames(span.video, start=indices.start, end=indices.stop,
                            stride=indices.step, max_side=max_side))
