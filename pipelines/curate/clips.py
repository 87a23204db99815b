"""One MP4 per kept shot: packets copied when both cuts fall on key frames, else re-encoded.

A shot ``[start, end)`` whose first frame is a key frame and whose end is a key frame (or the end
of the video) is a closed run of packets: they are copied into a new MP4 unchanged (no decoding,
no quality loss), timestamps shifted to start at zero. Otherwise the frames are decoded from the
key frame before ``start`` (one seek) and re-encoded as H.264 (the studio's writer). Frame
indices map to timestamps through the container's packet timestamps (demuxing only). Clips hold
the video stream only.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

import av

from pipelines.errors import InputError
from pipelines.media import VideoWriter


@dataclass(frozen=True)
class ClipJob:
    path: str
    key: str
    out: str
    shots: tuple[tuple[int, int, int], ...]  # (shot, start_frame, end_frame) to export
    key_frames: tuple[int, ...]
    frames: int
    fps: float


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    return next(s for s in container.streams.video
                if not s.disposition & av.stream.Disposition.attached_pic)  # fmt: skip


def _stamps(path: str) -> list[int]:
    """Sorted presentation timestamps of the video packets: frame i is shown at stamps[i]."""
    with av.open(path, metadata_errors="ignore") as container:
        stream = _video_stream(container)
        return sorted(p.pts for p in container.demux(stream) if p.pts is not None and p.size)


def _copy(path: str, target: Path, first_pts: int, end_pts: int | None) -> None:
    tmp = target.with_suffix(".tmp.mp4")
    with av.open(path, metadata_errors="ignore") as source, \
            av.open(str(tmp), "w", format="mp4") as sink:  # fmt: skip
        stream = _video_stream(source)
        out = sink.add_stream_from_template(stream)
        source.seek(first_pts, stream=stream, backward=True, any_frame=False)
        for packet in source.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            if packet.pts < first_pts:
                continue
            if end_pts is not None and packet.pts >= end_pts:
                if packet.is_keyframe:
                    break
                continue
            packet.pts -= first_pts
            if packet.dts is not None:
                packet.dts -= first_pts
            packet.stream = out
            sink.mux(packet)
    tmp.replace(target)


def _encode(path: str, target: Path, start: int, end: int, stamps: list[int], fps: float,
            key_frames: tuple[int, ...]) -> None:  # fmt: skip
    by_pts = {p: i for i, p in enumerate(stamps)}
    key = key_frames[max(0, bisect.bisect_right(key_frames, start) - 1)] if key_frames else 0
    with av.open(path, metadata_errors="ignore") as source, VideoWriter(target, fps) as writer:
        stream = _video_stream(source)
        stream.thread_type = "AUTO"
        if key > 0:
            source.seek(stamps[key], stream=stream, backward=True, any_frame=False)
        for frame in source.decode(stream):
            index = by_pts.get(frame.pts)
            if index is None or index < start:
                continue
            if index >= end:
                break
            writer.write(frame.to_ndarray(format="rgb24"))
    if writer.frames_written == 0:
        raise InputError(f"No frames of {Path(path).name} were found between frames {start} "
                         f"and {end}; the clip was not written.")  # fmt: skip


def export_clips(job: ClipJob) -> dict[int, dict]:
    """Write the job's clips (skipping those already on disk); per shot its path and method."""
    folder = Path(job.out) / "clips" / job.key
    folder.mkdir(parents=True, exist_ok=True)
    stamps = _stamps(job.path)
    keys = set(job.key_frames)
    exact = len(stamps) == job.frames and len(set(stamps)) == len(stamps)
    written = {}
    for shot, start, end in job.shots:
        target = folder / f"shot{shot:04d}.mp4"
        copy = exact and start in keys and (end >= job.frames or end in keys)
        if not target.exists():
            if copy:
                _copy(job.path, target, stamps[start], stamps[end] if end < job.frames else None)
            else:
                _encode(job.path, target, start, end, stamps, job.fps, job.key_frames)
        written[shot] = {"clip": f"clips/{job.key}/{target.name}",
                         "clip_method": "copy" if copy else "encode"}  # fmt: skip
    return written
