"""Object removal: on generated clips (a textured background, still or panning, with a sprite
moving along a known path) the hole is filled closer to the clean background than per-frame
inpainting fills it; the first-frame mask follows the sprite; bad inputs get one sentence each;
the outputs (cleaned video with sound, mask video, clean still) are written; the CLI serves it."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import cli
from metrics.image import psnr
from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.media import VideoWriter, load_image, probe_video, read_frames, save_image
from pipelines.remove import masks as M
from pipelines.remove.classical import fill_flow, telea
from pipelines.task import run_job
from pipelines.tasks import task_by_id
from tests.remove_fixtures import scene, write_scene

TASK = task_by_id("remove")
REGISTRY = build_registry()
STILL, PAN = (0.0, 0.0), (2.0, 1.0)


@pytest.fixture(scope="module", params=[STILL, PAN], ids=["still", "pan"])
def clip(request, tmp_path_factory):
    made = scene(pan=request.param)
    return made, write_scene(tmp_path_factory.mktemp("clip"), made)


def _inside(frames, truth, holes):
    return float(np.mean([psnr(f[h], t[h]) for f, t, h in zip(frames, truth, holes,
                                                              strict=True)]))


def test_removal_beats_per_frame_inpainting_inside_the_hole(clip, tmp_path):
    made, files = clip
    out = run_job(REGISTRY, TASK, None, {"video": str(files["video"]), "mask": str(files[
        "mask"])}, {"dilate": 4}, root=tmp_path)
    cleaned = read_frames(out.outputs["video"])
    holes = [frame[..., 0] > 127 for frame in read_frames(out.outputs["mask"])]
    source = read_frames(files["video"])
    assert len(cleaned) == len(holes) == len(made.frames)
    # The hole covers the sprite in every frame (it was carried, not given per frame).
    assert all(h[m].mean() > 0.97 for h, m in zip(holes, made.masks, strict=True))
    ours = _inside(cleaned, made.clean, holes)
    per_frame = _inside([telea(f, h.astype(np.uint8) * 255) for f, h in zip(source, holes,
                                                                            strict=True)],
                        made.clean, holes)
    assert ours > per_frame + 6.0, (ours, per_frame)
    # Outside the hole the frames are the input's (up to the encoder).
    outside = ~np.stack(holes)
    assert psnr(np.stack(cleaned)[outside], np.stack(source)[outside]) > 40


def _iou(mask: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = box
    other = np.zeros_like(mask)
    other[y0:y1, x0:x1] = True
    return float((mask & other).sum() / (mask | other).sum())


@pytest.mark.parametrize("target", ["box", "mask"])
def test_the_first_frame_mask_follows_the_sprite(clip, target):
    made, files = clip
    size = (made.frames[0].shape[1], made.frames[0].shape[0])
    first = M.box_mask(",".join(map(str, made.boxes[0])), size) if target == "box" else \
        M.load_mask_image(files["mask"], size)
    stream = M.frames_with_masks(files["video"], size=size, max_side=None, flow_side=480,
                                 first_mask=first)
    carried = [frame.mask for frame in stream]
    later = len(carried) * 3 // 4  # the sprite has moved about 70 px by then
    if target == "box":
        assert _iou(carried[later], made.boxes[later]) > 0.8
    else:  # the disc itself
        truth = made.masks[later]
        assert (carried[later] & truth).sum() / (carried[later] | truth).sum() > 0.85
    # Standing still, the mask does not follow it: the flow moved it.
    assert _iou(first, made.boxes[later]) < 0.1


def test_flow_completion_fills_the_hole_smoothly():
    flow = np.zeros((40, 60, 2), np.float32)
    flow[..., 0] = np.linspace(0, 6, 60)[None, :]
    hole = np.zeros((40, 60), bool)
    hole[10:30, 20:40] = True
    damaged = flow.copy()
    damaged[hole] = (40.0, -40.0)  # the object's own motion
    filled = fill_flow(damaged, hole)
    assert np.array_equal(filled[~hole], flow[~hole])
    assert np.abs(filled[hole] - flow[hole]).max() < 1.0


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    made = scene(n=6)
    files = write_scene(folder, made)
    black = np.zeros_like(made.frames[0])
    files["empty"] = save_image(folder / "empty.png", black)
    files["small"] = save_image(folder / "small.png", cv2.resize(load_image(files["mask"]).rgb,
                                                                  (80, 60)))
    files["picture"] = save_image(folder / "picture.png", made.frames[0])
    return files


@pytest.mark.parametrize(("inputs", "settings", "words"), [
    ({}, {}, "Upload a video"),
    ({"video": "picture"}, {}, "still image; object removal needs a video"),
    ({"video": "video"}, {}, "Upload a mask image of the first frame"),
    ({"video": "video", "mask_video": "mask_video"}, {}, "set target to mask_video"),
    ({"video": "video", "mask": "empty"}, {}, "The mask is empty"),
    ({"video": "video", "mask": "small"}, {}, "The mask is 80x60 but the video's frames are "
                                              "160x120"),
    ({"video": "video", "mask": "mask_video"}, {}, "is a video; set target to mask_video"),
    ({"video": "video"}, {"target": "box"}, "Give the object's box"),
    ({"video": "video"}, {"target": "box", "box": "10,10,ten,20"}, "give it as x0,y0,x1,y1"),
    ({"video": "video"}, {"target": "box", "box": "200,10,300,20"}, "covers no pixel"),
    ({"video": "video"}, {"target": "mask_video"}, "Upload a mask video"),
    ({"video": "video", "mask_video": "picture"}, {"target": "mask_video"},
     "is a still image; set target to mask"),
    ({"video": "video", "mask_video": "empty_video"}, {"target": "mask_video"},
     "The mask video is empty"),
    ({"video": "video", "mask_video": "short_video"}, {"target": "mask_video"},
     "has 3 frames but the video has 6"),
    ({"video": "video", "mask": "mask"}, {"dilate": 99}, "'dilate'"),
])
def test_bad_inputs_get_one_sentence(bad, tmp_path, inputs, settings, words):
    files = dict(bad)
    folder = Path(bad["video"]).parent
    black = np.zeros((120, 160, 3), np.uint8)
    if "empty_video" in inputs.values():
        files["empty_video"] = _video(folder / "empty.mp4", [black] * 6)
    if "short_video" in inputs.values():
        files["short_video"] = _video(folder / "short.mp4", [black + 255] * 3)
    given = {k: str(files[v]) for k, v in inputs.items()}
    with pytest.raises(InputError) as err:
        run_job(REGISTRY, TASK, None, given, settings, root=tmp_path)
    message = str(err.value)
    assert words in message and message.count(". ") <= 1, message
    assert not list(tmp_path.rglob("*.mp4"))  # refused before any run folder


def _video(path: Path, frames) -> Path:
    with VideoWriter(path, 12) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def test_outputs_sound_and_mask_video_through_the_cli(tmp_path, capsys):
    made = scene(n=12, pan=PAN)
    files = write_scene(tmp_path / "in", made)
    rate = 16000
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate).astype(np.float32)
    with VideoWriter(tmp_path / "sound.mp4", 12, audio_samples=(tone, rate)) as writer:
        for frame in made.frames:
            writer.write(frame)
    out = tmp_path / "out"
    code = cli.main(["remove", str(tmp_path / "sound.mp4"), "--mask-video",
                     str(files["mask_video"]), "--target", "mask_video", "--dilate", "3",
                     "--quiet", "--out", str(out)], registry=REGISTRY)
    printed = capsys.readouterr()
    assert code == 0, printed.err
    video, mask, still = out / "removed.mp4", out / "mask.mp4", out / "clean_still.png"
    info = probe_video(video)
    assert info.has_audio and info.frame_count == len(read_frames(video)) == 12
    assert (info.width, info.height) == (160, 120)
    holes = [f[..., 0] > 127 for f in read_frames(mask)]
    assert len(holes) == 12
    grown = [M.dilate(m, 3) for m in made.masks]
    assert all(((h ^ g).sum() / g.sum()) < 0.1 for h, g in zip(holes, grown, strict=True))
    plate = load_image(still).rgb
    assert plate.shape == (120, 160, 3)
    assert "Removed the object from 12 frames" in printed.out
    record = json.loads(next((Path(printed.out.split("run folder: ")[1].strip())).glob(
        "manifest.json")).read_text())
    assert record["task"] == "remove" and record["parameters"]["target"] == "mask_video"
    assert set(record["outputs"]) == {"video", "mask", "still"}


def test_the_median_of_the_frames_that_show_a_pixel_is_numpys():
    from pipelines.remove.classical import shown_median

    rng = np.random.default_rng(0)
    values = rng.random((7, 50, 3)).astype(np.float32)
    shown = rng.random((7, 50)) > 0.5
    shown[3] = True  # every pixel shown at least once
    expected = np.nanmedian(np.where(shown[..., None], values, np.nan), axis=0)
    assert np.allclose(shown_median(values, shown), expected)


def test_the_app_serves_removal_at_its_api_name(tmp_path):
    from gradio_client import handle_file

    from tests.conftest import served_studio

    made = scene(n=8, pan=PAN)
    files = write_scene(tmp_path / "in", made)
    values = TASK.settings.defaults("remove.classical", "classical")
    values.update(target="box", box=",".join(map(str, made.boxes[0])))
    with served_studio(REGISTRY, tmp_path) as client:
        video, image, outputs, summary, manifest = client.predict(
            handle_file(str(files["video"])), None, None, "remove.classical", 0,
            *values.values(), None, api_name="/remove")
    shown = video["video"] if isinstance(video, dict) else video
    assert len(read_frames(shown)) == 8 and Path(image).suffix == ".png"
    assert len(outputs) == 3 and "Removed the object from 8 frames" in summary
    record = json.loads(Path(manifest).read_text())
    assert record["parameters"]["target"] == "box" and "prompt" not in record["parameters"]
