"""SAM 2.1 video in the maps task: a tiny ``Sam2VideoModel`` (Hiera backbone 8-64 wide, one
memory-attention layer) with its processor, saved in a Hugging Face cache under the real repo id
by the spec's own file patterns, loaded through the registry; the prompt reaches the model in
the working frame's pixels, every frame gets one mask, frames before the prompt frame are
tracked back in a second session, the state the runner drops changes no mask and keeps memory
flat, and a bad prompt is refused with one sentence before any run folder opens."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

import cli
from pipelines import hub
from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.maps import TASK
from pipelines.media import probe_video, save_image, write_video
from pipelines.task import run_job
from tests import i2v_fixtures as fx

SAM = "maps.sam2-video"
SIZE = 64  # the tiny model's input side (the real one: 1024)
WINDOW = 4  # max(num_maskmem, max_object_pointers_in_encoder) of the tiny model


def tiny_sam2_video(folder: Path, present: bool) -> None:
    """A Sam2VideoModel scaled down from the Hiera-Tiny layout (64 px input, 128-wide prompt
    encoder and mask decoder, 64-channel memory as the real model has) and its processor, saved
    as the real repo holds them. ``present``: the object-score head says the object is there
    on every frame (the masks are then the decoder's own), else absent (empty masks)."""
    import torch
    from transformers import Sam2VideoConfig, Sam2VideoModel, Sam2VideoProcessor
    from transformers.models.sam2.configuration_sam2 import Sam2HieraDetConfig, Sam2VisionConfig
    from transformers.models.sam2.image_processing_sam2 import Sam2ImageProcessor
    from transformers.models.sam2_video.video_processing_sam2_video import (
        Sam2VideoVideoProcessor,
    )

    hidden = 128  # above the 64 memory channels, as 256 is in the real model
    hiera = Sam2HieraDetConfig(hidden_size=8, image_size=[SIZE, SIZE],
                               blocks_per_stage=[1, 1, 2, 1], embed_dim_per_stage=[8, 16, 32, 64],
                               num_attention_heads_per_stage=[1, 1, 1, 1],
                               window_size_per_stage=[4, 4, 2, 2], global_attention_blocks=[3],
                               window_positional_embedding_background_size=[4, 4])
    vision = Sam2VisionConfig(backbone_config=hiera, backbone_channel_list=[64, 32, 16, 8],
                              backbone_feature_sizes=[[SIZE // 4] * 2, [SIZE // 8] * 2,
                                                      [SIZE // 16] * 2],
                              fpn_hidden_size=hidden)
    config = Sam2VideoConfig(
        vision_config=vision, image_size=SIZE,
        prompt_encoder_config={"hidden_size": hidden, "image_size": SIZE, "patch_size": 16,
                               "mask_input_channels": 4},
        mask_decoder_config={"hidden_size": hidden, "mlp_dim": 64, "num_attention_heads": 2,
                             "iou_head_hidden_dim": 32},
        num_maskmem=3, max_object_pointers_in_encoder=WINDOW,
        memory_attention_hidden_size=hidden, memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[SIZE // 16] * 2, memory_encoder_hidden_size=hidden,
        memory_encoder_output_channels=64, mask_downsampler_embed_dim=hidden,
        memory_fuser_embed_dim=hidden, memory_fuser_intermediate_dim=64,
        memory_fuser_num_layers=1)
    torch.manual_seed(0)
    model = Sam2VideoModel(config).eval()
    head = model.mask_decoder.pred_obj_score_head.proj_out
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(10.0 if present else -10.0)
    model.save_pretrained(folder)
    size = {"height": SIZE, "width": SIZE}
    Sam2VideoProcessor(image_processor=Sam2ImageProcessor(size=size),
                       video_processor=Sam2VideoVideoProcessor(size=size)).save_pretrained(folder)


def sam_registry(root: Path, present: bool = True):
    """A registry whose SAM 2.1 spec loads the tiny checkpoint from a Hub cache at ``root``,
    placed there as a fetch by the spec's own patterns would."""
    spec = build_registry().get(SAM)
    repo = root / "repo"
    tiny_sam2_video(repo, present)
    (repo / "README.md").write_text("a model card")  # in the real repo; never fetched
    (repo / "sam2.1_hiera_tiny.pt").write_bytes(b"the original checkpoint; never fetched")
    snapshot = fx.hub_snapshot(root / "hub", spec.repo_id, spec.revision)
    taken = fx.download_like_hub(repo, snapshot, hub.spec_patterns(spec))
    assert sorted(taken) == ["config.json", "model.safetensors", "processor_config.json"]
    return root / "hub"


@pytest.fixture(scope="module")
def caches(tmp_path_factory) -> dict[bool, Path]:
    root = tmp_path_factory.mktemp("sam2")
    return {present: sam_registry(root / str(present), present) for present in (True, False)}


@pytest.fixture
def registry(caches, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(caches[True]))
    return build_registry()


@pytest.fixture
def sessions(monkeypatch) -> list:
    """Every inference session the runner opens, kept for a look after the run."""
    from transformers import Sam2VideoProcessor

    opened: list = []
    real = Sam2VideoProcessor.init_video_session

    def spy(self, *args, **kwargs):
        opened.append(real(self, *args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(Sam2VideoProcessor, "init_video_session", spy)
    return opened


FRAMES = 12


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A 320x224 photo with a magenta block crossing it, 12 frames."""
    background = cv2.resize(data.coffee(), (320, 224), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(FRAMES):
        frame = background.copy()
        cv2.rectangle(frame, (40 + 8 * i, 80), (80 + 8 * i, 120), (255, 0, 255), -1)
        frames.append(frame)
    path = tmp_path_factory.mktemp("clip") / "block.mp4"
    write_video(path, frames, 12)
    return path


def masks_of(out) -> tuple[list[int], list[np.ndarray]]:
    arrays = np.load(out.outputs["arrays"])
    frames = [int(i) for i in arrays["frames"]]
    return frames, [arrays[f"object_{i:06d}"] for i in frames]


def track(registry, clip: Path, root: Path, **settings):
    return run_job(registry, TASK, SAM, {"media": str(clip)}, {"max_side": 160, **settings},
                   root=root)


def test_a_box_gives_one_mask_per_frame_through_the_registry(registry, clip, tmp_path,
                                                             sessions):
    out = track(registry, clip, tmp_path, box="80,80,120,120")
    frames, masks = masks_of(out)
    assert out.spec_id == SAM and frames == list(range(FRAMES))
    for mask in masks:  # the working size (max_side 160 of 320x224), 0/1, the object found
        assert mask.shape == (112, 160) and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 1} and mask.any()
    assert len(sessions) == 1  # prompt on frame 0: forward only
    point = sessions[0].point_inputs_per_obj[0][0]  # the box's corners, labels 2 and 3,
    expected = np.array([[40, 40], [60, 60]]) * [SIZE / 160, SIZE / 112]  # at the model's size
    assert np.allclose(point["point_coords"].cpu().numpy()[0, 0], expected, atol=1e-4)
    assert point["point_labels"].tolist() == [[[2, 3]]]
    video = probe_video(out.outputs["video"])
    assert video.frame_count == FRAMES and (video.width, video.height) == (320, 112)
    with zipfile.ZipFile(out.outputs["pngs"]) as pngs:
        names = pngs.namelist()
        png = cv2.imdecode(np.frombuffer(pngs.read(names[4]), np.uint8), cv2.IMREAD_UNCHANGED)
    assert names == [f"object_{i:06d}.png" for i in frames]
    assert np.array_equal(png[..., 0] > 0, masks[4] > 0)
    record = json.loads(out.manifest.read_text())
    assert record["output"]["kind"] == "object" and record["output"]["empty_frames"] == 0
    assert record["output"]["prompt"] == {"frame": 0, "box": [80.0, 80.0, 120.0, 120.0],
                                          "points": []}
    assert {"box", "points", "prompt_frame"} <= set(record["parameters"])
    assert not {"kind", "smoothing", "align"} & set(record["parameters"])
    assert "Object mask maps of 12 frames, 160x112" in out.summary


def test_frames_before_the_prompt_frame_are_tracked_back(registry, clip, tmp_path, sessions):
    out = track(registry, clip, tmp_path, points="150,100; 300,20,0", prompt_frame=5)
    frames, masks = masks_of(out)
    assert frames == list(range(FRAMES)) and all(m.any() for m in masks)
    assert len(sessions) == 2  # back from frame 5 to 0, then forward from 5 to the end
    for session in sessions:
        point = session.point_inputs_per_obj[0][0]  # the prompt is each session's first frame
        assert point["point_labels"].tolist() == [[[1, 0]]]
        expected = np.array([[75, 50], [150, 10]]) * [SIZE / 160, SIZE / 112]
        assert np.allclose(point["point_coords"].cpu().numpy()[0, 0], expected, atol=1e-4)
    step = track(registry, clip, tmp_path / "step", points="150,100", prompt_frame=5, step=2)
    assert masks_of(step)[0] == [0, 2, 4, 6, 8, 10]
    assert any("frame 6, the nearest frame mapped at a step of 2" in n for n in step.notes)


def test_what_the_runner_forgets_changes_no_mask_and_keeps_memory_flat(registry, clip,
                                                                       tmp_path, sessions,
                                                                       monkeypatch):
    from pipelines.maps.sam2_video import Sam2VideoRunner

    kept = masks_of(track(registry, clip, tmp_path / "kept", box="80,80,120,120"))[1]
    session = sessions[-1]
    assert not session.processed_frames  # every frame's pixels dropped once done
    outputs = session.output_dict_per_obj[0]
    assert sorted(outputs["non_cond_frame_outputs"]) == list(range(FRAMES - WINDOW, FRAMES))
    assert list(outputs["cond_frame_outputs"]) == [0]  # the prompt frame's memory stays
    assert all("high_res_masks" not in o for o in outputs["non_cond_frame_outputs"].values())
    monkeypatch.setattr(Sam2VideoRunner, "_forget", lambda self, session, step: None)
    everything = masks_of(track(registry, clip, tmp_path / "all", box="80,80,120,120"))[1]
    assert len(sessions[-1].output_dict_per_obj[0]["non_cond_frame_outputs"]) == FRAMES - 1
    assert all(np.array_equal(a, b) for a, b in zip(kept, everything, strict=True))


def test_a_lost_object_leaves_empty_masks_and_a_note(caches, clip, tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(caches[False]))
    out = track(build_registry(), clip, tmp_path, box="80,80,120,120", max_frames=4)
    frames, masks = masks_of(out)
    assert frames == [0, 1, 2, 3] and not any(m.any() for m in masks)
    assert any("not found on 4 of 4 frames" in n for n in out.notes)


def test_one_image_gets_a_mask(registry, tmp_path):
    photo = save_image(tmp_path / "photo.png", cv2.resize(data.astronaut(), (200, 140)))
    out = run_job(registry, TASK, SAM, {"media": str(photo)}, {"box": "50,20,150,130"},
                  root=tmp_path)
    frames, (mask,) = masks_of(out)
    assert frames == [0] and mask.shape == (140, 200) and mask.any()
    assert "image" in out.outputs


@pytest.mark.parametrize(("settings", "message"), [
    ({}, "An object mask needs a prompt on one frame: give a box"),
    ({"box": "10,10,400,50"}, "The box '10,10,400,50' reaches outside the 320x224 frame"),
    ({"box": "60,60,20,90"}, "has no area: x1 must be greater than x0"),
    ({"box": "1,2,3"}, "has 3 number(s), not four"),
    ({"box": "a,b,c,d"}, "is not a list of numbers"),
    ({"points": "10,10,0"}, "Every point is marked background"),
    ({"points": "10,10,7"}, "has the label 7; use 1"),
    ({"points": "10"}, "The point '10' has 1 number(s)"),
    ({"points": "-5,10"}, "lies outside the 320x224 frame"),
    ({"box": "10,10,50,50", "prompt_frame": 40}, "The prompt frame 40 is past the last frame"),
])
def test_a_bad_prompt_is_one_sentence_before_any_run_folder(registry, clip, tmp_path,
                                                            settings, message):
    with pytest.raises(InputError, match=re.escape(message)):
        run_job(registry, TASK, SAM, {"media": str(clip)}, settings, root=tmp_path)
    assert not (tmp_path / "maps").exists()


def test_cli_tracks_an_object(registry, clip, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["maps", str(clip), "--backend", "sam2-video", "--box", "80,80,120,120",
                     "--max-frames", "3", "--max-side", "160", "--quiet", "--out", str(out)],
                    registry=registry)
    assert code == 0, capsys.readouterr().err
    assert {p.name for p in out.iterdir()} >= {"object.npz", "object_png.zip",
                                               "object_side_by_side.mp4"}
    assert "Object mask maps of 3 frames" in capsys.readouterr().out
    code = cli.main(["maps", str(clip), "--backend", "sam2-video", "--out", str(out)],
                    registry=registry)
    assert code == 2 and "needs a prompt on one frame" in capsys.readouterr().err
