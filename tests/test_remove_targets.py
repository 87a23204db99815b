"""Object removal's found targets: ``person`` (the person-mask network on every frame, on the real
carphone clip: the mask covers the man, the output changes inside it and not outside) and
``main_object`` (the largest moving region, on a generated still-camera clip: it follows the
sprite), and the one sentence each says when there is nothing to find."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.media import read_frames, write_video
from pipelines.remove import targets as T
from pipelines.task import run_job
from pipelines.tasks import task_by_id
from tests.remove_fixtures import scene, write_scene

TASK = task_by_id("remove")
FRAMES = 10  # of carphone, enough to see the masks follow the man
# carphone_pristine.mp4 (176x144): the man's head and neck, then his shoulders and suit (the
# box-level truth of tests/test_person_masks.py, measured by eye on frame 0; he barely moves).
PERSON_BOXES = ((59, 15, 114, 100), (40, 95, 176, 144))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture(scope="module")
def person_registry():
    from pipelines.networks import masks
    from tests import media_real

    registry = build_registry()
    registry.replace(masks.SPEC_ID, repo_id=str(media_real.spec_folder(masks.SPEC_ID)))
    return registry


@pytest.fixture(scope="module")
def carphone(tmp_path_factory) -> Path:
    from tests import media_real

    frames = media_real.read_frames(media_real.carphone_video(), limit=FRAMES)
    return write_video(tmp_path_factory.mktemp("carphone") / "carphone10.mp4", frames, 30.0)


def test_the_person_target_removes_the_man_in_carphone(person_registry, carphone, tmp_path):
    out = run_job(person_registry, TASK, None, {"video": str(carphone)},
                  {"target": "person", "dilate": 0}, root=tmp_path)
    holes = [f[..., 0] > 127 for f in read_frames(out.outputs["mask"])]
    truth = np.zeros((144, 176), bool)
    for x0, y0, x1, y1 in PERSON_BOXES:
        truth[y0:y1, x0:x1] = True
    assert len(holes) == FRAMES
    for hole in holes:
        assert iou(hole, truth) > 0.7
    assert any("found someone in 10 of 10 frames" in n for n in out.notes)
    before = np.stack(read_frames(carphone)).astype(np.float32)
    after = np.stack(read_frames(out.outputs["video"])).astype(np.float32)
    change = np.abs(after - before).mean(axis=-1)
    inside, outside = np.stack(holes), ~np.stack(holes)
    # Outside the hole only the re-encoding differs; inside, the man is painted over.
    assert change[outside].mean() < 3.0 and change[inside].mean() > 20.0
    grown = run_job(person_registry, TASK, None, {"video": str(carphone)},
                    {"target": "person", "dilate": 8}, root=tmp_path)
    wider = [f[..., 0] > 127 for f in read_frames(grown.outputs["mask"])]
    assert all(w.sum() > h.sum() and (w | h).sum() == w.sum() for w, h in zip(
        wider, holes, strict=True))  # dilation still applies: the hole grows around the mask


def test_no_person_in_any_frame_is_one_sentence(person_registry, tmp_path):
    """A lawn panning by (skimage's grass): the network marks no one."""
    import cv2
    from skimage import data

    lawn = cv2.cvtColor(data.grass(), cv2.COLOR_GRAY2RGB)
    frames = [np.ascontiguousarray(lawn[100:220, 4 * i:4 * i + 160]) for i in range(6)]
    video = write_video(tmp_path / "lawn.mp4", frames, 12.0)
    with pytest.raises(InputError, match="No person was found in any frame"):
        run_job(person_registry, TASK, None, {"video": str(video)}, {"target": "person"},
                root=tmp_path)


def test_the_main_object_is_the_moving_sprite(tmp_path):
    made = scene()
    files = write_scene(tmp_path / "in", made)
    track = T.main_object_track(files["video"], (160, 120), None, len(made.frames), 12.0)
    assert len(track) == len(made.frames) == track.covered()
    for found, truth in zip(track, made.masks, strict=True):
        assert iou(found, truth) > 0.7
    out = run_job(build_registry(), TASK, None, {"video": str(files["video"])},
                  {"target": "main_object"}, root=tmp_path)
    holes = [f[..., 0] > 127 for f in read_frames(out.outputs["mask"])]
    assert all(h[m].mean() > 0.95 for h, m in zip(holes, made.masks, strict=True))
    assert any("main moving object was found in 24 of 24" in n for n in out.notes)


@pytest.mark.parametrize("moving_camera", [True, False], ids=["moving-camera", "nothing-moves"])
def test_no_main_object_is_one_sentence(moving_camera, tmp_path):
    made = scene(n=12, pan=(2.0, 1.0) if moving_camera else (0.0, 0.0))
    frames = made.frames if moving_camera else made.clean  # a still texture, nothing on it
    video = write_video(tmp_path / "clip.mp4", frames, 12.0)
    with pytest.raises(InputError, match="The camera moves" if moving_camera else
                       "Nothing moves"):
        run_job(build_registry(), TASK, None, {"video": str(video)}, {"target": "main_object"},
                root=tmp_path)


def test_a_mask_track_gives_back_what_it_was_given():
    rng = np.random.default_rng(0)
    masks = [rng.random((7, 13)) > 0.5 for _ in range(3)] + [np.zeros((7, 13), bool)]
    track = T.MaskTrack((13, 7))
    for mask in masks:
        track.append(mask)
    assert len(track) == 4 and track.covered() == 3
    assert all((a == b).all() for a, b in zip(track, masks, strict=True))


def test_strokes_painted_in_the_editor_become_the_mask():
    from pipelines.remove.masks import drawn_mask

    layer = np.zeros((60, 80, 4), np.uint8)
    assert drawn_mask([layer], (80, 60)) is None and drawn_mask(None, (80, 60)) is None
    layer[10:20, 30:50] = (255, 59, 48, 255)  # a red stroke: any colour marks the object
    mask = drawn_mask([layer], (80, 60))
    assert mask.sum() == 200 and mask[10:20, 30:50].all()
    half = drawn_mask([layer], (40, 30))  # an editor that scaled the frame: back to its size
    assert half.shape == (30, 40) and half[5:10, 15:25].all() and half.sum() == 50


def test_the_tab_says_to_paint_when_nothing_was_painted(tmp_path):
    from gradio_client import handle_file

    from tabs.remove import NO_STROKES
    from tests.conftest import served_studio

    files = write_scene(tmp_path / "in", scene(n=4))
    values = TASK.settings.defaults("remove.classical", "classical")
    with served_studio(build_registry(), tmp_path) as client, pytest.raises(
            Exception, match=NO_STROKES.split(" (")[0]):
        client.predict(handle_file(str(files["video"])), None, None, "remove.classical", 0,
                       *values.values(), None, api_name="/remove")


def test_the_main_object_is_never_a_still_region_larger_than_it(monkeypatch, tmp_path):
    """A background model's ghost (a large region marked in every frame where nothing changes)
    is bigger than the moving sprite in the frame the sprite is found in: the main object is
    still the sprite, there and in every other frame."""
    from pipelines.maps import classical
    from pipelines.maps.types import MapFrame, MapsResult

    width, height, n = 96, 64, 6
    ghost = np.zeros((height, width), bool)
    ghost[4:34, 60:92] = True  # 960 pixels, never changing
    sprites, frames = [], []
    rng = np.random.default_rng(0)
    background = rng.integers(60, 200, (height, width, 3), dtype=np.uint8)
    for k in range(n):
        side = 14 if k == 3 else 10  # the sprite is largest (the seed) in frame 3
        mask = np.zeros((height, width), bool)
        mask[40:40 + side, 4 + 6 * k:4 + 6 * k + side] = True
        frame = background.copy()
        frame[mask] = (255, 255, 255)
        sprites.append(mask)
        frames.append(frame)

    def runner(request, progress):
        maps = (MapFrame(k, frames[k], sprites[k] | ghost) for k in range(n))
        return MapsResult("motion", maps, 12.0)

    monkeypatch.setattr(classical, "camera_moves", lambda request: (False, 0.0))
    monkeypatch.setattr(classical, "MapsRunner", lambda: runner)
    track = T.main_object_track(tmp_path / "clip.mp4", (width, height), None, n, 12.0)
    for found, sprite in zip(track, sprites, strict=True):
        assert not (found & ghost).any()
        assert iou(found, sprite) > 0.9
