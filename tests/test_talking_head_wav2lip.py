"""Wav2Lip: the published layer layout, checkpoint loading through the registry, the job."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pipelines import media
from pipelines.catalog import build_registry
from pipelines.errors import StudioError, WeightsUnavailable
from pipelines.talking_head import mel
from pipelines.talking_head.job import TalkOptions, talk
from pipelines.talking_head.network import Wav2Lip, checkpoint_state
from pipelines.talking_head.wav2lip import FACE_SIZE, face_batch, load_network, paste_mask
from tests.talking_head_fixtures import (
    SR,
    modulated_voice,
    portrait,
    save_wav2lip_checkpoint,
    write_wav,
)

SPEC = "talking_head.wav2lip-gan"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A folder laid out like the Hub repo, holding a random-weight full-size checkpoint."""
    folder = tmp_path_factory.mktemp("wav2lip-repo")
    state = save_wav2lip_checkpoint(folder / "checkpoints" / "wav2lip_gan.pth")
    return folder, state


def test_layers_match_the_published_checkpoints():
    model = Wav2Lip()
    state = model.state_dict()
    assert len(state) == 352
    assert sum(p.numel() for p in model.parameters()) == 36_298_035
    expected = {
        "face_encoder_blocks.0.0.conv_block.0.weight": (16, 6, 7, 7),
        "face_encoder_blocks.2.3.conv_block.1.running_var": (64,),
        "face_encoder_blocks.6.1.conv_block.0.weight": (512, 512, 1, 1),
        "audio_encoder.3.conv_block.0.weight": (64, 32, 3, 3),
        "audio_encoder.12.conv_block.0.weight": (512, 512, 1, 1),
        "face_decoder_blocks.1.0.conv_block.0.weight": (1024, 512, 3, 3),  # transposed conv
        "face_decoder_blocks.6.0.conv_block.0.weight": (160, 64, 3, 3),
        "face_decoder_blocks.6.2.conv_block.1.num_batches_tracked": (),
        "output_block.0.conv_block.0.weight": (32, 80, 3, 3),
        "output_block.1.weight": (3, 32, 1, 1),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    with torch.inference_mode():
        assert model.audio_encoder(torch.zeros(2, 1, 80, 16)).shape == (2, 512, 1, 1)
        out = model.eval()(torch.zeros(2, 1, 80, 16), torch.rand(2, 6, 96, 96))
    assert out.shape == (2, 3, 96, 96) and out.min() >= 0 and out.max() <= 1


def test_checkpoint_round_trips_through_the_registry(checkpoint):
    folder, state = checkpoint
    registry = build_registry()
    spec = registry.replace(SPEC, repo_id=str(folder))
    assert spec.files == ("checkpoints/wav2lip_gan.pth",)  # the real path in the Hub repo
    runner = registry.load(SPEC)
    assert runner.device == "cpu" and runner.dtype == "float32"
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, state[key]), key
    reference = Wav2Lip().eval()
    reference.load_state_dict(state)

    face = media.load_image(portrait(folder / "p.png")).rgb[65:180, 176:272]
    import cv2

    crop = cv2.resize(face[..., ::-1], (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    samples, _ = modulated_voice(0.5)
    windows = mel.frame_windows(mel.melspectrogram(samples), 3, 25.0)
    faces = face_batch([crop] * 3)
    assert faces.shape == (3, 6, 96, 96) and not faces[:, :3, 48:].any()
    predicted = runner.predict(faces, windows)
    assert predicted.shape == (3, 96, 96, 3) and predicted.dtype == np.uint8
    with torch.inference_mode():
        expected = reference(torch.from_numpy(windows[:, None]), torch.from_numpy(faces))
    expected = (expected.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert np.abs(predicted.astype(int) - expected).max() <= 1


def test_bare_and_wrapped_state_dicts(tmp_path):
    state = save_wav2lip_checkpoint(tmp_path / "bare.pth", wrapped=False)
    model = load_network(tmp_path / "bare.pth", "cpu", "float32")
    assert torch.equal(model.state_dict()["output_block.1.weight"], state["output_block.1.weight"])
    assert checkpoint_state({"state_dict": {"module.a": 1}}) == {"a": 1}
    with pytest.raises(ValueError, match="no state dict"):
        checkpoint_state([1, 2])


def test_wrong_checkpoints_are_clear_errors(tmp_path):
    torch.save({"state_dict": {"module.conv.weight": torch.zeros(1)}}, tmp_path / "other.pth")
    with pytest.raises(StudioError, match="does not hold the Wav2Lip generator"):
        load_network(tmp_path / "other.pth", "cpu", "float32")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(StudioError, match="not a Wav2Lip checkpoint"):
        load_network(tmp_path / "junk.pth", "cpu", "float32")
    torch.save({"state_dict": {"x": torch.nn.Linear(1, 1)}}, tmp_path / "pickled.pth")
    with pytest.raises(StudioError, match="not a Wav2Lip checkpoint"):  # refused: weights_only
        load_network(tmp_path / "pickled.pth", "cpu", "float32")


def test_missing_weights_name_the_fetch_command(tmp_path):
    voice = write_wav(tmp_path / "v.wav", modulated_voice(0.5)[0])
    with pytest.raises(WeightsUnavailable, match=f"python cli.py fetch {SPEC}"):
        talk(build_registry(), portrait(tmp_path / "p.png"), voice,
             options=TalkOptions(backend="wav2lip-gan"))


def test_paste_mask_covers_the_lower_face_only():
    mask = paste_mask(120, 100)[..., 0]
    assert mask.shape == (120, 100)
    assert mask[:45].max() == 0 and mask[80, 50] == 1
    assert mask[:, 0].max() == 0 and mask[-1].max() == 0  # feathered to zero at the edges


def test_wav2lip_job_changes_only_the_lower_face(checkpoint, tmp_path):
    folder, _ = checkpoint
    registry = build_registry()
    registry.replace(SPEC, repo_id=str(folder))
    image = portrait(tmp_path / "p.png")
    voice = write_wav(tmp_path / "v.wav", modulated_voice(0.4)[0])
    still = TalkOptions(backend="wav2lip-gan", blinks=False, head_motion=0.0, batch_size=4)
    job = talk(registry, image, voice, options=still)
    info = media.probe_video(job.video)
    assert info.frame_count == 10 and info.has_audio
    assert abs(info.duration - 0.4) <= 1 / 25
    frames = np.stack(media.read_frames(job.video)).astype(np.float32)
    source = media.load_image(image).rgb.astype(np.float32)
    box = job.result.face_box
    change = np.abs(frames - source).mean(axis=(0, 3))
    below = box.y + box.h // 2
    # The upper face and everything outside the crop differ by codec noise only (a few levels).
    upper = change[box.y + 10: below - 5, box.x: box.x + box.w].mean()
    lower = change[below + 10: box.y + box.h, box.x + 15: box.x + box.w - 15].mean()
    assert upper < 4 and lower > 10 and lower > 3 * upper
    assert change[:, : box.x - 5].mean() < 3 and change[box.y + 2 * box.h:].mean() < 3
    manifest = json.loads(job.manifest.read_text())
    assert manifest["spec_id"] == SPEC and manifest["repo_id"] == str(folder)
    assert "model" in manifest["runner_timings_seconds"]


def test_mouth_crops_can_be_sharpened_with_a_super_resolution_backend(checkpoint, tmp_path):
    registry = build_registry()
    if not registry.by_task("super_res"):
        pytest.skip("no super-resolution backend is registered")
    folder, _ = checkpoint
    registry.replace(SPEC, repo_id=str(folder))
    sharpen = registry.by_task("super_res")[0]  # the weight-free one
    voice = write_wav(tmp_path / "v.wav", np.zeros(int(0.2 * SR), np.float32))
    options = TalkOptions(backend="wav2lip-gan", blinks=False, head_motion=0, sharpen=sharpen.id)
    job = talk(registry, portrait(tmp_path / "p.png"), voice, options=options)
    manifest = json.loads(job.manifest.read_text())
    assert manifest["sharpened_with"] == sharpen.id
    assert "sharpen" in manifest["runner_timings_seconds"]
    assert media.probe_video(job.video).frame_count == 5
