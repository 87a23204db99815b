"""Super-resolution: classical filter, tiling, tiny Swin2SR and ESRGAN checkpoints, jobs, CLI."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from PIL import Image

import cli
from metrics.image import psnr
from pipelines.catalog import build_registry
from pipelines.errors import InputError, LimitExceeded, StudioError
from pipelines.media import load_image, probe_video, read_audio, write_video
from pipelines.registry import Registry
from pipelines.super_res.job import ImageJob, VideoJob, run_image, run_video
from pipelines.super_res.specs import SPECS
from pipelines.super_res.tiling import TilePlan, axis_tiles, plan_tiles, ramp, upscale_tiled
from pipelines.super_res.types import UpscaleRequest
from tests.media_fixtures import moving_frames, sine, write_audio_file
from tests.super_res_fixtures import (
    compact_state_dict,
    rrdbnet_state_dict,
    save_checkpoint,
    tiny_swin2sr,
)

RNG = np.random.default_rng(0)


def astronaut(size: int = 128) -> np.ndarray:
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)


def noise_image(width: int, height: int) -> np.ndarray:
    return RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.fixture
def registry() -> Registry:
    return Registry(SPECS)


# --------------------------------------------------------------------------------------------
# Specs


def test_specs_are_registered_with_real_repos_and_exact_files():
    registry = build_registry()
    specs = {s.id: s for s in registry.by_task("super_res")}
    assert registry.default("super_res").id == "super_res.classical"
    assert specs["super_res.swin2sr-x2"].repo_id == "caidas/swin2SR-classical-sr-x2-64"
    assert "model.safetensors" in specs["super_res.swin2sr-x2"].files
    assert "pytorch_model.bin" in specs["super_res.swin2sr-realworld-x4"].files
    for name in ("RealESRGAN_x4plus.pth", "RealESRGAN_x2plus.pth", "realesr-animevideov3.pth"):
        assert any(s.files == (name,) and s.kind == "spandrel" for s in specs.values())
    assert all(not s.needs_gpu for s in specs.values())


def test_backend_short_names_resolve(registry):
    assert registry.resolve("super_res", "classical").id == "super_res.classical"
    assert registry.resolve("super_res", None).id == "super_res.classical"
    assert registry.resolve("super_res", "super_res.swin2sr-x2").id == "super_res.swin2sr-x2"
    with pytest.raises(StudioError, match="Unknown backend"):
        registry.resolve("super_res", "nope")


# --------------------------------------------------------------------------------------------
# Classical backend


def test_classical_x2_beats_nearest_and_bilinear(registry):
    import cv2

    high = astronaut(256)
    low = cv2.resize(high, (128, 128), interpolation=cv2.INTER_AREA)
    with registry.pinned("super_res.classical") as runner:
        ours = runner(UpscaleRequest([low], 2.0)).frames[0]
    nearest = cv2.resize(low, (256, 256), interpolation=cv2.INTER_NEAREST)
    bilinear = cv2.resize(low, (256, 256), interpolation=cv2.INTER_LINEAR)
    assert ours.shape == high.shape and ours.dtype == np.uint8
    assert psnr(ours, high) > psnr(bilinear, high) > psnr(nearest, high)


def test_classical_sharpening_adds_no_halo_and_spares_flat_areas():
    import cv2

    from pipelines.super_res.classical import sharpen_upscale

    step = np.full((32, 32, 3), 60, np.uint8)
    step[:, 16:] = 190
    flat = np.clip(128 + RNG.normal(0, 1.0, (32, 32, 3)), 0, 255).astype(np.uint8)
    for image in (step, flat):
        lanczos = cv2.resize(image, (96, 96), interpolation=cv2.INTER_LANCZOS4)
        ours = sharpen_upscale(image, (96, 96))
        assert ours.max() <= lanczos.max() and ours.min() >= lanczos.min()  # no new overshoot
    # Faint noise on a flat area is not amplified.
    lanczos = cv2.resize(flat, (96, 96), interpolation=cv2.INTER_LANCZOS4).astype(float)
    assert sharpen_upscale(flat, (96, 96)).astype(float).std() <= lanczos.std() * 1.02
    # The edge does get steeper than plain Lanczos.
    ours = sharpen_upscale(step, (96, 96)).astype(float)
    lanczos = cv2.resize(step, (96, 96), interpolation=cv2.INTER_LANCZOS4).astype(float)
    assert np.abs(np.diff(ours[48, :, 0])).max() > np.abs(np.diff(lanczos[48, :, 0])).max()


@pytest.mark.parametrize(("scale", "size"), [(1.5, (45, 30)), (3.3, (99, 66)), (8, (240, 160))])
def test_classical_any_scale(registry, scale, size):
    with registry.pinned("super_res.classical") as runner:
        out = runner(UpscaleRequest([noise_image(30, 20)], scale)).frames[0]
    assert out.shape == (size[1], size[0], 3)


# --------------------------------------------------------------------------------------------
# Tiling


@pytest.mark.parametrize(("length", "tile", "overlap", "align"),
                         [(256, 128, 16, 1), (256, 200, 16, 1), (100, 32, 8, 4), (97, 40, 10, 1),
                          (64, 64, 16, 8), (1000, 96, 32, 8)])
def test_axis_tiles_cover_align_and_overlap(length, tile, overlap, align):
    length = -(-length // align) * align
    size, starts = axis_tiles(length, tile, overlap, align)
    assert size <= tile or starts == [0]
    assert starts[0] == 0 and starts[-1] + size == length
    assert all(s % align == 0 for s in starts) and size % align == 0
    for a, b in itertools.pairwise(starts):
        assert a + size - b >= overlap  # neighbours overlap by at least the request


def test_ramps_of_neighbours_sum_to_one():
    overlap = 32
    lead = ramp(64, True, False, overlap)
    trail = ramp(64, False, True, overlap)
    # Two tiles of 64 overlapping by exactly 32: trail end of one meets lead start of the next.
    total = trail[-overlap:] + lead[:overlap]
    torch.testing.assert_close(total, torch.ones(overlap))
    assert lead[: overlap // 4].abs().max() == 0  # the corrupted border is discarded


def test_tiled_equals_untiled_for_a_conv_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 12, 3, padding=1), torch.nn.PixelShuffle(2),
    ).eval()  # fmt: skip
    images = torch.rand(2, 3, 70, 90)
    with torch.inference_mode():
        whole = upscale_tiled(images, model, 2, TilePlan(None, 16, 2))
        tiled = upscale_tiled(images, model, 2, TilePlan(32, 16, 3))
    assert tiled.shape == whole.shape == (2, 3, 140, 180)
    assert (tiled - whole).abs().max() < 1e-3


def test_plan_uses_whole_frames_when_memory_allows_and_tiles_otherwise():
    roomy = plan_tiles(640, 360, 8, bytes_per_pixel=1000, free_bytes=64 << 30, overlap=16,
                       align=4, max_batch=4)
    assert roomy.tile is None and roomy.batch == 4
    tight = plan_tiles(640, 360, 1, bytes_per_pixel=1000, free_bytes=100 << 20, overlap=16,
                       align=4)
    assert tight.tile is not None and tight.tile % 4 == 0
    assert tight.tile**2 * 1000 * tight.batch <= 50 << 20
    forced = plan_tiles(640, 360, 1, bytes_per_pixel=1, free_bytes=1 << 40, overlap=16, tile=130,
                        align=8)
    assert forced.tile == 136  # rounded up to the alignment


# --------------------------------------------------------------------------------------------
# Tiny checkpoints through the registry


@pytest.fixture
def esrgan_registry(registry, tmp_path):
    save_checkpoint(tmp_path / "x4", "RealESRGAN_x4plus.pth", rrdbnet_state_dict())
    save_checkpoint(tmp_path / "x2", "RealESRGAN_x2plus.pth", rrdbnet_state_dict(unshuffle=2))
    save_checkpoint(tmp_path / "anime", "realesr-animevideov3.pth", compact_state_dict(scale=4))
    registry.replace("super_res.realesrgan-x4plus", repo_id=str(tmp_path / "x4"))
    registry.replace("super_res.realesrgan-x2plus", repo_id=str(tmp_path / "x2"))
    registry.replace("super_res.realesr-animevideov3", repo_id=str(tmp_path / "anime"))
    return registry


@pytest.mark.parametrize(("spec_id", "native"), [("super_res.realesrgan-x4plus", 4),
                                                 ("super_res.realesrgan-x2plus", 2),
                                                 ("super_res.realesr-animevideov3", 4)])
def test_esrgan_family_checkpoints_load_through_spandrel(esrgan_registry, spec_id, native):
    with esrgan_registry.pinned(spec_id) as runner:
        result = runner(UpscaleRequest([noise_image(23, 17)], float(native)))
        assert type(runner.descriptor.model).__name__ in ("RRDBNet", "SRVGGNetCompact")
    assert result.native_scale == native
    assert result.frames[0].shape == (17 * native, 23 * native, 3)
    assert result.frames[0].std() > 0  # a real image, not a constant


def test_spandrel_runner_tiles_like_it_runs_whole(tmp_path, registry):
    # Compact with one body convolution: 3 convolutions, a receptive radius of 3 input pixels.
    save_checkpoint(tmp_path / "c", "realesr-animevideov3.pth", compact_state_dict(scale=2))
    registry.replace("super_res.realesr-animevideov3", repo_id=str(tmp_path / "c"))
    image = noise_image(60, 44)
    with registry.pinned("super_res.realesr-animevideov3") as runner:
        whole = runner(UpscaleRequest([image], 2.0))
        tiled = runner(UpscaleRequest([image], 2.0, tile=36, overlap=16))
    assert whole.tile is None and tiled.tiles_per_frame > 1
    diff = np.abs(whole.frames[0].astype(int) - tiled.frames[0].astype(int))
    assert diff.max() <= 1  # equal up to rounding to 8 bits


def test_esrgan_resamples_to_any_scale(esrgan_registry):
    with esrgan_registry.pinned("super_res.realesrgan-x4plus") as runner:
        result = runner(UpscaleRequest([noise_image(20, 10)], 3.0))
    assert result.native_scale == 4 and result.frames[0].shape == (30, 60, 3)


def test_safetensors_checkpoint_loads(tmp_path, registry):
    save_checkpoint(tmp_path / "st", "model.safetensors", rrdbnet_state_dict())
    registry.replace("super_res.realesrgan-x4plus", repo_id=str(tmp_path / "st"),
                     files=("model.safetensors",), urls={}, sha256={})  # a local folder
    with registry.pinned("super_res.realesrgan-x4plus") as runner:
        assert runner(UpscaleRequest([noise_image(8, 8)], 4.0)).frames[0].shape == (32, 32, 3)


class Payload:
    """Not a tensor: a weights-only load must refuse a pickle that holds this."""


def test_pickles_with_code_are_refused(tmp_path, registry):
    checkpoint = rrdbnet_state_dict()
    checkpoint["extra"] = Payload()
    save_checkpoint(tmp_path / "bad", "RealESRGAN_x4plus.pth", checkpoint)
    registry.replace("super_res.realesrgan-x4plus", repo_id=str(tmp_path / "bad"))
    with pytest.raises(StudioError, match="holds more than tensors"):
        registry.load("super_res.realesrgan-x4plus")


def test_missing_weights_name_the_fetch_command(registry):
    with pytest.raises(StudioError, match="python cli.py fetch super_res.realesrgan-x4plus"):
        registry.load("super_res.realesrgan-x4plus")


@pytest.mark.parametrize(("spec_id", "native", "upsampler", "weights"), [
    ("super_res.swin2sr-x2", 2, "pixelshuffle", "model.safetensors"),
    ("super_res.swin2sr-realworld-x4", 4, "nearest+conv", "pytorch_model.bin"),
])  # fmt: skip
def test_tiny_swin2sr_round_trip(registry, tmp_path, spec_id, native, upsampler, weights):
    folder = tiny_swin2sr(tmp_path / "swin", native, upsampler, weights)
    registry.replace(spec_id, repo_id=str(folder))
    image = noise_image(30, 21)
    with registry.pinned(spec_id) as runner:
        whole = runner(UpscaleRequest([image, image], float(native)))
        tiled = runner(UpscaleRequest([image], float(native), tile=16, overlap=4))
        other = runner(UpscaleRequest([image], 3.0))
    assert runner.align == 4 and whole.native_scale == native
    assert [f.shape for f in whole.frames] == [(21 * native, 30 * native, 3)] * 2
    assert tiled.tiles_per_frame > 1 and tiled.frames[0].shape == whole.frames[0].shape
    assert other.frames[0].shape == (63, 90, 3)
    # Window attention sees other context in a tile; blending keeps the result close anyway.
    assert np.abs(tiled.frames[0].astype(int) - whole.frames[0].astype(int)).mean() < 8


# --------------------------------------------------------------------------------------------
# Image jobs


def save_png(path, array, mode=None):
    Image.fromarray(array, mode).save(path)
    return path


def test_image_job_writes_output_manifest_and_keeps_alpha(registry, tmp_path):
    rgba = np.dstack([noise_image(40, 30), np.zeros((30, 40), np.uint8)])
    rgba[:, 20:, 3] = 255
    source = save_png(tmp_path / "in.png", rgba)
    result = run_image(registry, ImageJob(source, "classical", 2.0, fmt="png"))
    saved = Image.open(result.output)
    assert saved.mode == "RGBA" and saved.size == (80, 60)
    alpha = np.asarray(saved)[..., 3]
    assert alpha[:, :36].max() == 0 and alpha[:, 44:].min() == 255
    assert result.before.shape == result.after.shape == (60, 80, 3)
    manifest = (result.run_dir / "manifest.json").read_text()
    assert '"spec_id": "super_res.classical"' in manifest and "upscaled.png" in manifest
    jpg = run_image(registry, ImageJob(source, "classical", 2.0, fmt="jpg"))
    assert Image.open(jpg.output).mode == "RGB"
    assert any("transparency was dropped" in n for n in jpg.notes)


def test_reference_metrics_and_self_check(registry, tmp_path):
    import cv2

    high = astronaut(128)
    low = cv2.resize(high, (64, 64), interpolation=cv2.INTER_AREA)
    source, reference = save_png(tmp_path / "low.png", low), save_png(tmp_path / "hi.png", high)
    scored = run_image(registry, ImageJob(source, "classical", 2.0, reference=reference))
    metrics = scored.metrics
    assert metrics["mode"] == "reference" and metrics["compared"] == "128x128"
    assert metrics["psnr"] == pytest.approx(psnr(scored.after, high), abs=1e-3)
    assert 20 < metrics["psnr"] < 60 and 0.5 < metrics["ssim"] <= 1
    assert metrics["lpips"] is None and "AlexNet" in metrics["lpips_note"]
    checked = run_image(registry, ImageJob(reference, "classical", 2.0, self_check=True))
    assert checked.metrics["mode"] == "self-check" and checked.metrics["psnr"] > 20
    with pytest.raises(InputError, match="reference image is 128x128 but the result is 256x256"):
        run_image(registry, ImageJob(reference, "classical", 2.0, reference=reference))


def test_bad_images_get_clear_messages(registry, tmp_path, monkeypatch):
    tiny = save_png(tmp_path / "one.png", np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(InputError, match=r"1x1 pixels; super-resolution needs at least 4x4"):
        run_image(registry, ImageJob(tiny))
    with pytest.raises(InputError, match="scale must be a number from 1 to 8"):
        run_image(registry, ImageJob(tiny, scale=12))
    monkeypatch.setenv("STUDIO_MAX_PIXELS", "10000")
    small = save_png(tmp_path / "small.png", noise_image(40, 40))
    with pytest.raises(LimitExceeded, match=r"max_pixels.*160x160.*scale of at most 2\.5"):
        run_image(registry, ImageJob(small, scale=4))


def test_sixteen_bit_and_cmyk_images_are_converted_with_a_note(registry, tmp_path):
    deep = tmp_path / "deep.png"
    Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 20).astype(np.uint16)).save(deep)
    assert load_image(deep).source_mode.startswith("I")
    cmyk = tmp_path / "print.jpg"
    Image.fromarray(noise_image(32, 24)).convert("CMYK").save(cmyk)
    for source, word in ((deep, "16 bits"), (cmyk, "CMYK")):
        result = run_image(registry, ImageJob(source, scale=2))
        assert result.output_size == (Image.open(source).width * 2, Image.open(source).height * 2)
        assert any(word in note for note in result.notes)


# --------------------------------------------------------------------------------------------
# Video jobs


@pytest.fixture
def clip_with_audio(tmp_path):
    path = tmp_path / "clip.mp4"
    write_video(path, moving_frames(12, 32, 24), 12, audio_samples=(sine(440, 1.0, 16000), 16000))
    return path


@pytest.mark.parametrize("backend", ["classical", "realesr-animevideov3"])
def test_video_keeps_frames_fps_and_audio(esrgan_registry, clip_with_audio, backend):
    reports = []
    result = run_video(esrgan_registry, VideoJob(clip_with_audio, backend, 2.0),
                       lambda f, d="": reports.append((f, d)))
    info = probe_video(result.output)
    assert (info.frame_count, info.fps, info.has_audio) == (12, 12.0, True)
    assert (info.width, info.height) == (64, 48) == result.output_size
    assert info.video_codec == "h264"
    source_audio, output_audio = read_audio(clip_with_audio), read_audio(result.output)
    assert abs(len(output_audio) - len(source_audio)) < 0.1 * 16000
    assert any("ETA" in desc for _, desc in reports) and reports[-1][0] == 1.0
    assert result.frames == 12 and result.frames_per_second > 0


def test_video_without_frames_is_a_clear_error(registry, tmp_path):
    audio_only = write_audio_file(tmp_path / "voice.m4a", sine(300, 0.5, 16000), 16000)
    with pytest.raises(InputError, match="no video stream"):
        run_video(registry, VideoJob(audio_only))


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_upscales_an_image_and_a_video(tmp_path, clip_with_audio, capsys, registry):
    source = save_png(tmp_path / "in.png", noise_image(20, 16))
    out = tmp_path / "out" / "big.webp"
    assert cli.main(["upscale", str(source), "--backend", "classical", "--scale", "3",
                     "-o", str(out)], registry=registry) == 0
    assert Image.open(out).size == (60, 48) and Image.open(out).format == "WEBP"
    video_out = tmp_path / "big.mp4"
    assert cli.main(["upscale", str(clip_with_audio), "--scale", "2", "-o", str(video_out)],
                    registry=registry) == 0
    assert probe_video(video_out).frame_count == 12
    assert "audio kept" in capsys.readouterr().out


def test_cli_reports_bad_input_in_one_sentence(tmp_path, capsys, registry):
    tiny = save_png(tmp_path / "one.png", np.zeros((2, 2, 3), np.uint8))
    assert cli.main(["upscale", str(tiny), "-o", str(tmp_path / "x.png")], registry=registry) == 2
    assert "at least 4x4" in capsys.readouterr().err
