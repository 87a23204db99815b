"""Style transfer: colour transfer, temporal consistency, cuts, AdaIN checkpoints, video metrics."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data
from skimage.metrics import structural_similarity

from metrics.video import (
    estimate_flow,
    flicker_index,
    frame_ssim,
    motion_magnitude,
    occlusion_mask,
    temporal_scores,
    warping_error,
)
from pipelines.catalog import build_registry
from pipelines.errors import InputError, StudioError, WeightsUnavailable
from pipelines.media import load_image, probe_video, read_frames, save_image, write_video
from pipelines.style import colour
from pipelines.style.classical import ClassicalStyle, make_stylizer
from pipelines.style.temporal import CutGate, TemporalBlender
from pipelines.style.types import StyleRequest
from tests.style_fixtures import panning_frames, style_image, write_panning_video

CONTENT = data.astronaut()[::4, ::4].copy()  # 128x128
STYLE = data.coffee()[::4, ::4].copy()


def lab_mean(rgb: np.ndarray) -> np.ndarray:
    return colour.to_lab(rgb).reshape(-1, 3).mean(axis=0)


# -- metrics/video ---------------------------------------------------------------------------


def shift_pair(dx: int = 5, dy: int = 3):
    prev = CONTENT
    cur = np.roll(prev, (dy, dx), axis=(0, 1))  # content moves right/down
    flow = np.zeros((*prev.shape[:2], 2), np.float32)
    flow[..., 0], flow[..., 1] = -dx, -dy  # cur(x) = prev(x - d)
    return prev, cur, flow


def test_warping_error_is_zero_for_an_exact_integer_translation_and_grows_with_noise():
    prev, cur, flow = shift_pair()
    assert warping_error(prev, cur, flow) == 0.0
    rng = np.random.default_rng(0)
    errors = []
    for sigma in (4, 12, 30):
        noisy = np.clip(cur + rng.normal(0, sigma, cur.shape), 0, 255).astype(np.uint8)
        errors.append(warping_error(prev, noisy, flow))
    assert 0 < errors[0] < errors[1] < errors[2]
    assert flicker_index(prev, prev) == 0.0
    darker = (prev * 0.8).astype(np.uint8)
    assert flicker_index(prev, darker) > flicker_index(prev, (prev * 0.95).astype(np.uint8)) > 0
    assert motion_magnitude(flow) == pytest.approx(np.hypot(5, 3))


def test_estimated_flow_and_occlusion_mask_find_the_translation():
    prev, cur, _ = shift_pair()
    backward, forward = estimate_flow(cur, prev), estimate_flow(prev, cur)
    mask = occlusion_mask(backward, forward)
    assert mask.mean() > 0.8
    assert np.median(backward[mask][:, 0]) == pytest.approx(-5, abs=0.3)
    assert warping_error(prev, cur, backward, mask) < 0.002
    assert frame_ssim(prev, prev) == pytest.approx(1.0)
    scores = temporal_scores([prev, cur]).summary()
    assert set(scores) == {"warping_error", "flicker", "motion", "ssim"}
    assert scores["motion"] == pytest.approx(np.hypot(5, 3), abs=0.5)


# -- colour transfer -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["reinhard", "histogram"])
def test_colour_transfer_moves_colour_and_keeps_structure(method):
    request = StyleRequest("c.png", "s.png", "o.png", method=method, strength=1.0)
    out = make_stylizer([STYLE], request)(CONTENT)
    assert out.shape == CONTENT.shape and out.dtype == np.uint8
    start, goal, got = lab_mean(CONTENT), lab_mean(STYLE), lab_mean(out)
    assert np.linalg.norm(got - start) >= 0.5 * np.linalg.norm(goal - start)
    lum_in, lum_out = colour.to_lab(CONTENT)[..., 0], colour.to_lab(out)[..., 0]
    assert structural_similarity(lum_in, lum_out, data_range=100) >= 0.8


def test_strength_keep_colours_and_two_styles():
    base = dict(content="c.png", style="s.png", output="o.png", method="reinhard")
    zero = make_stylizer([STYLE], StyleRequest(**base, strength=0.0))(CONTENT)
    np.testing.assert_array_equal(zero, CONTENT)
    kept = make_stylizer([STYLE], StyleRequest(**base, strength=1.0, keep_colours=True))(CONTENT)
    ab_in, ab_kept = colour.to_lab(CONTENT)[..., 1:], colour.to_lab(kept)[..., 1:]
    full = make_stylizer([STYLE], StyleRequest(**base, strength=1.0))(CONTENT)
    ab_full = colour.to_lab(full)[..., 1:]
    assert np.abs(ab_kept - ab_in).mean() < 0.3 * np.abs(ab_full - ab_in).mean()
    other = data.rocket()[::4, ::4].copy()
    one = make_stylizer([STYLE, other], StyleRequest(**base, strength=1.0, mix=0.0))(CONTENT)
    np.testing.assert_array_equal(one, full)
    half = make_stylizer([STYLE, other], StyleRequest(**base, strength=1.0, mix=0.5))(CONTENT)
    assert not np.array_equal(half, full)


@pytest.mark.parametrize("method", ["painting", "cartoon", "pencil"])
def test_painterly_presets(method):
    out = make_stylizer([STYLE], StyleRequest("c", "s", "o", method=method, strength=1.0))(CONTENT)
    assert out.shape == CONTENT.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - CONTENT).mean() > 5


def test_bad_settings_and_inputs_are_clear(tmp_path):
    with pytest.raises(InputError, match="strength"):
        StyleRequest("c.png", "s.png", "o.png", strength=2.0).validate()
    with pytest.raises(InputError, match="method"):
        StyleRequest("c.png", "s.png", "o.png", method="oil").validate()
    content = save_image(tmp_path / "c.png", CONTENT)
    with pytest.raises(InputError, match="does not exist"):
        ClassicalStyle()(StyleRequest(content, tmp_path / "missing.png", tmp_path / "o.png"))


def test_tiny_grey_style_and_mismatched_sizes_give_a_result_and_notes(tmp_path):
    content = save_image(tmp_path / "c.png", data.chelsea()[::3, ::3].copy())  # 151x100
    grey = np.repeat(data.camera()[::128, ::128, None], 3, axis=2)  # 4x4 grey
    style = save_image(tmp_path / "s.png", grey)
    result = ClassicalStyle()(StyleRequest(content, style, tmp_path / "o.png", strength=1.0))
    out = load_image(result.output).rgb
    assert out.shape == (100, 151, 3)
    assert np.abs(colour.to_lab(out)[..., 1:]).mean() < 3  # grey style: grey result
    assert any("enlarged" in n for n in result.notes)
    assert any("greyscale" in n for n in result.notes)


# -- temporal consistency ------------------------------------------------------------------


def stylised_stream(frames, consistent: bool, method: str = "cartoon"):
    stylize = make_stylizer([STYLE], StyleRequest("c", "s", "o", method=method, strength=1.0))
    blender = TemporalBlender(0.7)
    raw = [stylize(f) for f in frames]
    return raw, [blender(f, r) for f, r in zip(frames, raw, strict=True)] if consistent else raw


def test_consistency_lowers_warping_error_on_a_panning_video():
    frames = list(panning_frames(16))
    raw, out = stylised_stream(frames, consistent=True)
    before = temporal_scores(raw, frames).summary()
    after = temporal_scores(out, frames).summary()
    assert after["warping_error"] <= 0.6 * before["warping_error"]
    assert after["flicker"] < before["flicker"]


def test_cut_gate_resets_the_blend_exactly_at_a_hard_cut():
    frames = list(panning_frames(30, cut_at=15))
    stylize = make_stylizer([STYLE], StyleRequest("c", "s", "o", method="reinhard"))
    gate, blender = CutGate(), TemporalBlender(0.9)
    released, outputs = [], {}
    for index, frame in enumerate(frames):
        raw = stylize(frame)
        released += gate.push(index, frame, (frame, raw))
    released += gate.flush()
    assert [i for i, _, _ in released] == list(range(30))  # in order, each once
    for index, (frame, raw), cut in released:
        outputs[index] = (raw, blender(frame, raw, cut))
    assert sorted(gate.cuts) == [15] and gate.late_cuts == []
    raw, out = outputs[15]
    np.testing.assert_array_equal(out, raw)  # nothing of the old shot blended in
    raw, out = outputs[16]
    assert not np.array_equal(out, raw)  # blending resumes inside the new shot


def test_video_run_keeps_audio_reports_cuts_and_lowers_warping_error(tmp_path):
    rate = 16000
    tone = 0.2 * np.sin(2 * np.pi * 440 * np.arange(2 * rate) / rate).astype(np.float32)
    video = write_video(tmp_path / "pan.mp4", panning_frames(24, cut_at=12), 12.0,
                        audio_samples=(tone, rate))
    style = style_image(tmp_path / "style.png")
    request = StyleRequest(video, style, tmp_path / "out.mp4", method="cartoon")
    result = ClassicalStyle()(request)
    info = probe_video(result.output)
    assert info.has_audio and info.audio_codec == "aac" and info.video_codec == "h264"
    assert result.frames == 24 and (info.width, info.height) == (160, 96)
    assert result.cuts == [12]
    assert result.after["warping_error"] <= 0.6 * result.before["warping_error"]
    per_frame = ClassicalStyle()(StyleRequest(video, style, tmp_path / "raw.mp4",
                                              method="cartoon", consistent=False))
    assert per_frame.after == per_frame.before == result.before
    assert len(read_frames(result.output)) == 24


def test_video_output_needs_an_mp4_name(tmp_path):
    video = write_panning_video(tmp_path / "pan.mp4", frames=4)
    style = style_image(tmp_path / "style.png")
    with pytest.raises(InputError, match="MP4"):
        ClassicalStyle()(StyleRequest(video, style, tmp_path / "out.png"))


# -- AdaIN ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def adain_checkpoint(tmp_path_factory):
    """Random weights in the published files' layout (vgg_normalised.pth holds more layers)."""
    import torch

    from pipelines.style.adain import build_decoder, build_encoder

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("adain")
    encoder, decoder = build_encoder(), build_decoder()
    state = encoder.state_dict()
    state["32.weight"] = torch.zeros(512, 512, 3, 3)  # relu4_2 and beyond: present, unused
    state["32.bias"] = torch.zeros(512)
    torch.save(state, folder / "vgg_normalised.pth")
    torch.save(decoder.state_dict(), folder / "decoder.pth")
    return folder, encoder, decoder


def test_adain_layers_have_the_published_shapes():
    from pipelines.style.adain import build_decoder, build_encoder

    enc, dec = build_encoder().state_dict(), build_decoder().state_dict()
    assert [k for k in enc if k.endswith("weight")] == [
        f"{i}.weight" for i in (0, 2, 5, 9, 12, 16, 19, 22, 25, 29)]
    assert tuple(enc["0.weight"].shape) == (3, 3, 1, 1)
    assert tuple(enc["29.weight"].shape) == (512, 256, 3, 3)
    assert [k for k in dec if k.endswith("weight")] == [
        f"{i}.weight" for i in (1, 5, 8, 11, 14, 18, 21, 25, 28)]
    assert tuple(dec["1.weight"].shape) == (256, 512, 3, 3)
    assert tuple(dec["28.weight"].shape) == (3, 64, 3, 3)


def test_adain_round_trips_through_the_registry(adain_checkpoint, tmp_path):
    import torch

    folder, encoder, decoder = adain_checkpoint
    registry = build_registry()
    spec = registry.replace("style.adain", repo_id=str(folder))
    assert spec.files == ("vgg_normalised.pth", "decoder.pth")
    runner = registry.load(spec.id)
    for name, module in runner.modules().items():
        reference = {"encoder": encoder, "decoder": decoder}[name]
        for key, value in reference.state_dict().items():
            torch.testing.assert_close(module.state_dict()[key], value)
    content = save_image(tmp_path / "c.png", data.chelsea()[::8, ::8].copy())  # 38x57: padded
    style = save_image(tmp_path / "s.png", STYLE[::2, ::2].copy())
    second = save_image(tmp_path / "s2.png", data.rocket()[::16, ::16].copy())
    first = runner(StyleRequest(content, style, tmp_path / "a.png", strength=1.0))
    again = runner(StyleRequest(content, style, tmp_path / "b.png", strength=1.0))
    mixed = runner(StyleRequest(content, style, tmp_path / "m.png", style2=second, mix=0.5,
                                keep_colours=True))
    a, b = load_image(first.output).rgb, load_image(again.output).rgb
    assert a.shape == (38, 57, 3)
    np.testing.assert_array_equal(a, b)
    assert load_image(mixed.output).rgb.shape == (38, 57, 3)


def test_adain_rejects_a_checkpoint_of_another_layout(tmp_path):
    import torch

    from pipelines.style.adain import build_decoder

    torch.save({"0.weight": torch.zeros(3, 3, 1, 1)}, tmp_path / "vgg_normalised.pth")
    torch.save(build_decoder().state_dict(), tmp_path / "decoder.pth")
    registry = build_registry()
    registry.replace("style.adain", repo_id=str(tmp_path))
    with pytest.raises(StudioError, match="published layout"):
        registry.load("style.adain")


def test_adain_without_weights_is_unavailable():
    with pytest.raises(WeightsUnavailable, match=r"cli.py fetch style.adain"):
        build_registry().load("style.adain")
