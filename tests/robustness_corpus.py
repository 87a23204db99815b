"""The bad-input corpus: awkward and broken media, generated on demand (never downloaded).

:class:`Corpus` writes each file the first time a case asks for it. :data:`CASES` lists what each
task endpoint is fed and how it must end: a correct result (:class:`Ok`, with a check on the
outputs) or a clear refusal (:class:`Refused`, with phrases the message must contain).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from PIL import Image

from pipelines.media import probe_video, write_video
from tests.conftest import ROOT
from tests.media_fixtures import moving_frames, sine, write_rotated_video

ASSETS = ROOT / "assets"
FACE = ASSETS / "talking_head" / "astronaut.jpg"
SPEECH = ASSETS / "talking_head" / "speech.wav"
HUGE_SIDE = 20_000


# --------------------------------------------------------------------------------------------
# Generators: each writes one file at ``path``


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload)))


def huge_png(path: Path, side: int = HUGE_SIDE) -> None:
    """A complete, decodable ``side`` x ``side`` black RGB PNG, deflated row by row (~1 MiB)."""
    row = b"\x00" * (1 + 3 * side)  # filter byte + pixels
    deflate = zlib.compressobj(9)
    body = b"".join(deflate.compress(row) for _ in range(side)) + deflate.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                     + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b""))


def photo(size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A small RGB picture with structure (the face example, resized)."""
    return Image.open(FACE).convert("RGB").resize(size)


def no_face(path: Path) -> None:
    """A landscape-like gradient with a few blocks and no face."""
    yy, xx = np.mgrid[0:240, 0:320]
    rgb = np.stack([xx * 255 // 319, yy * 255 // 239, np.full_like(xx, 90)], -1).astype(np.uint8)
    rgb[150:200, 40:120] = (30, 120, 40)
    rgb[60:90, 200:300] = (250, 250, 240)
    Image.fromarray(rgb).save(path)


def many_faces(path: Path) -> None:
    """Six copies of the face example in a 3x2 grid, one face each."""
    tile = Image.open(FACE).convert("RGB").resize((240, 240))
    sheet = Image.new("RGB", (720, 480))
    for i in range(6):
        sheet.paste(tile, ((i % 3) * 240, (i // 3) * 240))
    sheet.save(path, quality=92)


def exif_rotated(path: Path) -> None:
    """A 96x64 JPEG whose EXIF orientation 6 says: turn 90 degrees clockwise for display."""
    exif = Image.Exif()
    exif[0x0112] = 6
    photo((96, 64)).save(path, exif=exif, quality=92)


def sixteen_bit(path: Path) -> None:
    """A 16-bit RGB PNG (as a camera raw export writes it)."""
    rgb16 = np.asarray(photo((80, 60)), np.uint16) * 257
    cv2.imwrite(str(path), np.ascontiguousarray(rgb16[..., ::-1]))


def rgba(path: Path) -> None:
    """An RGBA PNG whose alpha fades from opaque (left) to transparent (right)."""
    image = photo((80, 60)).convert("RGBA")
    image.putalpha(Image.fromarray(np.tile(np.linspace(255, 0, 80), (60, 1)).astype(np.uint8)))
    image.save(path)


def truncated(source: Callable[[Path], None], keep: float) -> Callable[[Path], None]:
    """A generator writing the first ``keep`` fraction of what ``source`` writes."""

    def write(path: Path) -> None:
        full = path.with_name(f"full-{path.name}")
        source(full)
        data = full.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])
        full.unlink()

    return write


def clip(path: Path, frames: int = 24, size: tuple[int, int] = (64, 48), fps: int = 12) -> None:
    write_video(path, moving_frames(frames, *size), fps)


def odd_size(path: Path) -> None:
    """A 33x25 H.264 video (4:4:4 chroma allows odd sizes; 4:2:0 writers pad to even)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 33, 25, "yuv444p"
        for index, rgb in enumerate(moving_frames(12, 33, 25)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def rotated_clip(path: Path) -> None:
    """A phone video: frames stored 64x48 (landscape) with a 90 degree display rotation."""
    write_rotated_video(path, list(moving_frames(12, 64, 48)), 12, clockwise=90)


def rotated_face(path: Path) -> None:
    """A 192x256 face stored sideways with a 90 degree display rotation: the face is upright
    (and can be found) only when the rotation is applied."""
    face = np.asarray(Image.open(FACE).convert("RGB").crop((64, 0, 448, 512)).resize((192, 256)))
    stored = np.ascontiguousarray(np.rot90(face, k=1))  # counter-clockwise; the tag undoes it
    write_rotated_video(path, [stored] * 25, 25, clockwise=90)


def variable_rate(path: Path) -> None:
    """H.264 with irregular frame intervals (1/30 s to 1/3 s), as screen recorders make."""
    gaps = [1, 1, 2, 1, 5, 1, 1, 10, 3, 1, 1, 2, 1, 7, 1, 1]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 30)
        pts = 0
        for gap, rgb in zip(gaps, moving_frames(len(gaps)), strict=True):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 30)
            container.mux(stream.encode(frame))
            pts += gap
        container.mux(stream.encode(None))


def over_duration(path: Path) -> None:
    """A 16x16 video at 1 fps lasting 601 s: one second over the default 600 s limit."""
    clip(path, frames=601, size=(16, 16), fps=1)


def audio_only_mp4(path: Path) -> None:
    """An MP4 holding one AAC track and no video stream."""
    samples = sine(440, 1.0, 44100)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 44100, 0, Fraction(1, 44100)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def wav(samples: np.ndarray, rate: int = 16000) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import soundfile

        soundfile.write(path, samples, rate, subtype="PCM_16")

    return write


def image_bytes(image: Image.Image, fmt: str, **options: Any) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **options)
        path.write_bytes(buffer.getvalue())

    return write


def raw(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def png_renamed(path: Path) -> None:
    photo().save(path, format="PNG")


# A clipped recording: a sine driven four times past full scale, flattened at +-1.
_CLIPPED = np.clip(sine(220, 1.5, 16000, amplitude=4.0), -1, 1)

GENERATORS: dict[str, Callable[[Path], None]] = {
    "empty.png": raw(b""),
    "empty.mp4": raw(b""),
    "empty.wav": raw(b""),
    "text.png": raw(b"This is a text file, not a picture.\n" * 20),
    "text.mp4": raw(b"This is a text file, not a video.\n" * 20),
    "text.wav": raw(b"This is a text file, not audio.\n" * 20),
    "png-named.mp4": png_renamed,
    "dot.png": image_bytes(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"),
    "huge.png": huge_png,
    "cmyk.jpg": image_bytes(photo().convert("CMYK"), "JPEG", quality=92),
    "sixteen-bit.png": sixteen_bit,
    "palette.gif": image_bytes(photo().quantize(64), "GIF"),
    "rgba.png": rgba,
    "gray.png": image_bytes(photo().convert("L"), "PNG"),
    "exif-rotated.jpg": exif_rotated,
    "truncated.jpg": truncated(image_bytes(photo((320, 240)), "JPEG", quality=95), 0.5),
    "no-face.png": no_face,
    "many-faces.jpg": many_faces,
    "clip.mp4": clip,
    "odd-size.mp4": odd_size,
    "truncated.mp4": truncated(lambda path: clip(path, 48, (96, 72)), 0.5),
    "audio-only.mp4": audio_only_mp4,
    "rotated.mp4": rotated_clip,
    "rotated-face.mp4": rotated_face,
    "variable-rate.mp4": variable_rate,
    "over-duration.mp4": over_duration,
    "silent.wav": wav(np.zeros(24000, np.float32)),
    "clipped.wav": wav(_CLIPPED),
}


class Corpus:
    """The corpus files in ``folder``, each written on first use."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __call__(self, name: str) -> Path:
        path = self.folder / name
        if not path.exists():
            GENERATORS[name](path)
        return path


# --------------------------------------------------------------------------------------------
# Expectations


@dataclass(frozen=True)
class Ok:
    """A correct result; ``check(outputs)`` asserts on what the endpoint returned and returns a
    short description of it for the report."""

    check: Callable[[Any], str]


@dataclass(frozen=True)
class Refused:
    """A clear error whose message contains every phrase (case-insensitive)."""

    phrases: tuple[str, ...]


def refused(*phrases: str) -> Refused:
    return Refused(phrases)


def file_of(value: Any) -> Path:
    """The local path of a file output (gradio_client gives a path or a {"video": path} dict)."""
    if isinstance(value, dict):
        value = value.get("video") or value.get("path")
    path = Path(value)
    assert path.is_file(), f"output file {path} is missing"
    return path


def image_size(value: Any) -> tuple[int, int]:
    return Image.open(file_of(value)).size


def video_shape(value: Any) -> tuple[int, int, int]:
    info = probe_video(file_of(value))
    return info.width, info.height, info.frame_count


def _super_res_image(size: tuple[int, int], *, alpha: bool = False) -> Ok:
    """The x2 result has twice the display size (and keeps transparency when asked)."""

    def check(outputs: Any) -> str:
        _slider, result, _summary = outputs
        image = Image.open(file_of(result))
        assert image.size == (2 * size[0], 2 * size[1]), image.size
        assert ("A" in image.mode) == alpha, image.mode
        return f"{image.width}x{image.height} {image.mode}"

    return Ok(check)


def _video(size: tuple[int, int], frames: int | None, index: int = 0) -> Ok:
    """Output ``index`` is a ``size`` video (display orientation) with ``frames`` frames."""

    def check(outputs: Any) -> str:
        width, height, count = video_shape(outputs[index])
        assert (width, height) == size, (width, height)
        assert frames is None or count == frames, count
        return f"{width}x{height} video, {count} frames"

    return Ok(check)


def _style_image(size: tuple[int, int]) -> Ok:
    def check(outputs: Any) -> str:
        assert image_size(outputs[1]) == size
        return f"{size[0]}x{size[1]} image"

    return Ok(check)


def _portrait(size: tuple[int, int]) -> Ok:
    def check(outputs: Any) -> str:
        video, gif, strip, _summary, _manifest = outputs
        width, height, count = video_shape(video)
        assert (width, height, count) == (*size, 12), (width, height, count)
        assert file_of(gif).suffix == ".gif" and file_of(strip).is_file()
        return f"{width}x{height} video, {count} frames, GIF"

    return Ok(check)


def _talking_head(size: tuple[int, int]) -> Ok:
    """A ``size`` video (display orientation) with an audio track."""

    def check(outputs: Any) -> str:
        video, _details, _files = outputs
        info = probe_video(file_of(video))
        assert info.has_audio
        assert (info.width, info.height) == size, (info.width, info.height)
        return f"{info.width}x{info.height} video with audio, {info.frame_count} frames"

    return Ok(check)


def _keyframes(size: tuple[int, int]) -> Ok:
    """Every keyframe has the video's display size."""

    def check(outputs: Any) -> str:
        gallery = outputs[0]
        assert gallery, "no keyframes"
        sizes = {image_size(item["image"] if isinstance(item, dict) else item[0])
                 for item in gallery}
        assert sizes == {size}, sizes
        return f"{len(gallery)} keyframe(s) of {size[0]}x{size[1]}"

    return Ok(check)


# --------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Case:
    """One input fed to one endpoint, and how it must end."""

    id: str
    api: str
    what: str
    inputs: Callable[[Corpus], list[Any]]
    expect: Ok | Refused


def _file(corpus: Corpus, name: str | None) -> Any:
    from gradio_client import handle_file

    return handle_file(str(corpus(name))) if name else None


def super_res(name: str) -> Callable[[Corpus], list[Any]]:
    return lambda c: [_file(c, name), None, "classical", 2, 0, "png", False]


def super_res_video(name: str) -> Callable[[Corpus], list[Any]]:
    return lambda c: [_file(c, name), "classical", 2, 0]


def style(content: str, style_image: str = "cmyk.jpg") -> Callable[[Corpus], list[Any]]:
    return lambda c: [_file(c, content), _file(c, style_image), "classical", "reinhard", 0.8,
                      None, 0.5, False, 0.7, 1024, "png"]


def style_video(content: str) -> Callable[[Corpus], list[Any]]:
    return lambda c: [_file(c, content), _file(c, "palette.gif"), "classical", "reinhard", 0.8,
                      True, None, 0.5, False, 0.7, 1024]


def portrait(name: str) -> Callable[[Corpus], list[Any]]:
    return lambda c: [_file(c, name), "portrait.classical", 12, 12, 0, "zoom_in",
                      ["breathing", "sway", "blink"], 1.0, True, 1.0, 256, 127, 0.02, 25, 8,
                      "gpu", "crop", 768, "", "", 3.0]


def talking_head(face: str | None, audio: str | None, *,
                 video: str | None = None) -> Callable[[Corpus], list[Any]]:
    def inputs(c: Corpus) -> list[Any]:
        from gradio_client import handle_file

        portrait_file = handle_file(str(FACE)) if face == "example" else _file(c, face)
        audio_file = handle_file(str(SPEECH)) if audio == "example" else _file(c, audio)
        return [portrait_file, _file(c, video), audio_file, "", "en", 150,
                "talking_head.classical", False, 0.0, 1.0, 0, 512, 16, 0.2, ""]

    return inputs


def keyframes(name: str) -> Callable[[Corpus], list[Any]]:
    return lambda c: [_file(c, name)]


EMPTY = refused("empty", "upload")
NOT_IMAGE = refused("not a readable image", "upload")
NOT_VIDEO = refused("not a readable video", "upload")
NO_VIDEO_STREAM = refused("no video stream", "upload")
TRUNCATED_VIDEO = refused("truncated", "upload the complete file")
TOO_MANY_PIXELS = refused("max_pixels", "400,000,000", "STUDIO_MAX_PIXELS")
TOO_LONG = refused("max_seconds", "601", "STUDIO_MAX_SECONDS")

CASES: tuple[Case, ...] = (
    # Super-resolution, image endpoint
    Case("sr-empty", "super_res", "zero-byte .png", super_res("empty.png"), EMPTY),
    Case("sr-text", "super_res", "text renamed to .png", super_res("text.png"), NOT_IMAGE),
    Case("sr-1x1", "super_res", "1x1 PNG", super_res("dot.png"), refused("at least 4x4")),
    Case("sr-huge", "super_res", "20000x20000 PNG (1 MiB, deflated)", super_res("huge.png"),
         TOO_MANY_PIXELS),
    Case("sr-cmyk", "super_res", "CMYK JPEG", super_res("cmyk.jpg"), _super_res_image((96, 64))),
    Case("sr-16bit", "super_res", "16-bit RGB PNG", super_res("sixteen-bit.png"),
         _super_res_image((80, 60))),
    Case("sr-palette", "super_res", "palette GIF", super_res("palette.gif"),
         _super_res_image((96, 64))),
    Case("sr-rgba", "super_res", "RGBA PNG (alpha kept)", super_res("rgba.png"),
         _super_res_image((80, 60), alpha=True)),
    Case("sr-exif", "super_res", "JPEG with EXIF orientation 6", super_res("exif-rotated.jpg"),
         _super_res_image((64, 96))),
    Case("sr-truncated", "super_res", "JPEG cut in half", super_res("truncated.jpg"),
         refused("truncated", "upload")),
    # Super-resolution, video endpoint
    Case("srv-empty", "super_res_video", "zero-byte .mp4", super_res_video("empty.mp4"), EMPTY),
    Case("srv-text", "super_res_video", "text renamed to .mp4", super_res_video("text.mp4"),
         NOT_VIDEO),
    Case("srv-png", "super_res_video", "PNG renamed to .mp4", super_res_video("png-named.mp4"),
         NOT_VIDEO),
    Case("srv-truncated", "super_res_video", "MP4 cut in half", super_res_video("truncated.mp4"),
         TRUNCATED_VIDEO),
    Case("srv-audio-only", "super_res_video", "audio-only .mp4",
         super_res_video("audio-only.mp4"), NO_VIDEO_STREAM),
    Case("srv-rotated", "super_res_video", "phone video, 90 degree rotation tag",
         super_res_video("rotated.mp4"), _video((96, 128), 12)),
    Case("srv-vfr", "super_res_video", "variable frame rate", super_res_video("variable-rate.mp4"),
         _video((128, 96), 16)),
    Case("srv-odd", "super_res_video", "33x25 video (odd size)", super_res_video("odd-size.mp4"),
         _video((66, 50), 12)),
    Case("srv-long", "super_res_video", "601 s video (limit 600 s)",
         super_res_video("over-duration.mp4"), TOO_LONG),
    # Style transfer
    Case("st-gray", "style", "grayscale content, CMYK style", style("gray.png"),
         _style_image((96, 64))),
    Case("st-16bit", "style", "16-bit content", style("sixteen-bit.png"), _style_image((80, 60))),
    Case("st-rgba-style", "style", "RGBA style image", style("exif-rotated.jpg", "rgba.png"),
         _style_image((64, 96))),
    Case("st-empty-style", "style", "zero-byte style image", style("gray.png", "empty.png"),
         EMPTY),
    Case("st-huge", "style", "20000x20000 content", style("huge.png"), TOO_MANY_PIXELS),
    Case("st-text", "style", "text renamed to .png as content", style("text.png"), NOT_IMAGE),
    Case("stv-rotated", "style_video", "phone video, 90 degree rotation tag",
         style_video("rotated.mp4"), _video((48, 64), 12)),
    Case("stv-vfr", "style_video", "variable frame rate", style_video("variable-rate.mp4"),
         _video((64, 48), 16)),
    Case("stv-audio-only", "style_video", "audio-only .mp4", style_video("audio-only.mp4"),
         NO_VIDEO_STREAM),
    Case("stv-truncated", "style_video", "MP4 cut in half", style_video("truncated.mp4"),
         TRUNCATED_VIDEO),
    # Portrait animation
    Case("pa-no-face", "portrait", "picture without a face", portrait("no-face.png"),
         _portrait((256, 192))),
    Case("pa-many-faces", "portrait", "six faces in one picture", portrait("many-faces.jpg"),
         _portrait((256, 172))),
    Case("pa-cmyk", "portrait", "CMYK JPEG", portrait("cmyk.jpg"), _portrait((96, 64))),
    Case("pa-1x1", "portrait", "1x1 PNG", portrait("dot.png"), refused("at least 64 pixels")),
    Case("pa-huge", "portrait", "20000x20000 PNG", portrait("huge.png"), TOO_MANY_PIXELS),
    Case("pa-text", "portrait", "text renamed to .png", portrait("text.png"), NOT_IMAGE),
    # Talking heads
    Case("th-no-face", "talking_head", "portrait without a face",
         talking_head("no-face.png", "example"), refused("no face")),
    Case("th-many-faces", "talking_head", "six faces in one picture",
         talking_head("many-faces.jpg", "example"), _talking_head((512, 342))),
    Case("th-silent", "talking_head", "silent WAV", talking_head("example", "silent.wav"),
         _talking_head((512, 512))),
    Case("th-clipped", "talking_head", "clipped WAV", talking_head("example", "clipped.wav"),
         _talking_head((512, 512))),
    Case("th-empty-audio", "talking_head", "zero-byte .wav", talking_head("example", "empty.wav"),
         EMPTY),
    Case("th-text-audio", "talking_head", "text renamed to .wav",
         talking_head("example", "text.wav"), refused("not a readable audio file", "upload")),
    Case("th-audio-only-face", "talking_head", "audio-only .mp4 as the face video",
         talking_head(None, "example", video="audio-only.mp4"),
         refused("neither a readable image nor a readable video", "upload")),
    Case("th-rotated-face", "talking_head", "face video with a 90 degree rotation tag",
         talking_head(None, "silent.wav", video="rotated-face.mp4"), _talking_head((192, 256))),
    Case("th-video-as-audio", "talking_head", "video without sound as the audio",
         talking_head("example", "clip.mp4"), refused("no audio track")),
    # Keyframes
    Case("kf-empty", "keyframes", "zero-byte .mp4", keyframes("empty.mp4"), EMPTY),
    Case("kf-text", "keyframes", "text renamed to .mp4", keyframes("text.mp4"), NOT_VIDEO),
    Case("kf-truncated", "keyframes", "MP4 cut in half", keyframes("truncated.mp4"),
         TRUNCATED_VIDEO),
    Case("kf-audio-only", "keyframes", "audio-only .mp4", keyframes("audio-only.mp4"),
         NO_VIDEO_STREAM),
    Case("kf-rotated", "keyframes", "phone video, 90 degree rotation tag",
         keyframes("rotated.mp4"), _keyframes((48, 64))),
    Case("kf-vfr", "keyframes", "variable frame rate", keyframes("variable-rate.mp4"),
         _keyframes((64, 48))),
    Case("kf-odd", "keyframes", "33x25 video (odd size)", keyframes("odd-size.mp4"),
         _keyframes((33, 25))),
    Case("kf-long", "keyframes", "601 s video (limit 600 s)", keyframes("over-duration.mp4"),
         TOO_LONG),
)
