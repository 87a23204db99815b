"""Reading and writing the media the studio works on: video, audio and images.

Everything a user uploads passes through here, so every public function validates its input and
turns problems into :class:`~pipelines.errors.InputError` (corrupt, empty or wrong-kind files) or
:class:`~pipelines.errors.LimitExceeded` (too large, too long) with a message that says what to
do. Raw PyAV, decord or PIL exceptions never escape for bad input.

Conventions:

* Frames are RGB ``uint8`` arrays of shape ``HxWx3``, C-contiguous, in display orientation (the
  rotation a phone stores as metadata is applied).
* Audio is ``float32`` in ``[-1, 1]``.
* Writers are atomic: they write a hidden temporary file next to the target and move it onto the
  target only when everything succeeded, so a failed job never leaves a file that looks complete.

Backends, as found with decord 0.6 and PyAV 18 (FFmpeg 8): PyAV decodes frames as stored and
reports the display rotation on each frame; decord applies a 180 degree rotation itself but
mis-decodes 90/270 degree rotated videos (wrong shape, garbage pixels), so those are decoded with
PyAV.
"""

from __future__ import annotations

import io
import itertools
import logging
import math
import os
import re
import secrets
import struct
import sys
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pipelines.errors import InputError, LimitExceeded

if TYPE_CHECKING:
    import av.container
    import av.stream

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

VIDEO_HINT = "Upload an MP4, MOV, WebM or MKV video."
AUDIO_HINT = "Upload a WAV, MP3, M4A, OGG or FLAC file."
IMAGE_HINT = "Upload a PNG, JPEG or WebP image."
# File name endings the tasks take as still images, videos and audio when they must tell them apart.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v"})
AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".m4a", ".ogg", ".flac", ".aac"})


def media_kind(path: str | os.PathLike[str]) -> str | None:
    """"image", "video" or "audio" from a file name's ending (None for anything else)."""
    suffix = Path(path).suffix.lower()
    for kind, suffixes in (("image", IMAGE_SUFFIXES), ("video", VIDEO_SUFFIXES),
                           ("audio", AUDIO_SUFFIXES)):
        if suffix in suffixes:
            return kind
    return None

_BACKENDS = ("auto", "decord", "pyav")
# Sample rates the AAC encoder accepts; other rates are resampled to 48 kHz.
_AAC_RATES = frozenset({96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000,
                        11025, 8000, 7350})
_IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


# --------------------------------------------------------------------------------------------
# Limits


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what the studio accepts; each is overridable by ``STUDIO_<NAME>``."""

    max_upload_bytes: int = 1 << 30
    max_pixels: int = 40_000_000
    max_seconds: float = 600.0
    max_frames: int = 20_000

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, overridden by the environment variables ``STUDIO_MAX_*`` that are set."""
        values: dict[str, Any] = {}
        for name, kind in (("max_upload_bytes", int), ("max_pixels", int),
                           ("max_seconds", float), ("max_frames", int)):
            var = f"STUDIO_{name.upper()}"
            raw = os.environ.get(var, "").strip()
            if not raw:
                continue
            try:
                value = kind(raw)
            except ValueError:
                value = None
            if value is None or not math.isfinite(value) or value <= 0:
                raise InputError(
                    f"The environment variable {var}={raw!r} is not a valid limit. "
                    f"Set it to a positive {'whole ' if kind is int else ''}number or unset it."
                )
            values[name] = value
        return cls(**values)

    def check_file(self, path: PathLike) -> None:
        """Fail unless ``path`` is an existing, non-empty file within ``max_upload_bytes``."""
        path = Path(path)
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise InputError(f"The file '{path.name}' {what}. Upload the file again.")
        size = path.stat().st_size
        if size == 0:
            raise InputError(f"The file '{path.name}' is empty (0 bytes). Upload the file again.")
        if size > self.max_upload_bytes:
            raise LimitExceeded("max_upload_bytes", size, self.max_upload_bytes,
                                f"The file '{path.name}' is {size / 2**20:,.1f} MiB.")

    def check_pixels(self, width: int, height: int, what: str = "image") -> None:
        """Fail if a ``width`` x ``height`` ``what`` has more than ``max_pixels`` pixels."""
        if width * height > self.max_pixels:
            raise LimitExceeded("max_pixels", width * height, self.max_pixels,
                                f"The {what} is {width}x{height} pixels.")

    def check_duration(self, seconds: float, what: str = "video") -> None:
        """Fail if a ``what`` lasting ``seconds`` is longer than ``max_seconds``."""
        if seconds > self.max_seconds:
            raise LimitExceeded("max_seconds", round(seconds, 2), self.max_seconds,
                                f"The {what} is {seconds:,.1f} seconds long.")

    def check_frames(self, n: int, what: str = "video") -> None:
        """Fail if a ``what`` has more than ``max_frames`` frames."""
        if n > self.max_frames:
            raise LimitExceeded("max_frames", n, self.max_frames, f"The {what} has {n:,} frames.")


def get_limits() -> Limits:
    """The limits in force now (read from the environment on every call)."""
    return Limits.from_env()


# --------------------------------------------------------------------------------------------
# Small helpers


def even_size(width: int, height: int) -> tuple[int, int]:
    """``(width, height)`` rounded up to even numbers, as yuv420p video needs."""
    return width + width % 2, height + height % 2


def resize_max_side(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downscale ``frame`` (cv2.INTER_AREA) so its longer side is at most ``max_side``.

    Smaller frames and ``max_side=None`` return ``frame`` itself; the aspect ratio is kept.
    """
    import cv2

    height, width = frame.shape[:2]
    if max_side is None or max(height, width) <= max_side:
        return frame
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _rotate(frame: np.ndarray, rotation: int) -> np.ndarray:
    """``frame`` turned clockwise by ``rotation`` (0, 90, 180 or 270) degrees."""
    import cv2

    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
             270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return cv2.rotate(frame, codes[rotation]) if rotation in codes else frame


def _check_rgb(frame: Any, what: str = "Video frames") -> np.ndarray:
    """``frame`` if it is an RGB uint8 ``HxWx3`` array, else an InputError."""
    if (not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3
            or frame.shape[2] != 3 or frame.shape[0] == 0 or frame.shape[1] == 0):
        got = (f"{frame.dtype} array of shape {frame.shape}" if isinstance(frame, np.ndarray)
               else type(frame).__name__)
        raise InputError(f"{what} must be RGB uint8 arrays of shape HxWx3; got a {got}.")
    return frame


def _fps_fraction(fps: float | Fraction) -> Fraction:
    """``fps`` as an exact rational; NTSC rates such as 29.97 become 30000/1001."""
    if not isinstance(fps, (int, float, Fraction)) or not math.isfinite(fps) or fps <= 0:
        raise InputError(f"The frame rate must be a positive number; got {fps!r}.")
    if isinstance(fps, Fraction):
        return fps
    if float(fps).is_integer():
        return Fraction(int(fps))
    ntsc = Fraction(round(fps * 1.001) * 1000, 1001)
    if abs(float(ntsc) - fps) < 0.005:
        return ntsc
    return Fraction(fps).limit_denominator(1001)


def _temp_sibling(path: Path, suffix: str | None = None) -> Path:
    """A fresh hidden name next to ``path`` (creating its folder), keeping the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    return path.with_name(f".{path.stem}.{secrets.token_hex(4)}.part{suffix}")


@contextmanager
def _atomic_output(path: PathLike) -> Iterator[Path]:
    """Yield a hidden temporary sibling of ``path``; on success it replaces ``path``.

    On an exception the temporary file is deleted and ``path`` is left untouched.
    """
    target = Path(path)
    tmp = _temp_sibling(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------
# Opening containers


def _unreadable(path: Path, kind: str, reason: str) -> str:
    hint = {"video": VIDEO_HINT, "audio": AUDIO_HINT}[kind]
    noun = "a readable video" if kind == "video" else "a readable audio file"
    return f"The file '{path.name}' is not {noun} ({reason}). {hint}"


@contextmanager
def _open_input(path: Path, kind: str) -> Iterator[av.container.InputContainer]:
    """Open ``path`` with PyAV for reading; open failures become InputError."""
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as err:
        raise InputError(_unreadable(path, kind, "the format was not recognised or the file "
                                                 "is damaged")) from err
    with container:
        try:
            yield container
        except av.FFmpegError as err:  # a safety net; known failure points raise clearer errors
            raise InputError(_unreadable(path, kind, f"reading failed: {err}")) from err


def _video_stream(container: av.container.InputContainer) -> av.stream.Stream | None:
    """The first real video stream (cover art pictures in audio files do not count)."""
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _audio_stream(path: Path, container: av.container.InputContainer) -> av.stream.Stream:
    if not container.streams.audio:
        raise InputError(f"The file '{path.name}' has no audio track. {AUDIO_HINT}")
    return container.streams.audio[0]


def _stream_seconds(stream: av.stream.Stream, container: av.container.InputContainer) -> float:
    """The stream's duration in seconds from the headers, or 0.0 when they do not say."""
    import av

    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def _check_complete(path: Path, container: av.container.InputContainer, kind: str) -> None:
    """Fail if the container's index points past the end of the file (a cut-off upload).

    Formats that index every packet (MP4, MOV, M4A) are checked from the headers alone.
    """
    size = path.stat().st_size
    for stream in container.streams:
        end = max((entry.pos + entry.size for entry in stream.index_entries), default=0)
        if end > size:
            raise InputError(
                f"The {kind} '{path.name}' is truncated: it is {size:,} bytes but its index "
                f"needs {end:,}. The upload or export was probably cut off. Upload the "
                f"complete file."
            )


def _damaged(path: Path, kind: str, where: str, err: Exception) -> InputError:
    return InputError(
        f"The {kind} '{path.name}' is damaged or truncated: decoding failed {where} ({err}). "
        f"Re-export the {kind}, then upload the complete file."
    )


# --------------------------------------------------------------------------------------------
# Video probing and reading


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learns from a video's headers and its first frame.

    ``width``/``height`` are the display size (rotation applied); ``rotation`` is the clockwise
    turn, in degrees, that the stored frames need for display.
    """

    path: str
    width: int
    height: int
    fps: float
    frame_count: int
    duration: float
    rotation: int
    has_audio: bool
    video_codec: str
    audio_codec: str | None
    audio_rate: int | None


def probe_video(path: PathLike, limits: Limits | None = None) -> VideoInfo:
    """Inspect a video with PyAV and check it against ``limits``.

    The frame count comes from the container when it records one, else from duration x fps, else
    from counting packets (demuxing only). The first frame is decoded to learn the rotation and
    to make sure the file holds decodable video.

    A job probes its video several times (checking the input, the runner, the decoder); the
    answer is remembered for the same file (path, size, modification time and inode) and limits,
    and each later call costs a ``stat`` instead of opening the file and decoding a frame.
    """
    limits = limits or get_limits()
    path = Path(path)
    limits.check_file(path)
    stat = path.stat()
    return _probe_file(str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino, limits)


@lru_cache(maxsize=64)
def _probe_file(name: str, size: int, mtime_ns: int, inode: int, limits: Limits) -> VideoInfo:
    """:func:`probe_video` of the file ``name`` as it is now (the other arguments key the cache;
    a failure raises and is not remembered)."""
    import av

    path = Path(name)
    with _open_input(path, "video") as container:
        stream = _video_stream(container)
        if stream is None:
            raise InputError(_unreadable(path, "video", "no video stream found"))
        if container.format.name.endswith("_pipe") or container.format.name == "image2":
            raise InputError(_unreadable(path, "video", "it is a still image"))
        _check_complete(path, container, "video")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if fps <= 0:
            raise InputError(_unreadable(path, "video", "it has no usable frame rate"))
        duration = _stream_seconds(stream, container)
        frame_count = stream.frames or round(duration * fps)
        if frame_count <= 0:
            frame_count = _count_packets(path, stream.index, limits)
            duration = frame_count / fps
        try:
            first = next(container.decode(stream), None)
        except (av.FFmpegError, ValueError) as err:
            raise _damaged(path, "video", "at the first frame", err) from err
        if first is None or frame_count <= 0:
            raise InputError(_unreadable(path, "video", "it contains no video frames"))
        rotation = -round(first.rotation / 90) * 90 % 360
        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        audio = container.streams.audio[0] if container.streams.audio else None
        info = VideoInfo(
            path=str(path), width=width, height=height, fps=fps, frame_count=frame_count,
            duration=duration or frame_count / fps, rotation=rotation, has_audio=audio is not None,
            video_codec=stream.codec_context.name,
            audio_codec=audio.codec_context.name if audio else None,
            audio_rate=audio.codec_context.sample_rate if audio else None,
        )
    limits.check_pixels(info.width, info.height, "video frame")
    limits.check_duration(info.duration, "video")
    limits.check_frames(info.frame_count, "video")
    return info


def _count_packets(path: Path, stream_index: int, limits: Limits) -> int:
    """Count a stream's packets by demuxing (no decoding), stopping past ``max_frames``.

    Uses its own container: raw streams cannot seek back to the start.
    """
    import av

    count = 0
    with _open_input(path, "video") as container:
        try:
            for packet in container.demux(container.streams[stream_index]):
                if packet.size:
                    count += 1
                if count > limits.max_frames:
                    break
        except (av.FFmpegError, ValueError) as err:
            raise _damaged(path, "video", "while counting frames", err) from err
    return count


def iter_frames(
    path: PathLike,
    *,
    stride: int = 1,
    max_side: int | None = None,
    start: int = 0,
    end: int | None = None,
    backend: str = "auto",
    limits: Limits | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Stream ``(index, frame)`` for frame indices ``start, start + stride, ...`` below ``end``.

    Indices count from 0 in the original stream. Frames are RGB uint8 ``HxWx3``, rotated for
    display and downscaled so the longer side is at most ``max_side``. Only a few frames are in
    memory at a time.

    ``backend``: ``"decord"`` (frame-accurate batched reads that seek; fails with InputError on
    files it cannot read, including 90/270 degree rotated videos), ``"pyav"`` (sequential
    decoding) or ``"auto"``: PyAV for a read from the first frame, decord (PyAV where decord
    cannot read the file) for one that starts later, where its seeking saves decoding
    everything before ``start``. Streaming from the start, PyAV is as fast or faster and its
    memory stays flat, where decord's grows to about 1 GB next to OpenCV's threads (768x576
    ``vtest.avi`` with DIS flow per frame: 1178 MiB peak against 108 MiB; docs/robustness.md).
    The video is probed (and checked against the limits) before this returns.
    """
    if backend not in _BACKENDS:
        raise InputError(f"Unknown video backend {backend!r}; use one of {', '.join(_BACKENDS)}.")
    if stride < 1 or start < 0 or (end is not None and end < start):
        raise InputError(f"Invalid frame range: stride={stride}, start={start}, end={end}. "
                         f"Use stride >= 1 and 0 <= start <= end.")
    if max_side is not None and max_side < 1:
        raise InputError(f"max_side must be a positive number of pixels; got {max_side}.")
    limits = limits or get_limits()
    info = probe_video(path, limits)
    return _frames(info, range(start, sys.maxsize if end is None else end, stride), max_side,
                   backend, limits.max_frames)


def read_frames(path: PathLike, **kwargs: Any) -> list[np.ndarray]:
    """The frames :func:`iter_frames` yields (same arguments) as a list; for short clips.

    The video is probed and checked against the limits (``max_frames`` among them) before any
    frame is decoded.
    """
    return [frame for _, frame in iter_frames(path, **kwargs)]


def _frames(info: VideoInfo, wanted: range, max_side: int | None, backend: str,
            max_frames: int) -> Iterator[tuple[int, np.ndarray]]:
    """Dispatch to a backend; ``auto`` reads from the start with PyAV, and from later on with
    decord, falling back to PyAV when decord cannot open the file."""
    path = Path(info.path)
    if backend == "decord" or (backend == "auto" and wanted.start > 0):
        try:
            reader = _open_decord(info)
        except InputError as err:
            if backend == "decord":
                raise
            logger.info("decord cannot read %s (%s); decoding with PyAV", path.name, err)
        else:
            yield from _iter_decord(reader, info, wanted, max_side)
            return
    yield from _iter_pyav(info, wanted, max_side, max_frames)


def _open_decord(info: VideoInfo) -> Any:
    """A ``decord.VideoReader`` for ``info.path``, or InputError if decord cannot read it."""
    import decord

    decord.logging.set_level(decord.logging.QUIET)  # failures are raised, not printed
    path = Path(info.path)
    if info.rotation in (90, 270):
        raise InputError(
            f"The decord backend cannot read '{path.name}': decord 0.6 mis-decodes videos "
            f"rotated by {info.rotation} degrees. Use backend 'auto' or 'pyav'."
        )
    try:
        return decord.VideoReader(str(path), ctx=decord.cpu(0))
    except (decord.DECORDError, RuntimeError, ValueError) as err:
        raise InputError(f"The decord backend cannot read '{path.name}' ({err}). "
                         f"Use backend 'auto' or 'pyav'.") from err


def _iter_decord(reader: Any, info: VideoInfo, wanted: range,
                 max_side: int | None) -> Iterator[tuple[int, np.ndarray]]:
    """Frames from decord, read with ``get_batch`` over chunks of a few indices.

    decord already turns 180 degree rotated videos upright, so no rotation is applied here.
    """
    import decord

    path = Path(info.path)
    indices = range(wanted.start, min(wanted.stop, len(reader)), wanted.step)
    chunk = max(1, min(16, (32 << 20) // (info.width * info.height * 3)))
    for offset in range(0, len(indices), chunk):
        batch_indices = list(indices[offset:offset + chunk])
        try:
            batch = reader.get_batch(batch_indices).asnumpy()
        except (decord.DECORDError, RuntimeError, ValueError) as err:
            raise _damaged(path, "video", f"near frame {batch_indices[0]}", err) from err
        if batch.shape[1:] != (info.height, info.width, 3):
            raise InputError(f"The decord backend decoded '{path.name}' with an unexpected shape "
                             f"{batch.shape[1:]}. Use backend 'pyav'.")
        for index, frame in zip(batch_indices, batch, strict=True):
            yield index, np.ascontiguousarray(resize_max_side(frame, max_side))


def _iter_pyav(info: VideoInfo, wanted: range, max_side: int | None,
               max_frames: int) -> Iterator[tuple[int, np.ndarray]]:
    """Frames from PyAV, decoded sequentially; the rotation is applied here.

    Decoding runs to the end of the stream (headers may underestimate the frame count) but stops
    with LimitExceeded past ``max_frames``.
    """
    import av

    path = Path(info.path)
    index = -1
    with _open_input(path, "video") as container:
        stream = _video_stream(container)
        stream.thread_type = "AUTO"
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index >= wanted.stop:
                    return
                if index >= max_frames:
                    raise LimitExceeded("max_frames", index + 1, max_frames,
                                        f"The video '{path.name}' has more frames than its "
                                        f"header says.")
                if index in wanted:
                    rgb = resize_max_side(frame.to_ndarray(format="rgb24"), max_side)
                    yield index, np.ascontiguousarray(_rotate(rgb, info.rotation))
        except InputError:
            raise
        except (av.FFmpegError, ValueError) as err:
            raise _damaged(path, "video", f"after frame {index}", err) from err


# --------------------------------------------------------------------------------------------
# Writing video


class _AudioTrack:
    """An AAC stream in an output container, fed from decoded audio frames of any format.

    Audio is encoded in step with the video (:meth:`encode_until`) so the file is interleaved,
    and :meth:`finish` trims it to the video's duration.
    """

    def __init__(self, container: Any, frames: Iterator[Any], rate: int, channels: int):
        import av

        self._container = container
        self._frames = frames
        self._rate = rate if rate in _AAC_RATES else 48000
        self._layout = "mono" if channels == 1 else "stereo"
        self._stream = container.add_stream("aac", rate=self._rate)
        self._stream.layout = self._layout
        self._resampler = av.AudioResampler(format="fltp", layout=self._layout, rate=self._rate)
        self._pending = np.zeros((1 if channels == 1 else 2, 0), np.float32)
        self._sent = 0
        self._exhausted = False

    def encode_until(self, seconds: float) -> None:
        """Encode the source audio up to ``seconds`` (or its end, if sooner)."""
        target = round(seconds * self._rate)
        while self._sent < target:
            if not self._pending.shape[1]:
                if self._exhausted:
                    return
                self._refill()
                continue
            block = self._pending[:, : target - self._sent]
            self._pending = self._pending[:, block.shape[1]:]
            self._encode(block)

    def finish(self, seconds: float) -> None:
        """Encode up to ``seconds``, drop the rest and flush the encoder."""
        self.encode_until(seconds)
        self._container.mux(self._stream.encode(None))

    def _refill(self) -> None:
        source = next(self._frames, None)
        if source is None:
            self._exhausted = True
        converted = self._resampler.resample(source)
        if converted:
            self._pending = np.concatenate([self._pending, *(f.to_ndarray() for f in converted)],
                                           axis=1)

    def _encode(self, block: np.ndarray) -> None:
        import av

        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp",
                                           layout=self._layout)
        frame.sample_rate = self._rate
        frame.pts = self._sent
        frame.time_base = Fraction(1, self._rate)
        self._sent += block.shape[1]
        self._container.mux(self._stream.encode(frame))


@contextmanager
def _audio_file_frames(path: Path) -> Iterator[tuple[Iterator[Any], int, int]]:
    """``(frames, sample_rate, channels)`` of the first audio stream of a media file."""
    import av

    with _open_input(path, "audio") as container:
        stream = _audio_stream(path, container)

        def frames() -> Iterator[Any]:
            try:
                yield from container.decode(stream)
            except (av.FFmpegError, ValueError) as err:
                raise _damaged(path, "audio", "while reading the audio track", err) from err

        context = stream.codec_context
        yield frames(), context.sample_rate, context.layout.nb_channels


def _array_frames(samples: np.ndarray, rate: int) -> tuple[Iterator[Any], int, int]:
    """``(frames, sample_rate, channels)``: one-second audio frames from a ``(n,)`` or
    ``(n, channels)`` float array."""
    import av

    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[1] not in (1, 2) or not data.shape[0]:
        raise InputError(f"Audio samples must be a non-empty (n,) or (n, 2) array; "
                         f"got shape {np.shape(samples)}.")
    if not isinstance(rate, int) or rate <= 0:
        raise InputError(f"The audio sample rate must be a positive integer; got {rate!r}.")
    data = np.clip(np.nan_to_num(data), -1.0, 1.0)
    layout = "mono" if data.shape[1] == 1 else "stereo"

    def frames() -> Iterator[Any]:
        for offset in range(0, data.shape[0], rate):
            chunk = np.ascontiguousarray(data[offset:offset + rate].T)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = offset
            frame.time_base = Fraction(1, rate)
            yield frame

    return frames(), rate, data.shape[1]


class VideoWriter:
    """Write RGB frames to an H.264 MP4 (yuv420p, ``+faststart``), atomically.

    Use as a context manager; the file appears at ``path`` only when the block ends without an
    exception. Frames of odd width or height are padded to even by repeating the last column or
    row. Optional audio, from a media file (``audio``) or from ``(samples, sample_rate)``
    (``audio_samples``, float (n,) or (n, 2)), is encoded as AAC and trimmed to the video.
    """

    def __init__(
        self,
        path: PathLike,
        fps: float | Fraction,
        *,
        crf: int = 18,
        preset: str = "medium",
        audio: PathLike | None = None,
        audio_samples: tuple[np.ndarray, int] | None = None,
    ):
        if audio is not None and audio_samples is not None:
            raise InputError("Give the audio either as a file or as samples, not both.")
        self.path = Path(path)
        self.rate = _fps_fraction(fps)
        self.frames_written = 0
        self._options = {"crf": str(crf), "preset": preset}
        self._audio_path = Path(audio) if audio is not None else None
        if self._audio_path is not None:
            get_limits().check_file(self._audio_path)
        # Validated now, encoded once the first frame opens the output.
        self._audio_source = None if audio_samples is None else _array_frames(*audio_samples)
        self._stack = ExitStack()
        self._tmp: Path | None = None
        self._container: Any = None
        self._stream: Any = None
        self._audio: _AudioTrack | None = None
        self._shape: tuple[int, int] | None = None
        self._finished = False

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 ``HxWx3`` frame; every frame must have the same size."""
        import av

        frame = _check_rgb(frame)
        if self._shape is None:
            try:
                self._start(frame.shape[1], frame.shape[0])
            except BaseException:
                self.abort()
                raise
        elif frame.shape[:2] != self._shape:
            raise InputError(f"All video frames must have the same size: got "
                             f"{frame.shape[1]}x{frame.shape[0]} after "
                             f"{self._shape[1]}x{self._shape[0]}.")
        if frame.shape[0] % 2 or frame.shape[1] % 2:
            frame = np.pad(frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0)),
                           mode="edge")
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts = self.frames_written
        video_frame.time_base = 1 / self.rate
        self._container.mux(self._stream.encode(video_frame))
        self.frames_written += 1
        if self._audio is not None:
            self._audio.encode_until(self.frames_written / self.rate)

    def close(self) -> Path:
        """Finish the file and move it onto ``path``; InputError if no frame was written."""
        if self._finished:
            return self.path
        if self._shape is None:
            raise InputError(f"No frames were written to '{self.path.name}'; a video needs at "
                             f"least one frame.")
        try:
            self._container.mux(self._stream.encode(None))
            if self._audio is not None:
                self._audio.finish(self.frames_written / self.rate)
            self._stack.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        self._finished = True
        return self.path

    def abort(self) -> None:
        """Stop writing and delete the temporary file; ``path`` is left untouched."""
        try:
            self._stack.close()
        except Exception:  # the file is discarded anyway; keep the original error
            logger.debug("error while discarding %s", self._tmp, exc_info=True)
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)

    def _start(self, width: int, height: int) -> None:
        """Open the output on the first frame, when the size is known."""
        import av

        self._shape = (height, width)
        self._tmp = _temp_sibling(self.path, ".mp4")
        self._container = self._stack.enter_context(
            av.open(str(self._tmp), "w", format="mp4", options={"movflags": "+faststart"}))
        self._stream = self._container.add_stream("libx264", rate=self.rate)
        self._stream.width, self._stream.height = even_size(width, height)
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = self._options
        if self._audio_path is not None:
            frames, rate, channels = self._stack.enter_context(
                _audio_file_frames(self._audio_path))
            self._audio = _AudioTrack(self._container, frames, rate, channels)
        elif self._audio_source is not None:
            self._audio = _AudioTrack(self._container, *self._audio_source)


def write_video(path: PathLike, frames: Iterable[np.ndarray], fps: float | Fraction,
                **kwargs: Any) -> Path:
    """Write ``frames`` with a :class:`VideoWriter` (same keyword arguments); returns the path."""
    with VideoWriter(path, fps, **kwargs) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.path


def mux_audio(video_path: PathLike, audio_path: PathLike, out_path: PathLike, *,
              limits: Limits | None = None) -> Path:
    """Write an MP4 with the video stream of ``video_path`` copied as is and the audio of
    ``audio_path`` encoded as AAC, trimmed to the video's length (any old audio is dropped)."""
    import av

    limits = limits or get_limits()
    info = probe_video(video_path, limits)
    audio_path = Path(audio_path)
    limits.check_file(audio_path)
    with (_open_input(Path(video_path), "video") as source,
          _audio_file_frames(audio_path) as (frames, rate, channels),
          _atomic_output(out_path) as tmp,
          av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out):
        in_stream = _video_stream(source)
        out_stream = out.add_stream_from_template(in_stream)
        track = _AudioTrack(out, frames, rate, channels)
        try:
            for packet in source.demux(in_stream):
                if packet.dts is None:
                    continue
                track.encode_until(float(packet.dts * packet.time_base))
                packet.stream = out_stream
                out.mux(packet)
        except InputError:
            raise
        except (av.FFmpegError, ValueError) as err:
            raise _damaged(Path(video_path), "video", "while copying the video", err) from err
        track.finish(info.duration)
    return Path(out_path)


# --------------------------------------------------------------------------------------------
# Animations and frame archives


def _save_animation(path: PathLike, images: list[Image.Image], fps: float, fmt: str,
                    **options: Any) -> Path:
    if not images:
        raise InputError(f"No frames to write to '{Path(path).name}'; an animation needs at "
                         f"least one frame.")
    duration = max(1, round(1000 / float(_fps_fraction(fps))))
    if fmt == "GIF":  # GIF delays are in 1/100 s, and browsers slow down delays under 20 ms
        duration = max(20, duration)
    with _atomic_output(path) as tmp:
        images[0].save(tmp, format=fmt, save_all=True, append_images=images[1:],
                       duration=duration, loop=0, **options)
    return Path(path)


def write_gif(path: PathLike, frames: Iterable[np.ndarray], fps: float, *,
              max_side: int | None = None) -> Path:
    """Write an animated GIF (looping forever) of RGB frames, downscaled to ``max_side``.

    GIF plays at most 50 fps, and PIL merges identical consecutive frames into one. Each frame
    is reduced to 256 colours with the fast octree quantiser first: PIL's default reduction is
    about 15 times slower for the same look.
    """
    images = [
        Image.fromarray(resize_max_side(_check_rgb(frame, "GIF frames"), max_side)).quantize(
            256, method=Image.Quantize.FASTOCTREE
        )
        for frame in frames
    ]
    return _save_animation(path, images, fps, "GIF")


def write_webp(path: PathLike, frames: Iterable[np.ndarray], fps: float, *,
               quality: int = 80) -> Path:
    """Write an animated WebP (looping forever) of RGB frames at the given lossy ``quality``."""
    images = [Image.fromarray(_check_rgb(frame, "WebP frames")) for frame in frames]
    return _save_animation(path, images, fps, "WEBP", quality=quality)


def files_to_zip(path: PathLike, files: Iterable[PathLike]) -> Path:
    """Store existing files in a zip archive under their own names, atomically: the entries are
    the files' bytes (images already encoded are not encoded again)."""
    names: set[str] = set()
    with _atomic_output(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for file in map(Path, files):
            if file.name in names:
                raise InputError(f"Two files are both named '{file.name}'; give each a unique "
                                 f"name.")  # fmt: skip
            names.add(file.name)
            archive.write(file, file.name)
    return Path(path)


# --------------------------------------------------------------------------------------------
# Audio


def read_audio(path: PathLike, sample_rate: int = 16000, *,
               limits: Limits | None = None) -> np.ndarray:
    """Decode the first audio track of any media file to mono float32 in [-1, 1].

    Resampled to ``sample_rate`` with PyAV; channels are averaged.
    """
    import av

    if not isinstance(sample_rate, int) or sample_rate <= 0:
        raise InputError(f"The sample rate must be a positive integer; got {sample_rate!r}.")
    limits = limits or get_limits()
    path = Path(path)
    limits.check_file(path)
    chunks: list[np.ndarray] = []
    total = 0
    with _open_input(path, "audio") as container:
        stream = _audio_stream(path, container)
        _check_complete(path, container, "audio file")
        seconds = _stream_seconds(stream, container)
        limits.check_duration(seconds, "audio")
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)
        try:
            for frame in itertools.chain(container.decode(stream), [None]):
                for converted in resampler.resample(frame):
                    chunk = converted.to_ndarray().mean(axis=0, dtype=np.float32)
                    chunks.append(chunk)
                    total += chunk.size
                if total > (limits.max_seconds + 1) * sample_rate:  # headers lied or were silent
                    limits.check_duration(total / sample_rate, "audio")
        except InputError:
            raise
        except (av.FFmpegError, ValueError) as err:
            raise _damaged(path, "audio", "while reading the audio track", err) from err
    if not total:
        raise InputError(f"The file '{path.name}' contains no audio samples. {AUDIO_HINT}")
    return np.clip(np.concatenate(chunks), -1.0, 1.0)


def write_wav(path: PathLike, samples: np.ndarray, sample_rate: int) -> Path:
    """Write float samples, ``(n,)`` or ``(n, channels)`` in [-1, 1], as 16-bit PCM WAV."""
    import soundfile

    data = np.clip(np.nan_to_num(np.asarray(samples, dtype=np.float32)), -1.0, 1.0)
    if data.ndim not in (1, 2) or not data.shape[0]:
        raise InputError(f"Audio samples must be a non-empty (n,) or (n, channels) array; "
                         f"got shape {data.shape}.")
    with _atomic_output(path) as tmp:
        soundfile.write(tmp, data, sample_rate, subtype="PCM_16", format="WAV")
    return Path(path)


# --------------------------------------------------------------------------------------------
# Images


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """An image as RGB uint8 ``HxWx3`` plus its alpha channel (``HxW`` uint8) if it had one.

    ``source_mode`` is the PIL mode of the source (e.g. ``"I;16"``, ``"CMYK"``) or
    ``"array:<dtype>"`` for numpy input.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    source_mode: str

    @property
    def width(self) -> int:
        return self.rgb.shape[1]

    @property
    def height(self) -> int:
        return self.rgb.shape[0]


def load_image(src: PathLike | bytes | Image.Image | np.ndarray, *,
               limits: Limits | None = None) -> LoadedImage:
    """Load an image from a path, encoded bytes, a PIL image or an array as RGB uint8.

    EXIF orientation is applied. Transparency (RGBA, LA, PA, P or RGB/L with a transparent colour)
    is returned separately as ``alpha``. 16-bit data keeps its top 8 bits; float data is taken as
    [0, 1] (PIL ``F`` images whose values exceed 1 as 0..255). The pixel limit is checked from
    the header, before the pixels are decoded.
    """
    limits = limits or get_limits()
    if isinstance(src, np.ndarray):
        if src.ndim >= 2:
            limits.check_pixels(src.shape[1], src.shape[0])
        return _from_array(src, f"array:{src.dtype}")
    if isinstance(src, Image.Image):
        limits.check_pixels(src.width, src.height)
        with _image_errors("The image", limits):
            return _from_pil(src)
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        if not data:
            raise InputError("The uploaded image is empty (0 bytes). Upload the file again.")
        if len(data) > limits.max_upload_bytes:
            raise LimitExceeded("max_upload_bytes", len(data), limits.max_upload_bytes,
                                "The uploaded image is too large.")
        return _open_pil(io.BytesIO(data), "The uploaded data", limits)
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        limits.check_file(path)
        return _open_pil(path, f"The file '{path.name}'", limits)
    raise InputError(f"Cannot load an image from a {type(src).__name__}; give a file path, "
                     f"bytes, a PIL image or a numpy array.")


def _open_pil(source: Path | io.BytesIO, label: str, limits: Limits) -> LoadedImage:
    """Open with PIL lazily, check the size from the header, then decode and convert."""
    # Pillow refuses images over twice its own MAX_IMAGE_PIXELS (179 M by default) before the
    # header can be checked here; keep its guard at or above the studio's limit, so raising
    # STUDIO_MAX_PIXELS, as the limit's message suggests, is enough.
    if Image.MAX_IMAGE_PIXELS is not None and limits.max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = limits.max_pixels
    with _image_errors(label, limits), Image.open(source) as image:
        limits.check_pixels(image.width, image.height)
        image.load()
        return _from_pil(image)


@contextmanager
def _image_errors(label: str, limits: Limits) -> Iterator[None]:
    """Turn PIL's errors for unreadable or oversized images into InputError/LimitExceeded."""
    try:
        yield
    except InputError:
        raise
    except Image.DecompressionBombError as err:  # PIL's own limit, twice MAX_IMAGE_PIXELS
        found = re.search(r"\((\d+) pixels\)", str(err))
        raise LimitExceeded("max_pixels", int(found.group(1)) if found else limits.max_pixels + 1,
                            limits.max_pixels, "The image is too large to decode.") from err
    except UnidentifiedImageError as err:
        raise InputError(f"{label} is not a readable image (unknown or damaged format). "
                         f"{IMAGE_HINT}") from err
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as err:
        raise InputError(f"{label} is not a readable image (damaged or truncated: {err}). "
                         f"{IMAGE_HINT}") from err


def _from_pil(image: Image.Image) -> LoadedImage:
    """Convert a PIL image of any mode, upright per its EXIF orientation."""
    mode = image.mode
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block must not make the image unusable
        logger.warning("ignoring unreadable EXIF orientation", exc_info=True)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        data = np.asarray(image)
        return _from_array(np.clip(data, 0, 65535).astype(np.uint16), mode)
    if mode == "F":
        data = np.nan_to_num(np.asarray(image, dtype=np.float32))
        return _from_array(data if data.max(initial=0) <= 1 else data / 255, mode)
    try:
        converted = np.array(image.convert("RGBA" if image.has_transparency_data else "RGB"))
    except ValueError as err:
        raise InputError(f"Images in the {mode} colour mode are not supported. {IMAGE_HINT}"
                         ) from err
    return _from_array(converted, mode)


def _from_array(data: np.ndarray, source_mode: str) -> LoadedImage:
    """Split an ``HxW``, ``HxWx1``, ``HxWx3`` or ``HxWx4`` array into RGB uint8 and alpha."""
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[..., 0]
    if (data.ndim not in (2, 3) or (data.ndim == 3 and data.shape[2] not in (3, 4))
            or not data.size):
        raise InputError(f"An image array must have shape HxW, HxWx3 or HxWx4; "
                         f"got {data.shape}.")
    data = _to_uint8(data)
    if data.ndim == 2:
        return LoadedImage(np.repeat(data[..., None], 3, axis=2), None, source_mode)
    alpha = np.ascontiguousarray(data[..., 3]) if data.shape[2] == 4 else None
    return LoadedImage(np.ascontiguousarray(data[..., :3]), alpha, source_mode)


def _to_uint8(data: np.ndarray) -> np.ndarray:
    """A uint8 copy: bool -> 0/255, 16-bit -> top 8 bits, float [0, 1] -> 0..255."""
    if data.dtype == np.uint8:
        return data.copy()
    if data.dtype == np.bool_:
        return data.astype(np.uint8) * 255
    if data.dtype.kind == "u" and data.dtype.itemsize == 2:
        return (data.astype(np.uint16) >> 8).astype(np.uint8)
    if data.dtype.kind == "f":
        scaled = np.clip(np.nan_to_num(data.astype(np.float32)), 0.0, 1.0) * 255.0
        return np.rint(scaled).astype(np.uint8)
    raise InputError(f"Image arrays must be uint8, uint16, bool or float in [0, 1]; "
                     f"got {data.dtype}.")


def _encode_image(rgb: np.ndarray, alpha: np.ndarray | None, suffix: str,
                  quality: int = 95) -> bytes:
    """Encode RGB (+ alpha, dropped for JPEG) in the format named by ``suffix``."""
    fmt = _IMAGE_FORMATS[suffix]
    image = Image.fromarray(rgb)
    if alpha is not None and fmt != "JPEG":
        image.putalpha(Image.fromarray(alpha))
    buffer = io.BytesIO()
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def save_image(path: PathLike, rgb: np.ndarray, alpha: np.ndarray | None = None, *,
               quality: int = 95) -> Path:
    """Save RGB uint8 (and optional ``HxW`` alpha) as PNG, JPEG or WebP by extension, atomically.

    PNG and WebP keep the alpha channel; JPEG drops it. ``quality`` applies to JPEG and WebP.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _IMAGE_FORMATS:
        raise InputError(f"Cannot save an image as '{path.name}'; use a .png, .jpg or .webp name.")
    rgb = _check_rgb(rgb, "Images")
    if alpha is not None and (not isinstance(alpha, np.ndarray) or alpha.dtype != np.uint8
                              or alpha.shape != rgb.shape[:2]):
        raise InputError(f"The alpha channel must be a uint8 array of shape {rgb.shape[:2]}.")
    data = _encode_image(rgb, alpha, suffix, quality)
    with _atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return path
