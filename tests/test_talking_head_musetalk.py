"""MuseTalk 1.5: the UNet's config and strict state dict, Whisper windows, the lower-face blend,
and the talking-heads job through ``cli.py talk`` on the CPU.

No real weights here: every repo of the spec (TMElyralab/MuseTalk and its companions
stabilityai/sd-vae-ft-mse and openai/whisper-tiny) is rebuilt tiny in its real layout and placed
in a Hugging Face cache under its real repo id, so the registry finds, loads and runs them as it
would the published files.
"""

from __future__ import annotations

import json

import huggingface_hub
import numpy as np
import pytest
import torch

import cli
from pipelines import media
from pipelines.catalog import build_registry
from pipelines.errors import StudioError, WeightsUnavailable
from pipelines.faces import Box
from pipelines.talking_head import musetalk as mt
from tests.i2v_fixtures import hub_snapshot
from tests.talking_head_fixtures import landscape, modulated_voice, portrait, write_wav

SPEC = "talking_head.musetalk-1.5"
WIDTH = 32  # the tiny Whisper's width, and so the tiny UNet's cross-attention width
LAYERS = 2  # tiny Whisper encoder layers: 3 hidden states with the embedding output

# The published config's values that fix the shapes the checkpoint must have (the public
# repo's UNet config; our tiny config keeps its kinds of blocks and changes the sizes).
PUBLISHED_UNET = {
    "_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": False,
    "cross_attention_dim": 384, "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 8,
    "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32,
    "out_channels": 4, "sample_size": 64,
    "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
}
TINY_UNET = {
    **PUBLISHED_UNET, "block_out_channels": [16, 32], "cross_attention_dim": WIDTH,
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "layers_per_block": 1,
    "norm_num_groups": 8, "sample_size": 32, "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
}


def _tiny_repos(cache) -> dict:
    """The three repos, tiny, in the cache; returns the UNet state dict that was saved."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    torch.manual_seed(0)
    muse = hub_snapshot(cache, "TMElyralab/MuseTalk") / "musetalkV15"
    muse.mkdir(parents=True)
    (muse / "musetalk.json").write_text(json.dumps(TINY_UNET, indent=2))
    unet = UNet2DConditionModel.from_config(TINY_UNET)
    state = unet.state_dict()
    torch.save(state, muse / "unet.pth")
    # a VAE with four levels: 256x256 crops become 4x32x32 latents, as with sd-vae-ft-mse
    vae = AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(8,) * 4,
                        layers_per_block=1, latent_channels=4, norm_num_groups=4,
                        sample_size=256)
    vae.save_pretrained(hub_snapshot(cache, mt.VAE_REPO))
    # Whisper with 1-second segments (100 mel frames -> 50 feature frames a second)
    config = WhisperConfig(vocab_size=64, d_model=WIDTH, encoder_layers=LAYERS,
                           decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
                           encoder_ffn_dim=64, decoder_ffn_dim=64, max_source_positions=50,
                           max_target_positions=16, pad_token_id=0, bos_token_id=1,
                           eos_token_id=2, decoder_start_token_id=1)
    whisper = hub_snapshot(cache, mt.WHISPER_REPO)
    WhisperModel(config).save_pretrained(whisper)
    WhisperFeatureExtractor(feature_size=80, chunk_length=1).save_pretrained(whisper)
    return state


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("hf") / "hub"
    state = _tiny_repos(cache)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
        patch.setenv("HF_HUB_CACHE", str(cache))
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield cache, state


@pytest.fixture(scope="module")
def runner(hub_cache):
    return build_registry().load(SPEC)


def test_the_published_config_builds_the_unet_the_checkpoint_holds():
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(PUBLISHED_UNET)
    shapes = {k: tuple(v.shape) for k, v in unet.state_dict().items()}
    assert shapes["conv_in.weight"] == (320, 8, 3, 3)  # masked + reference latents
    assert shapes["conv_out.weight"] == (4, 320, 3, 3)
    assert shapes["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"] == (320, 384)
    assert shapes["mid_block.attentions.0.transformer_blocks.0.attn2.to_v.weight"] == (1280, 384)
    assert 800e6 < sum(p.numel() for p in unet.parameters()) < 900e6


def test_unet_state_dict_loads_strictly(hub_cache, runner, tmp_path):
    _, state = hub_cache
    assert runner.device == "cpu" and runner.dtype == "float32"
    loaded = runner.unet.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    assert not any(t.is_meta for t in (*runner.unet.parameters(), *runner.unet.buffers()))
    config = tmp_path / "musetalk.json"
    config.write_text(json.dumps(TINY_UNET))
    partial = dict(state)
    partial.pop("conv_out.bias")
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(StudioError, match="does not hold the weights"):
        mt.load_unet(config, tmp_path / "partial.pth", "cpu", "float32")
    torch.save({"x": torch.nn.Linear(1, 1)}, tmp_path / "pickled.pth")
    with pytest.raises(StudioError, match="not a MuseTalk UNet checkpoint"):  # weights_only
        mt.load_unet(config, tmp_path / "pickled.pth", "cpu", "float32")


def test_whisper_windows(runner):
    samples, _ = modulated_voice(1.5)  # two 1-second segments of the tiny extractor
    windows = mt.AudioWindows(samples, runner.extractor, runner.encoder, "cpu", torch.float32,
                              25.0)
    assert (windows.per_segment, windows.step, windows.valid) == (50, 2.0, 75)
    full = np.concatenate([windows._segment(0), windows._segment(1)])
    assert full.shape == (100, LAYERS + 1, WIDTH)
    first = windows.window(0)
    assert first.shape == (10, LAYERS + 1, WIDTH)
    assert not first[:4].any() and np.allclose(first[4:], full[:6], atol=1e-5)
    across = windows.window(24)  # feature frames 44..53: both segments
    assert np.allclose(across, full[44:54], atol=1e-5)
    last = windows.window(36)  # 68..77: the speech ends at 75
    assert np.allclose(last[:7], full[68:75], atol=1e-5) and not last[7:].any()
    batch = windows.batch(range(3))
    assert batch.shape == (3, 10 * (LAYERS + 1), WIDTH)
    pe = mt.positional_encoding(30, WIDTH)
    assert np.allclose(pe[0, 0::2], 0) and np.allclose(pe[0, 1::2], 1)
    assert np.allclose(batch[0], first.reshape(30, WIDTH) + pe, atol=1e-5)


def test_long_audio_encodes_each_segment_once(runner):
    calls = []

    def encoder(features, **kwargs):
        calls.append(features.shape)
        return runner.encoder(features, **kwargs)

    samples, _ = modulated_voice(3.5)  # four 1-second segments
    windows = mt.AudioWindows(samples, runner.extractor, encoder, "cpu", torch.float32, 25.0)
    for start in range(0, 88, 8):
        windows.batch(range(start, min(start + 8, 88)))
    assert len(calls) == 4 and len(windows._segments) <= 2


def test_the_lower_face_mask_from_a_mesh(tmp_path):
    from pipelines.landmarks import haar_landmarks

    rgb = media.load_image(portrait(tmp_path / "p.png")).rgb
    marks = haar_landmarks(rgb)[0]
    box = marks.box
    shape = mt.lower_face_shape(marks, box)
    crop = mt.crop_box(box, 0.2, rgb.shape[1], rgb.shape[0])
    mask = mt.blend_mask(crop.h, crop.w, mt.in_crop(shape, box, crop))[..., 0]
    nose = round(marks.xy[mt.NOSE_BOTTOM, 1]) - crop.y
    chin = round(marks.xy[152, 1]) - crop.y  # the chin's mesh point
    centre = round(marks.xy[mt.NOSE_BOTTOM, 0]) - crop.x
    assert mask[:nose].max() == 0 and mask[nose + (chin - nose) // 2, centre] > 0.99
    assert mask[:, :3].max() == 0 and mask[:, -3:].max() == 0
    assert mt.lower_face_shape(None, box) is None


def test_musetalk_through_the_cli_changes_only_the_lower_face(hub_cache, tmp_path, capsys,
                                                             monkeypatch):
    monkeypatch.setenv("STUDIO_OUTPUTS", str(tmp_path / "runs"))
    image = portrait(tmp_path / "p.png")
    voice = write_wav(tmp_path / "v.wav", modulated_voice(0.4)[0])
    out = tmp_path / "talk.mp4"
    code = cli.main(["talk", str(image), str(voice), "--backend", SPEC, "--device", "cpu",
                     "--no-blinks", "--head-motion", "0", "--batch-size", "4", "-o", str(out),
                     "--quiet"], registry=build_registry())
    assert code == 0, capsys.readouterr().err
    info = media.probe_video(out)
    assert info.frame_count == 10 and info.has_audio  # 0.4 s x 25 fps
    assert abs(info.duration - 0.4) <= 1 / 25
    manifest = json.loads(next((tmp_path / "runs").rglob("manifest.json")).read_text())
    assert manifest["spec_id"] == SPEC
    assert {"whisper", "model"} <= set(manifest["runner_timings_seconds"])
    assert manifest["face_finder"] == "haar"  # this cache holds no landmark model: box masks
    box = manifest["face_box"]
    frames = np.stack(media.read_frames(out)).astype(np.float32)
    source = media.load_image(image).rgb.astype(np.float32)
    change = np.abs(frames - source).mean(axis=(0, 3))
    x, y, w, h = box["x"], box["y"], box["w"], box["h"]
    crop = mt.crop_box(Box(x, y, w, h), 0.2, source.shape[1], source.shape[0])
    weights = np.zeros(change.shape, np.float32)
    weights[crop.y: crop.y + crop.h, crop.x: crop.x + crop.w] = mt.paste_mask(crop.h,
                                                                             crop.w)[..., 0]
    outside, inside = change[weights == 0], change[weights > 0.99]
    # random tiny weights redraw the lower face; the rest differs by codec noise only (the
    # pasting itself leaves it exact: test_paste_keeps_every_pixel_outside_the_mask)
    assert outside.mean() < 3 and inside.mean() > 10 and inside.mean() > 4 * outside.mean()
    assert change[: y + h // 3].mean() < 3


def test_paste_keeps_every_pixel_outside_the_mask(tmp_path):
    from pipelines.landmarks import haar_landmarks

    rgb = media.load_image(portrait(tmp_path / "p.png")).rgb
    marks = haar_landmarks(rgb)[0]
    crop = mt.crop_box(marks.box, 0.2, rgb.shape[1], rgb.shape[0])
    generated = np.zeros((mt.FACE_SIZE, mt.FACE_SIZE, 3), np.uint8)
    for shape in (None, mt.in_crop(mt.lower_face_shape(marks, marks.box), marks.box, crop)):
        frame = mt.paste(rgb.copy(), crop, generated, shape)
        weights = np.zeros(rgb.shape[:2], np.float32)
        weights[crop.y: crop.y + crop.h, crop.x: crop.x + crop.w] = mt.blend_mask(
            crop.h, crop.w, shape)[..., 0]
        assert np.array_equal(frame[weights == 0], rgb[weights == 0])
        assert (frame[weights > 0.99] <= 3).all()  # the black crop where the weight is ~1


def test_no_face_is_one_sentence(hub_cache, tmp_path, capsys):
    sky = landscape(tmp_path / "sky.png")
    voice = write_wav(tmp_path / "v.wav", modulated_voice(0.2)[0])
    code = cli.main(["talk", str(sky), str(voice), "--backend", SPEC, "--device", "cpu",
                     "--quiet"], registry=build_registry())
    assert code == 2
    err = capsys.readouterr().err
    assert "No face was found" in err and "Traceback" not in err


def test_a_missing_companion_names_the_fetch_command(hub_cache, tmp_path, monkeypatch):
    cache, _ = hub_cache
    bare = tmp_path / "hub"
    muse = hub_snapshot(bare, "TMElyralab/MuseTalk")
    muse.parent.mkdir(parents=True)
    (muse).symlink_to(hub_snapshot(cache, "TMElyralab/MuseTalk"), target_is_directory=True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(bare))
    monkeypatch.setenv("HF_HUB_CACHE", str(bare))
    with pytest.raises(WeightsUnavailable, match=f"python cli.py fetch {SPEC}"):
        build_registry().load(SPEC)
