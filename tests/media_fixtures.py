"""Synthetic media for the media tests: everything is generated in a temporary folder."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# Audio codecs and containers by file suffix, as PyAV names them.
AUDIO_FORMATS = {
    ".wav": ("pcm_s16le", "wav"),
    ".flac": ("flac", "flac"),
    ".ogg": ("libopus", "ogg"),
    ".mp3": ("libmp3lame", "mp3"),
    ".m4a": ("aac", "ipod"),
}


def moving_frames(n: int, width: int = 64, height: int = 48) -> Iterator[np.ndarray]:
    """``n`` RGB frames: colour gradients plus a disc moving left to right, all distinct."""
    yy, xx = np.mgrid[0:height, 0:width]
    for i in range(n):
        frame = np.empty((height, width, 3), np.uint8)
        frame[..., 0] = (xx * 255 // max(1, width - 1) + i * 5) % 256
        frame[..., 1] = yy * 255 // max(1, height - 1)
        frame[..., 2] = 40
        cx = (i * 3) % width
        frame[(xx - cx) ** 2 + (yy - height // 2) ** 2 < (min(width, height) // 5) ** 2] = 255
        yield frame


def marker_frame(width: int = 64, height: int = 48) -> np.ndarray:
    """A black frame with a red block in the top-left corner, to see rotations."""
    frame = np.zeros((height, width, 3), np.uint8)
    frame[: height // 2, : width // 4] = (255, 0, 0)
    return frame


def write_rotated_video(path: Path, frames: list[np.ndarray], fps: int, clockwise: int) -> Path:
    """An H.264 MP4 whose frames are stored as given, with display rotation metadata.

    ``clockwise`` is the turn a player applies for display, like a phone's ``rotate`` tag; PyAV's
    ``set_display_rotation`` takes the counter-clockwise angle.
    """
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.set_display_rotation(-clockwise)
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def sine(freq: float, seconds: float, rate: int, channels: int = 1,
         amplitude: float = 0.5) -> np.ndarray:
    """A sine tone, shape ``(n,)`` for mono or ``(n, channels)``."""
    t = np.arange(round(seconds * rate)) / rate
    tone = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return tone if channels == 1 else np.repeat(tone[:, None], channels, axis=1)


def write_audio_file(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Encode ``(n,)`` or ``(n, channels)`` float samples with PyAV; the suffix picks the codec."""
    codec, fmt = AUDIO_FORMATS[path.suffix]
    data = samples[:, None] if samples.ndim == 1 else samples
    layout = "mono" if data.shape[1] == 1 else "stereo"
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = layout
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data.T), format="fltp",
                                           layout=layout)
        frame.sample_rate = rate
        frame.pts = 0
        frame.time_base = Fraction(1, rate)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """The frequency (Hz) of the strongest FFT bin."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[np.argmax(spectrum)])


def top_level_boxes(path: Path) -> list[str]:
    """The types of an MP4 file's top-level boxes, in file order."""
    data = path.read_bytes()
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        boxes.append(kind.decode("latin-1"))
        pos += size
    return boxes


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels but holds no image data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
