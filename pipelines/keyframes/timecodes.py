"""Frame times from the container's timestamps, so variable-frame-rate videos get true times.

Frame ``i`` of the decoders (decord and PyAV both count frames in presentation order) is shown
at the ``i``-th smallest packet timestamp of the video stream. Reading those needs demuxing only,
no decoding. When the timestamps are missing or do not cover every frame, the rest are spaced
at the average frame rate.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def frame_times(path: str | Path, count: int, fps: float) -> np.ndarray:
    """Seconds from the first frame to each of ``count`` frames (float64, non-decreasing)."""
    import av

    stamps: list[int] = []
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = next(s for s in container.streams.video
                          if not s.disposition & av.stream.Disposition.attached_pic)  # fmt: skip
            base = float(stream.time_base or 0)
            for packet in container.demux(stream):
                if packet.pts is not None and packet.size:
                    stamps.append(packet.pts)
                if len(stamps) > 2 * count + 16:  # headers undercounted badly: stop reading
                    break
    except (av.FFmpegError, OSError, ValueError, StopIteration) as err:
        log.info("no timestamps in %s (%s); using the average frame rate", Path(path).name, err)
        stamps, base = [], 0.0
    step = 1.0 / fps if fps > 0 else 0.0
    if not stamps or base <= 0:
        return np.arange(count, dtype=np.float64) * step
    times = (np.sort(np.asarray(stamps, np.float64)) - min(stamps)) * base
    times = times[:count]
    if times.size < count:
        extra = np.arange(1, count - times.size + 1) * step
        times = np.concatenate([times, times[-1] + extra])
    return times


def timecode(seconds: float) -> str:
    """``HH:MM:SS.mmm``."""
    millis = round(max(0.0, seconds) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"
