"""pipelines.media: video/audio/image reading and writing on synthetic media."""

from __future__ import annotations

import gc
import io
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import psutil
import pytest
from PIL import Image

from pipelines import media
from pipelines.errors import InputError, LimitExceeded
from tests import media_fixtures as fx

FPS_CASES = [(25, Fraction(25)), (29.97, Fraction(30000, 1001))]


@pytest.fixture(autouse=True)
def _default_limits(monkeypatch):
    for name in ("MAX_UPLOAD_BYTES", "MAX_PIXELS", "MAX_SECONDS", "MAX_FRAMES"):
        monkeypatch.delenv(f"STUDIO_{name}", raising=False)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """A 40-frame 64x48 MP4 at 25 fps and the frames it was written from."""
    frames = list(fx.moving_frames(40))
    path = media.write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", frames, 25)
    return path, frames


def mean_abs_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# --------------------------------------------------------------------------------------------
# Writing and reading video


@pytest.mark.parametrize(("fps", "rate"), FPS_CASES)
def test_video_round_trip(tmp_path, fps, rate):
    frames = list(fx.moving_frames(40))
    path = media.write_video(tmp_path / "out.mp4", frames, fps)

    info = media.probe_video(path)
    assert (info.width, info.height, info.frame_count) == (64, 48, 40)
    assert info.fps == pytest.approx(fps, abs=0.01)
    assert info.duration == pytest.approx(40 / fps, abs=0.05)
    assert (info.rotation, info.has_audio, info.video_codec) == (0, False, "h264")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == rate
        assert stream.codec_context.pix_fmt == "yuv420p"
    boxes = fx.top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")

    decoded = media.read_frames(path)
    assert len(decoded) == 40
    for original, frame in zip(frames, decoded, strict=True):
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        assert frame.flags.c_contiguous
        assert mean_abs_error(original, frame) < 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_odd_frame_size_is_padded_to_even(tmp_path):
    frames = list(fx.moving_frames(8, width=65, height=49))
    path = media.write_video(tmp_path / "odd.mp4", frames, 25)
    info = media.probe_video(path)
    assert (info.width, info.height, info.frame_count) == (66, 50, 8)
    decoded = media.read_frames(path, backend="pyav")
    assert mean_abs_error(decoded[0][:49, :65], frames[0]) < 6
    # Edge replication: the added column and row repeat their neighbours.
    assert mean_abs_error(decoded[0][:, 65], decoded[0][:, 64]) < 6
    assert mean_abs_error(decoded[0][49], decoded[0][48]) < 6


def test_backends_agree(clip):
    path, _ = clip
    pyav = list(media.iter_frames(path, backend="pyav"))
    decord = list(media.iter_frames(path, backend="decord"))
    assert [i for i, _ in pyav] == [i for i, _ in decord] == list(range(40))
    for (_, a), (_, b) in zip(pyav, decord, strict=True):
        assert mean_abs_error(a, b) < 1.5


@pytest.mark.parametrize("backend", ["pyav", "decord", "auto"])
def test_stride_range_and_max_side(clip, backend):
    path, _ = clip
    every = dict(media.iter_frames(path, backend="pyav"))
    picked = list(media.iter_frames(path, stride=3, start=5, end=20, max_side=32, backend=backend))
    assert [i for i, _ in picked] == [5, 8, 11, 14, 17]
    for index, frame in picked:
        assert frame.shape == (24, 32, 3) and frame.flags.c_contiguous
        expected = cv2.resize(every[index], (32, 24), interpolation=cv2.INTER_AREA)
        assert mean_abs_error(frame, expected) < 1.5
    tail = [i for i, _ in media.iter_frames(path, start=38, end=100, backend=backend)]
    assert tail == [38, 39]
    (_, first), = media.iter_frames(path, max_side=100, end=1, backend=backend)
    assert first.shape == (48, 64, 3)


@pytest.mark.parametrize("bad", [{"stride": 0}, {"start": -1}, {"start": 5, "end": 2},
                                 {"max_side": 0}, {"backend": "opencv"}])
def test_iter_frames_rejects_bad_arguments(clip, bad):
    with pytest.raises(InputError):
        media.iter_frames(clip[0], **bad)


@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_rotated_video(tmp_path, clockwise):
    marker = fx.marker_frame()
    path = fx.write_rotated_video(tmp_path / "phone.mp4", [marker] * 4, 25, clockwise)
    info = media.probe_video(path)
    assert info.rotation == clockwise
    assert (info.width, info.height) == ((64, 48) if clockwise == 180 else (48, 64))
    code = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
            270: cv2.ROTATE_90_COUNTERCLOCKWISE}[clockwise]
    expected = cv2.rotate(marker, code)

    backends = ["pyav", "auto"] + (["decord"] if clockwise == 180 else [])
    for backend in backends:
        frames = media.read_frames(path, backend=backend)
        assert len(frames) == 4
        assert frames[0].shape == expected.shape
        assert mean_abs_error(frames[0], expected) < 6, backend
        small = media.read_frames(path, backend=backend, max_side=32, end=1)[0]
        assert small.shape == ((24, 32, 3) if clockwise == 180 else (32, 24, 3))
    if clockwise != 180:  # decord 0.6 returns garbage for these; refused rather than wrong
        with pytest.raises(InputError, match="decord"):
            media.read_frames(path, backend="decord")


def _write_all(path: Path, frames, fps: float = 25, crash: bool = False) -> None:
    """Write ``frames`` inside a VideoWriter block, optionally failing after the last one."""
    with media.VideoWriter(path, fps) as writer:
        for frame in frames:
            writer.write(frame)
        if crash:
            raise RuntimeError("model crashed")


def test_writer_validates_frames(tmp_path):
    target = tmp_path / "bad.mp4"
    with pytest.raises(InputError, match="same size"):
        _write_all(target, [np.zeros((48, 64, 3), np.uint8), np.zeros((50, 64, 3), np.uint8)])
    with pytest.raises(InputError, match="RGB uint8"):
        _write_all(target, [np.zeros((48, 64), np.float32)])
    with pytest.raises(InputError, match="frame rate"):
        media.VideoWriter(target, 0)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="model crashed"):
        _write_all(tmp_path / "job.mp4", fx.moving_frames(5), crash=True)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_file(tmp_path):
    target = media.write_video(tmp_path / "job.mp4", fx.moving_frames(3), 25)
    before = target.read_bytes()
    with pytest.raises(InputError, match="No frames"):
        media.write_video(target, [], 25)
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]


def test_gif_and_webp_animations(tmp_path):
    frames = list(fx.moving_frames(6))
    gif = media.write_gif(tmp_path / "a.gif", frames, 10, max_side=32)
    webp = media.write_webp(tmp_path / "a.webp", frames, 10)
    with Image.open(gif) as image:
        assert (image.n_frames, image.size, image.info["loop"]) == (6, (32, 24), 0)
        assert image.info["duration"] == 100
    with Image.open(webp) as image:
        assert (image.n_frames, image.size, image.info["loop"]) == (6, (64, 48), 0)
    with pytest.raises(InputError, match="at least one frame"):
        media.write_gif(tmp_path / "none.gif", [], 10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "a.webp"]


def test_files_to_zip_stores_the_files_bytes(tmp_path):
    frames = list(fx.moving_frames(2))
    files = [media.save_image(tmp_path / "one" / "a.jpg", frames[0]),
             media.save_image(tmp_path / "b.png", frames[1])]  # fmt: skip
    archive_path = media.files_to_zip(tmp_path / "out.zip", files)
    with zipfile.ZipFile(archive_path) as archive:
        assert archive.namelist() == ["a.jpg", "b.png"]
        for file in files:  # the very bytes on disk, not a second encoding
            assert archive.read(file.name) == file.read_bytes()
    with pytest.raises(InputError, match="unique"):
        media.files_to_zip(tmp_path / "dup.zip", [files[0], files[0]])
    assert not (tmp_path / "dup.zip").exists()


def test_streaming_memory_stays_flat(tmp_path):
    path = tmp_path / "long.mp4"
    with media.VideoWriter(path, 30, preset="ultrafast", crf=30) as writer:
        for frame in fx.moving_frames(600, width=320, height=240):
            writer.write(frame)
    process = psutil.Process()
    for backend in ("pyav", "auto"):
        frames = media.iter_frames(path, backend=backend)
        for _ in range(30):
            next(frames)
        gc.collect()
        baseline = process.memory_info().rss
        count = 30 + sum(1 for _ in frames)
        gc.collect()
        assert count == 600
        assert process.memory_info().rss - baseline < 100 * 2**20, backend


def _encode_with_pyav(path: Path, codec: str, fmt: str, n: int = 30) -> Path:
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index, rgb in enumerate(fx.moving_frames(n)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(("name", "codec", "fmt"), [
    ("raw.h264", "libx264", "h264"),  # no frame count, no duration: packets are counted
    ("clip.webm", "libvpx-vp9", "webm"),  # no frame count: estimated from the duration
])
def test_containers_without_frame_count(tmp_path, name, codec, fmt):
    path = _encode_with_pyav(tmp_path / name, codec, fmt)
    info = media.probe_video(path)
    assert (info.frame_count, info.fps) == (30, 25.0)
    assert info.duration == pytest.approx(1.2)
    indices = [i for i, _ in media.iter_frames(path, backend="auto")]  # decord or the fallback
    assert indices == list(range(30))


def test_decord_refuses_what_it_cannot_open(tmp_path):
    path = _encode_with_pyav(tmp_path / "raw.h264", "libx264", "h264", n=5)
    with pytest.raises(InputError, match="decord backend cannot read 'raw.h264'"):
        media.read_frames(path, backend="decord")


def test_still_image_is_not_a_video(tmp_path):
    path = media.save_image(tmp_path / "still.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InputError, match="still image.*Upload an MP4"):
        media.probe_video(path)


def test_writer_rejects_bad_audio_samples(tmp_path):
    with pytest.raises(InputError, match="Audio samples"):
        media.VideoWriter(tmp_path / "a.mp4", 25, audio_samples=(np.zeros((10, 5)), 44100))
    with pytest.raises(InputError, match="has no audio track"):
        media.write_video(tmp_path / "a.mp4", fx.moving_frames(2), 25,
                          audio=media.save_image(tmp_path / "b.png", np.zeros((8, 8, 3),
                                                                              np.uint8)))
    assert [p.name for p in tmp_path.iterdir()] == ["b.png"]


# --------------------------------------------------------------------------------------------
# Audio


def test_video_with_audio_samples(tmp_path):
    path = media.write_video(tmp_path / "tone.mp4", fx.moving_frames(40), 25,
                             audio_samples=(fx.sine(440, 3.0, 44100), 44100))
    info = media.probe_video(path)
    assert (info.has_audio, info.audio_codec, info.audio_rate) == (True, "aac", 44100)
    assert len(media.read_frames(path, backend="decord")) == 40
    audio = media.read_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size / 16000 - 1.6) <= 1 / 25  # trimmed to the video, within one frame
    assert fx.dominant_frequency(audio, 16000) == pytest.approx(440, abs=5)


def test_mux_audio(tmp_path, clip):
    tone = fx.write_audio_file(tmp_path / "tone.wav", fx.sine(440, 3.0, 22050, channels=2),
                               22050)
    out = media.mux_audio(clip[0], tone, tmp_path / "muxed.mp4")
    info = media.probe_video(out)
    assert (info.has_audio, info.audio_codec, info.frame_count) == (True, "aac", 40)
    with av.open(str(clip[0])) as original, av.open(str(out)) as muxed:
        assert ([bytes(p) for p in original.demux(video=0) if p.size]
                == [bytes(p) for p in muxed.demux(video=0) if p.size])  # copied, not re-encoded
    assert fx.top_level_boxes(out).index("moov") < fx.top_level_boxes(out).index("mdat")
    audio = media.read_audio(out)
    assert abs(audio.size / 16000 - 1.6) <= 1 / 25
    assert fx.dominant_frequency(audio, 16000) == pytest.approx(440, abs=5)


def test_video_with_audio_file(tmp_path):
    tone = fx.write_audio_file(tmp_path / "tone.ogg", fx.sine(440, 1.0, 48000), 48000)
    path = media.write_video(tmp_path / "short.mp4", fx.moving_frames(40), 25, audio=tone)
    audio = media.read_audio(path)
    assert audio.size / 16000 == pytest.approx(1.0, abs=0.05)  # shorter audio is kept as is
    assert fx.dominant_frequency(audio, 16000) == pytest.approx(440, abs=5)


@pytest.mark.parametrize(("suffix", "rate"), [(".wav", 44100), (".flac", 22050), (".ogg", 48000),
                                              (".mp3", 44100), (".m4a", 44100)])
def test_read_audio_formats(tmp_path, suffix, rate):
    codec = fx.AUDIO_FORMATS[suffix][0]
    if codec not in av.codecs_available:
        pytest.skip(f"this PyAV build has no {codec} encoder")
    path = fx.write_audio_file(tmp_path / f"tone{suffix}",
                               fx.sine(440, 1.5, rate, channels=2, amplitude=0.9), rate)
    audio = media.read_audio(path, 16000)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size / 16000 == pytest.approx(1.5, abs=0.06)
    assert fx.dominant_frequency(audio, 16000) == pytest.approx(440, abs=5)
    assert 0.8 < np.abs(audio).max() <= 1.0  # channels averaged, not summed


def test_write_wav(tmp_path):
    path = media.write_wav(tmp_path / "out.wav", fx.sine(440, 0.5, 8000, amplitude=1.5), 8000)
    audio = media.read_audio(path, 8000)
    assert audio.size == 4000 and np.abs(audio).max() == pytest.approx(1.0, abs=1e-3)


# --------------------------------------------------------------------------------------------
# Images


def _png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def test_load_rgba_keeps_alpha(tmp_path):
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    path = tmp_path / "a.png"
    Image.fromarray(rgba).save(path)
    loaded = media.load_image(path)
    assert loaded.source_mode == "RGBA" and (loaded.width, loaded.height) == (7, 5)
    np.testing.assert_array_equal(loaded.rgb, rgba[..., :3])
    np.testing.assert_array_equal(loaded.alpha, rgba[..., 3])


@pytest.mark.parametrize("mode", ["LA", "P", "L", "1", "CMYK", "YCbCr", "RGB"])
def test_load_modes(mode):
    rng = np.random.default_rng(1)
    source = Image.fromarray(rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)).convert(mode)
    loaded = media.load_image(_png(source) if mode in ("LA", "P", "L", "1") else source)
    assert loaded.rgb.shape == (6, 9, 3) and loaded.rgb.dtype == np.uint8
    assert loaded.source_mode == mode
    np.testing.assert_array_equal(loaded.rgb, np.array(source.convert("RGB")))
    assert (loaded.alpha is not None) == (mode == "LA")


def test_load_palette_with_transparency(tmp_path):
    image = Image.new("P", (4, 3), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((0, 0), 0)
    path = tmp_path / "p.png"
    image.save(path, transparency=0)
    loaded = media.load_image(path)
    assert loaded.alpha is not None and loaded.alpha[0, 0] == 0 and loaded.alpha[1, 1] == 255
    assert tuple(loaded.rgb[1, 1]) == (255, 0, 0)


def test_load_16bit_gray_png(tmp_path):
    path = tmp_path / "g16.png"
    Image.fromarray(np.array([[65535, 32768, 0, 256]], np.uint16)).save(path)
    loaded = media.load_image(path)
    assert loaded.source_mode == "I;16"
    np.testing.assert_array_equal(loaded.rgb[0, :, 0], [255, 128, 0, 1])
    np.testing.assert_array_equal(loaded.rgb[..., 0], loaded.rgb[..., 2])


def test_load_16bit_rgb_png_from_cv2(tmp_path):
    bgr = np.random.default_rng(2).integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    path = tmp_path / "rgb16.png"
    cv2.imwrite(str(path), bgr)
    loaded = media.load_image(path)
    np.testing.assert_array_equal(loaded.rgb, (bgr[..., ::-1] >> 8).astype(np.uint8))


def test_load_float_images():
    unit = np.array([[0.0, 0.5, 1.0]], np.float32)
    assert media.load_image(Image.fromarray(unit)).rgb[0, :, 0].tolist() == [0, 128, 255]
    scaled = Image.fromarray(np.array([[0.0, 128.0, 300.0]], np.float32))
    assert media.load_image(scaled).rgb[0, :, 0].tolist() == [0, 128, 255]


def test_load_cmyk_jpeg(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(path, quality=95)
    loaded = media.load_image(path)
    assert loaded.source_mode == "CMYK" and loaded.rgb.shape == (6, 8, 3)
    assert np.abs(loaded.rgb.astype(int) - (255, 0, 0)).max() < 10


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(4, 6, 3)  # 6 wide, 4 high
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # stored sideways: display turned 90 degrees clockwise
    path = tmp_path / "phone.png"
    image.save(path, exif=exif)
    loaded = media.load_image(path)
    assert loaded.rgb.shape == (6, 4, 3)
    np.testing.assert_array_equal(loaded.rgb, np.rot90(pixels, k=-1))


def test_load_arrays():
    gray16 = np.array([[65535, 0]], np.uint16)
    assert media.load_image(gray16).rgb.tolist() == [[[255] * 3, [0] * 3]]
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 3] = 7
    loaded = media.load_image(rgba)
    assert loaded.rgb.shape == (2, 3, 3) and loaded.alpha.tolist() == [[7] * 3] * 2
    assert media.load_image(np.ones((2, 2, 3), np.float64)).rgb.max() == 255
    assert media.load_image(np.ones((2, 2, 1), bool)).rgb.shape == (2, 2, 3)
    with pytest.raises(InputError, match="uint8, uint16"):
        media.load_image(np.ones((2, 2), np.int64))
    with pytest.raises(InputError, match="HxW"):
        media.load_image(np.ones((2, 2, 2), np.uint8))


def test_save_image(tmp_path):
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    png = media.load_image(media.save_image(tmp_path / "a.png", rgb, alpha))
    np.testing.assert_array_equal(png.rgb, rgb)
    np.testing.assert_array_equal(png.alpha, alpha)
    webp = media.load_image(media.save_image(tmp_path / "a.webp", rgb, alpha))
    assert webp.alpha is not None
    jpg = media.load_image(media.save_image(tmp_path / "a.jpg", rgb, alpha))
    assert jpg.alpha is None and jpg.rgb.shape == (5, 7, 3)
    with pytest.raises(InputError, match=".png, .jpg or .webp"):
        media.save_image(tmp_path / "a.bmp", rgb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "a.png", "a.webp"]


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.fixture
def junk(tmp_path, clip) -> dict[str, Path]:
    """Files that are not what their names say."""
    files = {
        "empty.mp4": b"",
        "text.mp4": b"this is not a video\n" * 20,
        "text.png": b"this is not an image\n" * 20,
        "random.mp4": np.random.default_rng(4).integers(0, 256, 4096, np.uint8).tobytes(),
        "truncated.mp4": clip[0].read_bytes()[: clip[0].stat().st_size // 2],
        "truncated.png": _png(Image.new("RGB", (64, 64), "red"))[:60],
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in files}


@pytest.mark.parametrize(("name", "phrase"), [
    ("empty.mp4", "is empty (0 bytes)"),
    ("text.mp4", "not a readable video"),
    ("random.mp4", "not a readable video"),
    ("truncated.mp4", "truncated"),
    ("missing.mp4", "does not exist"),
])
@pytest.mark.parametrize("reader", [media.probe_video, media.read_frames,
                                    lambda p: list(media.iter_frames(p, backend="pyav"))])
def test_bad_videos(junk, tmp_path, name, phrase, reader):
    with pytest.raises(InputError, match=r"Upload") as caught:
        reader(junk.get(name, tmp_path / name))
    assert phrase in str(caught.value)


def test_audio_only_file_is_not_a_video(tmp_path):
    path = fx.write_audio_file(tmp_path / "voice.m4a", fx.sine(220, 0.5, 44100), 44100)
    with pytest.raises(InputError, match="no video stream found.*Upload an MP4"):
        media.probe_video(path)


@pytest.mark.parametrize(("name", "phrase"), [
    ("empty.mp4", "is empty (0 bytes)"),
    ("text.mp4", "not a readable audio file"),
])
def test_bad_audio(junk, name, phrase):
    with pytest.raises(InputError, match="Upload") as caught:
        media.read_audio(junk[name])
    assert phrase in str(caught.value)


def test_video_without_audio_track(clip):
    with pytest.raises(InputError, match="has no audio track. Upload a WAV"):
        media.read_audio(clip[0])


@pytest.mark.parametrize(("name", "phrase"), [
    ("empty.mp4", "is empty (0 bytes)"),
    ("text.png", "not a readable image"),
    ("text.mp4", "not a readable image"),
    ("truncated.png", "not a readable image"),
])
def test_bad_images(junk, name, phrase):
    with pytest.raises(InputError, match="Upload") as caught:
        media.load_image(junk[name])
    assert phrase in str(caught.value)
    with pytest.raises(InputError, match="Upload"):
        media.load_image(junk[name].read_bytes())


def test_truncated_pil_image_object(junk):
    lazy = Image.open(io.BytesIO(junk["truncated.png"].read_bytes()))
    with pytest.raises(InputError, match="not a readable image"):
        media.load_image(lazy)


def test_load_image_rejects_other_types():
    with pytest.raises(InputError, match="Cannot load an image from a int"):
        media.load_image(3)


def test_writer_without_frames(tmp_path):
    with pytest.raises(InputError, match="No frames were written"):
        _write_all(tmp_path / "empty.mp4", [])
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Limits


def test_limits_from_env(monkeypatch):
    assert media.get_limits() == media.Limits()
    monkeypatch.setenv("STUDIO_MAX_PIXELS", "1000")
    monkeypatch.setenv("STUDIO_MAX_SECONDS", "2.5")
    assert media.get_limits() == media.Limits(max_pixels=1000, max_seconds=2.5)


@pytest.mark.parametrize("value", ["abc", "-5", "0", "1.5", "nan"])
def test_invalid_limit_env(monkeypatch, value):
    monkeypatch.setenv("STUDIO_MAX_FRAMES", value)
    with pytest.raises(InputError, match="STUDIO_MAX_FRAMES"):
        media.get_limits()


def test_max_pixels(monkeypatch, tmp_path, clip):
    image = media.save_image(tmp_path / "a.png", np.zeros((48, 64, 3), np.uint8))
    monkeypatch.setenv("STUDIO_MAX_PIXELS", "1000")
    for call in (lambda: media.load_image(image), lambda: media.probe_video(clip[0]),
                 lambda: media.load_image(np.zeros((48, 64), np.uint8))):
        with pytest.raises(LimitExceeded) as caught:
            call()
        assert caught.value.limit == "max_pixels"
        assert "max_pixels" in str(caught.value) and "STUDIO_MAX_PIXELS" in str(caught.value)


def test_frames_beyond_the_header_count_are_limited(clip):
    # Headers can undercount (estimated counts); the decoder itself enforces max_frames.
    info = media.probe_video(clip[0])
    with pytest.raises(LimitExceeded, match="more frames than its header says"):
        list(media._iter_pyav(info, range(0, 10**9), None, max_frames=25))


def test_huge_image_header_is_refused_by_the_pixel_limit(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    path.write_bytes(fx.png_header_only(20_000, 20_000))
    with pytest.raises(LimitExceeded, match="STUDIO_MAX_PIXELS") as caught:
        media.load_image(path)
    assert caught.value.value == 400_000_000
    # A raised limit is enough to open such an image: Pillow's own decompression-bomb guard
    # (twice Image.MAX_IMAGE_PIXELS, 179 M pixels by default) follows the studio's limit, so
    # this header-only file gets as far as decoding and fails there as damaged data.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    with pytest.raises(InputError, match="damaged or truncated") as caught:
        media.load_image(path, limits=media.Limits(max_pixels=10**9))
    assert not isinstance(caught.value, LimitExceeded)
    assert Image.MAX_IMAGE_PIXELS >= 10**9


def test_max_seconds(monkeypatch, tmp_path, clip):
    tone = fx.write_audio_file(tmp_path / "tone.wav", fx.sine(440, 1.5, 8000), 8000)
    monkeypatch.setenv("STUDIO_MAX_SECONDS", "1")
    for call in (lambda: media.probe_video(clip[0]), lambda: media.read_audio(tone)):
        with pytest.raises(LimitExceeded, match="STUDIO_MAX_SECONDS") as caught:
            call()
        assert caught.value.limit == "max_seconds"


def test_max_upload_bytes_and_frames(monkeypatch, clip):
    monkeypatch.setenv("STUDIO_MAX_UPLOAD_BYTES", "100")
    with pytest.raises(LimitExceeded, match="STUDIO_MAX_UPLOAD_BYTES"):
        media.probe_video(clip[0])
    with pytest.raises(LimitExceeded, match="max_upload_bytes"):
        media.load_image(b"x" * 101)
    monkeypatch.delenv("STUDIO_MAX_UPLOAD_BYTES")
    monkeypatch.setenv("STUDIO_MAX_FRAMES", "10")
    with pytest.raises(LimitExceeded, match="STUDIO_MAX_FRAMES"):
        media.probe_video(clip[0])
    limits = media.Limits(max_frames=39)
    with pytest.raises(LimitExceeded, match="max_frames"):
        media.probe_video(clip[0], limits)
    with pytest.raises(LimitExceeded, match="max_frames"):
        media.read_frames(clip[0], stride=10, limits=limits)  # checked before decoding
    assert len(media.read_frames(clip[0], stride=2, limits=media.Limits(max_frames=40))) == 20


# --------------------------------------------------------------------------------------------
# Helpers


def test_helpers():
    assert media.even_size(65, 49) == (66, 50)
    assert media.even_size(64, 48) == (64, 48)
    frame = np.zeros((100, 50, 3), np.uint8)
    assert media.resize_max_side(frame, 40).shape == (40, 20, 3)
    assert media.resize_max_side(frame, 200) is frame
    assert media.resize_max_side(frame, None) is frame


def test_auto_streams_from_the_start_with_pyav_and_seeks_with_decord(clip, monkeypatch):
    """``auto`` reads from the first frame with PyAV (flat memory next to OpenCV's threads) and
    opens decord only for a read that starts later, where its seeking saves decoding."""
    path, _ = clip
    opened = []
    real = media._open_decord
    monkeypatch.setattr(media, "_open_decord", lambda info: opened.append(info) or real(info))
    every = list(media.iter_frames(path, backend="auto", stride=2))
    assert [i for i, _ in every] == list(range(0, 40, 2)) and opened == []
    later = list(media.iter_frames(path, backend="auto", start=30))
    assert [i for i, _ in later] == list(range(30, 40)) and len(opened) == 1
