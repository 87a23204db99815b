"""Sequential PyAV decoding for the keyframe pass, until ``pipelines.media`` offers the same.

One decode per video: :func:`pass_frames` yields, for every frame, the small analysis frame and a
:class:`HeldFrame` handle on the decoder's full-resolution picture (a reference, not a copy), so
the runner can keep the few frames that may become keyframes and convert only those; it also
records each frame's timestamp and whether it is a key frame, so :func:`fetch_frames` can reach a
frame that was not kept by seeking to the key frame before it (a short decode) instead of decoding
the video again.

Stopgap: media.iter_frames converts every frame to full-resolution RGB and then resizes it with
OpenCV; at 720p that conversion and resize cost more than the decoding. Here a reused
``VideoReformatter`` scales straight from YUV to the small analysis size (swscale's area filter)
in one step, and full-resolution frames are converted only for the indices asked for. The
exact change proposed for media.py is in docs/keyframes.md; once it lands, both functions become
calls to ``iter_frames(..., backend="pyav")``.

Checks and conventions follow media.py: the video is probed (and held to the limits) first,
frames are RGB uint8 in display orientation, indices count decoded frames from 0, and decoding
errors become :class:`~pipelines.errors.InputError`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipelines.errors import InputError, LimitExceeded
from pipelines.media import PathLike, get_limits, probe_video

_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(width, height)`` shrunk so the longer side is at most ``max_side`` (aspect kept)."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decoded(path: PathLike, fast: bool = False,
             threads: int = 0) -> Iterator[tuple[int, object, int]]:  # fmt: skip
    """``(index, av.VideoFrame, rotation)`` for every frame, decoded in order.

    ``threads``: decoder threads (0: FFmpeg's choice, about one per core; 1 when many videos
    are decoded side by side, one per worker, so workers do not fight over the cores).

    ``fast`` skips the decoder's deblocking filter (H.264/HEVC): about 20 % faster decoding,
    with block edges a picture should not show but 8x8-block analysis does not notice.
    """
    import av

    limits = get_limits()
    info = probe_video(path, limits)
    name = Path(path).name
    index = -1
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = next(s for s in container.streams.video
                          if not s.disposition & av.stream.Disposition.attached_pic)  # fmt: skip
            stream.thread_type = "AUTO"
            if threads:
                stream.codec_context.thread_count = threads
            if fast:
                stream.codec_context.options = {"skip_loop_filter": "all"}
            for index, frame in enumerate(container.decode(stream)):
                if index >= limits.max_frames:
                    raise LimitExceeded("max_frames", index + 1, limits.max_frames,
                                        f"The video '{name}' has more frames than its header "
                                        f"says.")  # fmt: skip
                yield index, frame, info.rotation
    except InputError:
        raise
    except (av.FFmpegError, ValueError) as err:
        raise InputError(f"The video '{name}' is damaged or truncated: decoding failed after "
                         f"frame {index} ({err}). Re-export the video, then upload the complete "
                         f"file.") from err  # fmt: skip


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    return np.ascontiguousarray(cv2.rotate(rgb, _ROTATE[rotation]) if rotation in _ROTATE else rgb)


def scaled_frames(path: PathLike, max_side: int, *,
                  fast: bool = False) -> Iterator[tuple[int, np.ndarray]]:  # fmt: skip
    """Every frame as ``(index, rgb)``, its longer side at most ``max_side``.

    Scaling uses swscale's area filter, or with ``fast`` its fast bilinear sampling (no
    averaging: aliased, but about 15 % cheaper) after a decode without deblocking: for analysis
    that averages 8x8 blocks, not for frames anyone looks at.
    """
    from av.video.reformatter import VideoReformatter

    reformatter = VideoReformatter()
    interpolation = "FAST_BILINEAR" if fast else "AREA"
    size = None
    for index, frame, rotation in _decoded(path, fast):
        if size is None:
            size = scaled_size(frame.width, frame.height, max_side)
        small = reformatter.reformat(frame, size[0], size[1], "rgb24",
                                     interpolation=interpolation)  # fmt: skip
        yield index, upright(small.to_ndarray(), rotation)


def frames_at(path: PathLike, indices: Collection[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Full-resolution frames at ``indices``, in order; decoding stops after the last one."""
    wanted = set(indices)
    if not wanted:
        return
    last = max(wanted)
    with closing(_decoded(path)) as decoded:  # stop decoding (and close the file) after `last`
        for index, frame, rotation in decoded:
            if index in wanted:
                yield index, upright(frame.to_ndarray(format="rgb24"), rotation)
            if index >= last:
                return


class HeldFrame:
    """A decoded full-resolution frame kept by reference (YUV as decoded; RGB on demand)."""

    __slots__ = ("frame", "nbytes", "rotation")

    def __init__(self, frame, rotation: int):
        self.frame, self.rotation = frame, rotation
        self.nbytes = sum(plane.buffer_size for plane in frame.planes)

    def rgb(self) -> np.ndarray:
        return upright(self.frame.to_ndarray(format="rgb24"), self.rotation)


@dataclass
class PassIndex:
    """Per-frame timestamps and key-frame positions recorded during the pass."""

    pts: list[int | None] = field(default_factory=list)  # presentation timestamp per frame
    key_frames: list[int] = field(default_factory=list)  # indices of key (intra) frames
    time_base: float = 0.0

    def seekable(self) -> bool:
        stamps = [p for p in self.pts if p is not None]
        return bool(self.key_frames) and len(stamps) == len(self.pts) and \
            len(set(stamps)) == len(stamps)


def pass_frames(path: PathLike, max_side: int, index: PassIndex | None = None,
                threads: int = 0, background: bool = False,
                ) -> Iterator[tuple[int, np.ndarray, HeldFrame]]:  # fmt: skip
    """Every frame as ``(index, small_rgb, full)``: one decode with the deblocking filter on (the
    full frames are the real pictures), scaled for analysis with swscale's fast bilinear filter.

    ``index``, when given, is filled with each frame's timestamp and the key-frame positions;
    ``threads`` as for the decoder (0: FFmpeg's choice). With ``background`` the decoder runs on
    its own thread, a few frames ahead, and only decodes: scaling happens on the calling thread,
    which measured faster on 2 cores than scaling beside the decoder (the decoder's threads keep
    both cores busy; a third busy thread only slows them).
    """
    from av.video.reformatter import VideoReformatter

    decoded = _indexed(_decoded(path, threads=threads), index)
    reformatter = VideoReformatter()
    size = None
    for number, frame, rotation in prefetch(decoded) if background else decoded:
        if size is None:
            size = scaled_size(frame.width, frame.height, max_side)
        small = reformatter.reformat(frame, size[0], size[1], "rgb24",
                                     interpolation="FAST_BILINEAR")  # fmt: skip
        yield number, upright(small.to_ndarray(), rotation), HeldFrame(frame, rotation)


def _indexed(decoded: Iterator[tuple[int, Any, int]], index: PassIndex | None
             ) -> Iterator[tuple[int, Any, int]]:  # fmt: skip
    """``decoded`` unchanged, recording each frame's timestamp and key-frame flag in ``index``."""
    for number, frame, rotation in decoded:
        if index is not None:
            if number == 0 and frame.time_base is not None:
                index.time_base = float(frame.time_base)
            index.pts.append(frame.pts)
            if frame.key_frame:
                index.key_frames.append(number)
        yield number, frame, rotation


def prefetch(items: Iterator[Any], depth: int = 32) -> Iterator[Any]:
    """Iterate ``items`` on a background thread, ``depth`` items ahead of the consumer.

    Errors raised by ``items`` are re-raised here; stopping early stops the thread.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as err:  # handed to the consumer, which re-raises it
            put(("error", err))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name="keyframes-decode", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        worker.join()


def fetch_frames(path: PathLike, indices: Collection[int],
                 index: PassIndex | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Full-resolution frames at ``indices``, in order, reached by seeking when ``index`` (from the
    pass) allows it: each target costs a decode from the key frame before it, and targets that
    share a key frame share that decode. Without a usable index, one sequential decode that
    stops after the last target (:func:`frames_at`)."""
    wanted = sorted(set(indices))
    if not wanted:
        return
    if index is None or not index.seekable() or wanted[-1] >= len(index.pts):
        yield from frames_at(path, wanted)
        return
    import av

    by_pts = {p: i for i, p in enumerate(index.pts)}
    name = Path(path).name
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = next(s for s in container.streams.video
                          if not s.disposition & av.stream.Disposition.attached_pic)  # fmt: skip
            stream.thread_type = "AUTO"
            rotation = probe_video(path).rotation
            position = None  # index of the last decoded frame
            decoder = None
            for target in wanted:
                key = _key_before(index.key_frames, target)
                if position is None or not key <= position < target:
                    container.seek(index.pts[key], stream=stream, backward=True, any_frame=False)
                    decoder = container.decode(stream)
                for frame in decoder:
                    position = by_pts.get(frame.pts)
                    if position is None:
                        raise ValueError(f"unexpected timestamp {frame.pts} after seeking")
                    if position >= target:
                        break
                if position != target:
                    raise ValueError(f"seeking to frame {target} landed on {position}")
                yield target, upright(frame.to_ndarray(format="rgb24"), rotation)
    except (av.FFmpegError, ValueError) as err:
        raise InputError(f"The video '{name}' could not be read back at its keyframes ({err}). "
                         f"Re-export the video, then try again.") from err  # fmt: skip


def _key_before(key_frames: Sequence[int], target: int) -> int:
    import bisect

    position = bisect.bisect_right(key_frames, target) - 1
    return key_frames[max(0, position)]
