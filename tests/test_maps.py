"""Depth and masks per frame: flow recovers a known shift, MOG2 finds a moving sprite, parallax
orders a near layer over a far one, a tiny Depth Anything checkpoint runs through the registry
from the Hub cache, smoothing lowers the flicker figure, the outputs hold what they say, and bad
input is refused with one sentence."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

import cli
from pipelines import hub
from pipelines.catalog import build_registry
from pipelines.errors import InputError, StudioError
from pipelines.maps import TASK
from pipelines.maps.temporal import Flicker, Smoother, fit_scale_shift
from pipelines.media import load_image, probe_video, save_image, write_video
from pipelines.task import run_job
from tests import i2v_fixtures as fx

REGISTRY = build_registry()
FPS = 12
DA = "maps.depth-anything-v2-small"


def mapped(video: Path, root: Path, backend: str | None = None, registry=REGISTRY, **settings):
    out = run_job(registry, TASK, backend, {"media": str(video)}, settings, root=root)
    arrays = np.load(out.outputs["arrays"])
    frames = [int(i) for i in arrays["frames"]]
    kind = json.loads(out.manifest.read_text())["output"]["kind"]
    return out, [arrays[f"{kind}_{i:06d}"] for i in frames], frames


def texture(width: int, height: int, name: str = "astronaut") -> np.ndarray:
    return cv2.resize(getattr(data, name)(), (width, height), interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------------------------
# Generated clips

SHIFT = (3, -1)  # pixels per frame the content moves (x, y)


@pytest.fixture(scope="module")
def translating(tmp_path_factory) -> Path:
    """A 128x96 window over the astronaut photo; the content moves by SHIFT every frame."""
    big = texture(320, 240)
    frames = []
    for i in range(8):
        x, y = 80 - SHIFT[0] * i, 80 - SHIFT[1] * i
        frames.append(np.ascontiguousarray(big[y:y + 96, x:x + 128]))
    path = tmp_path_factory.mktemp("shift") / "shift.mp4"
    write_video(path, frames, FPS)
    return path


BOX = (14, 18)  # sprite width, height
BOX_Y = 40


def box_x(index: int) -> int:
    return 10 + 5 * index


@pytest.fixture(scope="module")
def sprite(tmp_path_factory) -> Path:
    """A magenta block crossing a still photo, 5 pixels a frame, 20 frames."""
    background = texture(160, 112, "coffee")
    frames = []
    for i in range(20):
        frame = background.copy()
        cv2.rectangle(frame, (box_x(i), BOX_Y), (box_x(i) + BOX[0] - 1, BOX_Y + BOX[1] - 1),
                      (255, 0, 255), -1)
        frames.append(frame)
    path = tmp_path_factory.mktemp("sprite") / "sprite.mp4"
    write_video(path, frames, FPS)
    return path


NEAR_ROWS = {"far-dominant": (40, 72), "near-dominant": (16, 100)}


def two_layers(folder: Path, rows: tuple[int, int]) -> Path:
    """A sideways pan over two textured layers: the far one (a photo) moves 1 px a frame, the
    near one (a band of rows of another photo) 3 px a frame, as parallax has it."""
    far, near = texture(400, 112, "astronaut"), texture(400, 112, "chelsea")
    frames = []
    for i in range(10):
        frame = np.ascontiguousarray(far[:, 100 - i:260 - i])
        frame[rows[0]:rows[1]] = near[rows[0]:rows[1], 100 - 3 * i:260 - 3 * i]
        frames.append(frame)
    path = folder / "layers.mp4"
    write_video(path, frames, FPS)
    return path


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> Path:
    """A still photo whose brightness and noise change every frame (a flickering still shot)."""
    rng = np.random.default_rng(0)
    photo = texture(112, 84, "chelsea").astype(np.float32)
    frames = [np.clip(photo * rng.uniform(0.7, 1.3) + rng.normal(0, 12, photo.shape), 0, 255)
              .astype(np.uint8) for _ in range(8)]
    path = tmp_path_factory.mktemp("still") / "still.mp4"
    write_video(path, frames, FPS)
    return path


# --------------------------------------------------------------------------------------------
# Classical maps


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_recovers_a_known_shift(translating, tmp_path, method):
    out, flows, frames = mapped(translating, tmp_path, kind="flow", flow_method=method)
    assert frames == list(range(7))  # one flow per frame but the last
    for flow in flows:
        assert flow.shape == (96, 128, 2) and flow.dtype == np.float32
        inner = flow[12:-12, 12:-12]
        assert abs(float(inner[..., 0].mean()) - SHIFT[0]) < 0.5
        assert abs(float(inner[..., 1].mean()) - SHIFT[1]) < 0.5
    record = json.loads(out.manifest.read_text())
    assert record["parameters"]["flow_method"] == method


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_motion_masks_find_a_moving_sprite(sprite, tmp_path):
    _, masks, frames = mapped(sprite, tmp_path, kind="motion", history=50)
    assert frames == list(range(20))
    scores = []
    for index, mask in zip(frames, masks, strict=True):
        assert mask.shape == (112, 160) and set(np.unique(mask)) <= {0, 1}
        truth = np.zeros_like(mask, bool)
        truth[BOX_Y:BOX_Y + BOX[1], box_x(index):box_x(index) + BOX[0]] = True
        scores.append(iou(mask.astype(bool), truth))
    assert min(scores) > 0.5, scores  # from the first frame on: the model starts primed
    assert float(masks[10].mean()) < 0.1  # the still photo stays background


@pytest.mark.parametrize("layout", list(NEAR_ROWS))
def test_parallax_puts_the_faster_layer_nearer(tmp_path, layout):
    rows = NEAR_ROWS[layout]
    out, depths, frames = mapped(two_layers(tmp_path, rows), tmp_path, kind="depth")
    record = json.loads(out.manifest.read_text())
    assert record["output"]["cue"] == "parallax"
    assert len(depths) == len(frames) == 10
    margin = 6  # away from the layers' edges, which the smoothing blurs
    for depth in depths:
        near = depth[rows[0] + margin:rows[1] - margin, 20:-20].mean()
        far = np.concatenate([depth[:rows[0] - margin, 20:-20].ravel(),
                              depth[rows[1] + margin:, 20:-20].ravel()]).mean()
        assert near > far


def test_a_still_camera_falls_back_to_the_single_image_cue(sprite, tmp_path):
    out, depths, _ = mapped(sprite, tmp_path, kind="depth")
    assert json.loads(out.manifest.read_text())["output"]["cue"] == "single-image"
    assert any("single-image cue" in n for n in out.notes)
    top, bottom = depths[0][:20].mean(), depths[0][-20:].mean()
    assert bottom > top  # lower in the frame reads as nearer


# --------------------------------------------------------------------------------------------
# Outputs


def test_outputs_hold_a_map_per_frame(translating, tmp_path):
    out, depths, frames = mapped(translating, tmp_path, kind="depth", max_side=96)
    assert all(d.shape == (72, 96) and d.dtype == np.float32 for d in depths)
    video = probe_video(out.outputs["video"])
    assert video.frame_count == len(frames) == 8 and (video.width, video.height) == (192, 72)
    with zipfile.ZipFile(out.outputs["pngs"]) as pngs:
        names = pngs.namelist()
        assert names == [f"depth_{i:06d}.png" for i in frames]
        png = cv2.imdecode(np.frombuffer(pngs.read(names[3]), np.uint8), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint16 and png.shape == (72, 96) and png.max() > 255
    record = json.loads(out.manifest.read_text())
    assert set(record["outputs"]) == {"arrays", "pngs", "video"}
    low, high = record["output"]["range"]  # the 16-bit PNGs span the clip's range
    expected = np.clip((depths[3] - low) / (high - low), 0, 1) * 65535
    assert np.abs(png.astype(np.float64) - expected).max() <= 1


def test_flow_outputs_are_colour_wheels_and_masks_are_white_on_black(translating, sprite,
                                                                     tmp_path):
    out, _, frames = mapped(translating, tmp_path / "flow", kind="flow")
    assert probe_video(out.outputs["video"]).frame_count == len(frames) == 7
    with zipfile.ZipFile(out.outputs["pngs"]) as pngs:
        wheel = cv2.imdecode(np.frombuffer(pngs.read(pngs.namelist()[0]), np.uint8),
                             cv2.IMREAD_UNCHANGED)
    assert wheel.dtype == np.uint8 and wheel.shape == (96, 128, 3)
    assert wheel.std(axis=2).mean() > 20  # coloured: the whole frame moves
    out, masks, _ = mapped(sprite, tmp_path / "motion", kind="motion")
    with zipfile.ZipFile(out.outputs["pngs"]) as pngs:
        mask = cv2.imdecode(np.frombuffer(pngs.read(pngs.namelist()[10]), np.uint8),
                            cv2.IMREAD_UNCHANGED)
    assert set(np.unique(mask)) <= {0, 255}
    assert np.array_equal(mask[..., 0] > 0 if mask.ndim == 3 else mask > 0, masks[10] > 0)


def test_max_frames_caps_the_maps_and_says_so(sprite, tmp_path):
    out, _, frames = mapped(sprite, tmp_path, kind="motion", max_frames=6, step=2)
    assert frames == [0, 2, 4, 6, 8, 10]
    assert probe_video(out.outputs["video"]).frame_count == 6
    assert any("first 6 frames" in n and "'max_frames'" in n for n in out.notes)


def test_one_image_gets_a_depth_map_and_a_flow_is_refused(tmp_path):
    image = save_image(tmp_path / "photo.png", texture(120, 90))
    out, depths, frames = mapped(image, tmp_path, kind="depth")
    assert frames == [0] and depths[0].shape == (90, 120)
    assert load_image(out.outputs["image"]).rgb.shape == (90, 240, 3)
    for kind in ("flow", "motion"):
        with pytest.raises(InputError, match="one image.*needs a video"):
            run_job(REGISTRY, TASK, None, {"media": str(image)}, {"kind": kind}, root=tmp_path)
    with pytest.raises(InputError, match="No video or image"):
        run_job(REGISTRY, TASK, None, {}, {}, root=tmp_path)


@pytest.mark.parametrize("name", ["odd_size", "rotated_clip", "variable_rate"])
def test_awkward_videos_get_a_map_per_frame(name, tmp_path):
    from tests import robustness_corpus as corpus

    video = tmp_path / f"{name}.mp4"
    getattr(corpus, name)(video)
    info = probe_video(video)
    for kind in ("flow", "motion"):
        _, maps, frames = mapped(video, tmp_path / kind, kind=kind)
        assert len(frames) == info.frame_count - (kind == "flow")
        assert maps[0].shape[:2] == (info.height, info.width)  # rotation applied


def test_a_broken_or_disguised_input_is_refused_with_one_sentence(tmp_path):
    from tests import robustness_corpus as corpus

    half, disguised = tmp_path / "half.mp4", tmp_path / "picture.mp4"
    corpus.truncated(corpus.clip, 0.5)(half)
    corpus.png_renamed(disguised)
    with pytest.raises(InputError, match="truncated"):
        run_job(REGISTRY, TASK, None, {"media": str(half)}, {}, root=tmp_path)
    with pytest.raises(InputError, match="'picture.mp4' is one image; a flow needs a video"):
        run_job(REGISTRY, TASK, None, {"media": str(disguised)}, {"kind": "flow"},
                root=tmp_path)
    _, depths, _ = mapped(disguised, tmp_path, kind="depth")  # depth takes it as an image
    assert len(depths) == 1
    assert not list((tmp_path / "maps").glob("*")) or all(
        (p / "manifest.json").is_file() for p in (tmp_path / "maps").iterdir())


def test_cli_writes_the_maps(sprite, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["maps", str(sprite), "--kind", "motion", "--quiet", "--out", str(out)],
                    registry=REGISTRY)
    assert code == 0, capsys.readouterr().err
    assert {p.name for p in out.iterdir()} >= {"motion.npz", "motion_png.zip",
                                               "motion_side_by_side.mp4"}
    assert "Motion mask maps of 20 frames" in capsys.readouterr().out
    code = cli.main(["maps", str(sprite), "--smoothing", "2", "--out", str(out)],
                    registry=REGISTRY)
    assert code == 2 and "'smoothing'" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Temporal smoothing


def test_alignment_undoes_a_scale_and_shift():
    rng = np.random.default_rng(1)
    depth = rng.random((40, 60)).astype(np.float32)
    scale, shift = fit_scale_shift(3.0 * depth - 2.0, depth)
    assert scale == pytest.approx(1 / 3, rel=1e-4) and shift == pytest.approx(2 / 3, rel=1e-4)
    assert fit_scale_shift(np.ones((8, 8)), depth[:8, :8]) == (1.0, 0.0)


def test_smoothing_lowers_the_flicker_of_a_rescaled_map():
    rng = np.random.default_rng(2)
    depth = cv2.GaussianBlur(rng.random((48, 64)).astype(np.float32), (0, 0), 4)
    frames = [depth * rng.uniform(0.5, 2.0) + rng.uniform(-1, 1) for _ in range(12)]
    before, after, smoother = Flicker(), Flicker(), Smoother(True, 0.5)
    for frame in frames:
        before.add(frame)
        after.add(smoother(frame))
    assert after.figure() < 0.1 * before.figure()


# --------------------------------------------------------------------------------------------
# Depth Anything V2 Small: a tiny checkpoint in the Hub cache under the real repo id


def tiny_depth_anything(folder: Path) -> None:
    """A DepthAnythingForDepthEstimation with a 4-layer, 16-wide DINOv2 backbone and the image
    processor the real repo uses (scaled down: 56 px instead of 518), saved in its layout."""
    import torch
    from transformers import (
        DepthAnythingConfig,
        DepthAnythingForDepthEstimation,
        Dinov2Config,
        DPTImageProcessor,
    )

    backbone = Dinov2Config(image_size=56, patch_size=14, hidden_size=16, num_hidden_layers=4,
                            num_attention_heads=2, intermediate_size=32,
                            out_features=["stage1", "stage2", "stage3", "stage4"],
                            reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=16,
                                 patch_size=14, neck_hidden_sizes=[8, 8, 16, 16],
                                 fusion_hidden_size=8, head_hidden_size=8,
                                 reassemble_factors=[4, 2, 1, 0.5],
                                 depth_estimation_type="relative")
    torch.manual_seed(0)
    DepthAnythingForDepthEstimation(config).save_pretrained(folder)
    DPTImageProcessor(size={"height": 56, "width": 56}, keep_aspect_ratio=True,
                      ensure_multiple_of=14, resample=3, do_pad=False,
                      image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]
                      ).save_pretrained(folder)


@pytest.fixture
def depth_anything(tmp_path, monkeypatch):
    """A registry whose Depth Anything spec loads the tiny checkpoint from a Hub cache, placed
    there as a fetch by the spec's own patterns would."""
    import huggingface_hub.constants

    spec = REGISTRY.get(DA)
    repo = tmp_path / "repo"
    tiny_depth_anything(repo)
    (repo / "README.md").write_text("a model card")  # the real repo has one; never fetched
    root = tmp_path / "hub"
    snapshot = fx.hub_snapshot(root, spec.repo_id, spec.revision)
    taken = fx.download_like_hub(repo, snapshot, hub.spec_patterns(spec))
    assert sorted(taken) == sorted(spec.files)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(root))
    return build_registry()


def test_depth_anything_maps_every_frame_through_the_registry(depth_anything, still, tmp_path):
    out, depths, frames = mapped(still, tmp_path, DA, registry=depth_anything, max_side=96,
                                 kind="flow")  # the model backend makes depth whatever 'kind'
    assert frames == list(range(8)) and out.spec_id == DA
    assert all(d.shape == (72, 96) and np.isfinite(d).all() for d in depths)
    assert probe_video(out.outputs["video"]).frame_count == 8
    record = json.loads(out.manifest.read_text())
    assert "kind" not in record["parameters"] and record["output"]["kind"] == "depth"


def test_smoothing_lowers_the_flicker_figure_on_a_flickering_clip(depth_anything, still,
                                                                  tmp_path):
    raw, _, _ = mapped(still, tmp_path / "raw", DA, registry=depth_anything, max_side=96,
                       smoothing=0.0, align=False)
    smooth, _, _ = mapped(still, tmp_path / "smooth", DA, registry=depth_anything,
                          max_side=96, smoothing=0.7)
    flicker = [json.loads(o.manifest.read_text())["output"]["flicker"]
               for o in (raw, smooth)]
    assert flicker[0]["before"] == pytest.approx(flicker[0]["after"])  # nothing done
    assert flicker[1]["before"] == pytest.approx(flicker[0]["before"], rel=1e-4)
    assert flicker[1]["after"] < 0.7 * flicker[1]["before"]
    assert any("Flicker" in n for n in smooth.notes)


def test_person_masks_cover_the_man_in_a_real_clip(tmp_path):
    """kind=person pins the person-mask network (MediaPipe selfie segmentation, read from the
    mediapipe wheel) for the job: the man in carphone is masked, the background is not."""
    from pipelines.networks import masks
    from tests import media_real

    registry = build_registry()
    registry.replace(masks.SPEC_ID, repo_id=str(media_real.spec_folder(masks.SPEC_ID)))
    clip = media_real.carphone_video()
    out, maps, _ = mapped(clip, tmp_path, registry=registry, kind="person", max_frames=6,
                          max_side=176)
    assert len(maps) == 6 and maps[0].shape == (144, 176) and maps[0].dtype == np.uint8
    person = np.zeros((144, 176), bool)  # the man's head and shoulders (tests/test_person_masks)
    for x0, y0, x1, y1 in ((59, 15, 114, 100), (40, 95, 176, 144)):
        person[y0:y1, x0:x1] = True
    for found in maps:
        assert iou(found.astype(bool), person) > 0.7
        assert found[40:100, 0:50].mean() < 0.05  # the seat at the left
    assert probe_video(out.outputs["video"]).frame_count == 6
    photo = tmp_path / "astronaut.png"  # one image takes a person mask too
    save_image(photo, data.astronaut())
    out, (mask,), _ = mapped(photo, tmp_path / "one", registry=registry, kind="person",
                             max_side=256)
    assert mask.shape == (256, 256) and mask[30:110, 70:150].mean() > 0.8  # her face
    assert "image" in out.outputs


def test_person_masks_say_which_network_to_fetch(sprite, tmp_path):
    from pipelines.networks import masks

    registry = build_registry()
    registry.replace(masks.SPEC_ID, repo_id=str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(StudioError, match="metrics.person-mask"):
        mapped(sprite, tmp_path / "runs", registry=registry, kind="person")
