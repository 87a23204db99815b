"""One-image summary: a generated pan stitched back into its source, an action shot whose copies
sit where the sprite was, mosaics of known frames (grid, labels, timecodes, shots), bad input
refused with one sentence, and the CLI served from the task's declaration."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data
from skimage.metrics import structural_similarity

import cli
from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.media import load_image, save_image, write_video
from pipelines.summary import TASK
from pipelines.summary.frames import Span, sample, timecode
from pipelines.summary.mosaic import plan_grid, share_tiles
from pipelines.summary.panorama import largest_rectangle
from pipelines.task import run_job

REGISTRY = build_registry()
FPS = 12
MAGENTA = (255, 0, 255)


def summarise(video: Path, root: Path, **settings):
    out = run_job(REGISTRY, TASK, None, {"video": str(video)}, settings, root=root)
    return out, out.data["result"], load_image(out.outputs["image"]).rgb


def area(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------------------------
# Generated clips


@pytest.fixture(scope="module")
def pan(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    """A 2-second sideways pan: a 192x192 window sliding over a 192x384 strip of the astronaut
    photo; returns the video, the strip and each frame's left edge."""
    strip = area(data.astronaut(), (384, 384))[96:288]
    lefts = np.linspace(0, 192, 2 * FPS).round().astype(int)
    path = tmp_path_factory.mktemp("pan") / "pan.mp4"
    write_video(path, [np.ascontiguousarray(strip[:, x:x + 192]) for x in lefts], FPS)
    return path, strip, lefts


SPRITE = (12, 16)  # width, height
SPRITE_Y = 56


def sprite_x(index: int) -> int:
    return 8 + 6 * index


@pytest.fixture(scope="module")
def sprite(tmp_path_factory) -> Path:
    """A magenta block crossing a still textured photo, 6 pixels a frame, 24 frames."""
    background = area(data.coffee(), (192, 128))
    frames = []
    for i in range(24):
        frame = background.copy()
        x = sprite_x(i)
        cv2.rectangle(frame, (x, SPRITE_Y), (x + SPRITE[0] - 1, SPRITE_Y + SPRITE[1] - 1),
                      MAGENTA, -1)
        frames.append(frame)
    path = tmp_path_factory.mktemp("sprite") / "sprite.mp4"
    write_video(path, frames, FPS)
    return path


def level(index: int) -> int:
    return 20 + 7 * index


@pytest.fixture(scope="module")
def greys(tmp_path_factory) -> Path:
    """30 plain frames; frame i is grey level 20 + 7 i, so each tile says which frame it is."""
    path = tmp_path_factory.mktemp("greys") / "greys.mp4"
    write_video(path, [np.full((72, 128, 3), level(i), np.uint8) for i in range(30)], FPS)
    return path


SHOT_PHOTOS = ("astronaut", "coffee", "chelsea")
SHOT_LENGTHS = (16, 32, 16)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """Three shots (16, 32 and 16 frames) of three photos, each drifting slowly."""
    photos = [area(getattr(data, name)(), (160, 120)) for name in SHOT_PHOTOS]
    frames = []
    for photo, length in zip(photos, SHOT_LENGTHS, strict=True):
        for i in range(length):
            shift = np.float32([[1, 0, -0.5 * i], [0, 1, 0]])
            moved = cv2.warpAffine(photo, shift, (160, 120), borderMode=cv2.BORDER_REFLECT)
            frames.append(np.ascontiguousarray(moved[12:108, 16:144]))
    path = tmp_path_factory.mktemp("shots") / "shots.mp4"
    write_video(path, frames, FPS)
    return path, [p[12:108, 16:144] for p in photos]


# --------------------------------------------------------------------------------------------
# Panorama


@pytest.mark.parametrize("crop", [False, True])
def test_a_pan_is_stitched_back_into_its_source(pan, tmp_path, crop):
    video, strip, lefts = pan
    out, result, picture = summarise(video, tmp_path, mode="panorama", frames=6, crop=crop)
    used = [u.index for u in result.used]
    assert len(used) == 6 and all(u.role == "stitched" for u in result.used)
    # The strip the used frames cover: from the first one's left edge to the last one's right.
    region = strip[:, lefts[used[0]]:lefts[used[-1]] + 192]
    height, width = region.shape[:2]
    assert picture.shape[1] > 1.4 * 192  # wider than any one frame
    score = structural_similarity(area(picture, (width, height)), region, channel_axis=2)
    # measured 0.88 uncropped (the empty border's few pixels shift the resized picture) and
    # 0.94 cropped; the same strip shifted by 60 pixels scores 0.11
    assert score >= (0.85 if crop else 0.8), score
    if crop:  # no empty border: every edge row and column holds picture
        assert picture.shape[0] >= 0.9 * height and picture.shape[1] >= 0.9 * width
        for edge in (picture[0], picture[-1], picture[:, 0], picture[:, -1]):
            assert (edge.max(axis=1) == 0).mean() < 0.2
    manifest = json.loads(out.manifest.read_text())
    assert [f["index"] for f in manifest["frames_used"]] == used
    assert manifest["frames_used"][0]["timecode"] == timecode(used[0] / FPS)
    assert manifest["parameters"]["mode"] == "panorama"


def test_frames_that_do_not_overlap_make_no_panorama(tmp_path):
    wide = area(data.astronaut(), (768, 384))[96:288]  # four disjoint 192-pixel windows
    video = tmp_path / "jumps.mp4"
    write_video(video, [np.ascontiguousarray(wide[:, x:x + 192]) for x in (0, 192, 384, 576)],
                FPS)
    with pytest.raises(InputError) as refused:
        summarise(video, tmp_path, mode="panorama", frames=4)
    message = str(refused.value)
    assert "panorama" in message and "closer together" in message and "\n" not in message
    assert not list(tmp_path.glob("summary/*"))  # the failed job left no run folder


def test_largest_rectangle_inside_a_mask():
    mask = np.zeros((10, 12), bool)
    mask[2:9, 1:7] = True  # 7 x 6 = 42
    mask[4:6, 7:12] = True  # a wider but thinner arm: 2 x 11 = 22
    assert largest_rectangle(mask) == (1, 2, 6, 7)


# --------------------------------------------------------------------------------------------
# Action shot


def magenta_blobs(picture: np.ndarray) -> list[tuple[float, float]]:
    """Centres (x, y) of the magenta regions of ``picture``."""
    red, green, blue = (picture[..., c].astype(int) for c in range(3))
    mask = ((red > 180) & (blue > 180) & (green < 90)).astype(np.uint8)
    count, _, stats, centres = cv2.connectedComponentsWithStats(mask)
    return [tuple(centres[i]) for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= 40]


def test_action_shot_shows_the_sprite_at_each_sampled_position(sprite, tmp_path):
    out, result, picture = summarise(sprite, tmp_path, mode="action", frames=6)
    subjects = result.info["subjects"]
    assert len(subjects) == 6 and subjects == sorted(subjects)
    assert subjects[-1] - subjects[0] >= 18  # spread over the clip
    found = sorted(magenta_blobs(picture))
    assert len(found) == 6, found
    for index, (x, y) in zip(subjects, found, strict=True):
        assert x == pytest.approx(sprite_x(index) + SPRITE[0] / 2 - 0.5, abs=1.5)
        assert y == pytest.approx(SPRITE_Y + SPRITE[1] / 2 - 0.5, abs=1.5)
    # Between the copies the photo shows, not the sprite: the background has no ghost.
    background = area(data.coffee(), (192, 128))
    gap = sprite_x(subjects[0]) + SPRITE[0] + 2
    assert np.abs(picture[SPRITE_Y + 8, gap].astype(int) - background[SPRITE_Y + 8, gap]).max() < 30
    roles = {u.role for u in result.used}
    assert roles == {"background", "subject"}
    assert "6 subject frames" in out.summary


def test_action_shot_every_kth_frame(sprite, tmp_path):
    _, result, picture = summarise(sprite, tmp_path, mode="action", frames=5, step=4)
    assert result.info["subjects"] == [0, 4, 8, 12, 16]
    xs = sorted(x for x, _ in magenta_blobs(picture))
    assert xs == pytest.approx([sprite_x(i) + 5.5 for i in (0, 4, 8, 12, 16)], abs=1.5)


def test_action_shot_needs_a_still_camera(pan, tmp_path):
    with pytest.raises(InputError, match="still camera"):
        summarise(pan[0], tmp_path, mode="action", frames=4)


# --------------------------------------------------------------------------------------------
# Keyframe mosaic


def test_mosaic_grid_tiles_and_labels(greys, tmp_path):
    out, result, picture = summarise(greys, tmp_path, frames=6, columns=3, max_side=640)
    grid = result.info["grid"]
    assert (grid["columns"], grid["rows"]) == (3, 2) and len(grid["boxes"]) == 6
    tile_w, tile_h = grid["tile"]
    label = grid["label_height"]
    assert label > 0
    assert picture.shape[:2] == (2 * (tile_h + label) + 3 * grid["gap"],
                                 3 * tile_w + 4 * grid["gap"])
    assert max(picture.shape[:2]) <= 640 and tile_w == 128  # never larger than the frames
    used = [u.index for u in result.used]
    steps = np.diff(used)
    assert len(used) == 6 and (steps == steps[0]).all() and used[0] > 0 and used[-1] < 29
    for (x, y, w, h), index in zip(grid["boxes"], used, strict=True):
        tile = picture[y:y + h, x:x + w].astype(float)
        assert tile.mean() == pytest.approx(level(index), abs=3)
        strip = picture[y + h:y + h + label, x:x + w]
        text = (strip.min(axis=2) > 150).mean()
        assert 0.02 < text < 0.5  # the timecode is written there
    frames_used = json.loads(out.manifest.read_text())["frames_used"]
    assert [f["timecode"] for f in frames_used] == [timecode(i / FPS) for i in used]
    assert frames_used[0]["timecode"].count(":") == 2 and len(frames_used[0]["timecode"]) == 12

    _, plain, bare = summarise(greys, tmp_path, frames=6, columns=3, max_side=640, labels=False)
    assert plain.info["grid"]["label_height"] == 0
    assert bare.shape[0] == 2 * tile_h + 3 * grid["gap"]


def test_mosaic_every_kth_frame_says_when_fewer_fit(greys, tmp_path):
    out, result, _ = summarise(greys, tmp_path, frames=5, step=10)
    assert [u.index for u in result.used] == [0, 10, 20]
    assert len(result.info["grid"]["boxes"]) == 3
    assert any("3 tiles, not 5" in note for note in out.notes)


def test_mosaic_from_scene_changes_shares_tiles_among_the_shots(shots, tmp_path):
    video, photos = shots
    _, result, picture = summarise(video, tmp_path, frames=4, selection="scenes")
    assert result.info["cuts"] == [16, 48]
    used = [u.index for u in result.used]
    shot_of = [int(np.searchsorted([16, 48], i, side="right")) for i in used]
    assert shot_of == [0, 1, 1, 2]  # the long shot gets the spare tile
    for (x, y, w, h), shot in zip(result.info["grid"]["boxes"], shot_of, strict=True):
        tile = picture[y:y + h, x:x + w].astype(float)
        distances = [np.abs(tile - area(p, (w, h))).mean() for p in photos]
        assert int(np.argmin(distances)) == shot


def test_tiles_are_shared_by_shot_length():
    assert share_tiles([(0, 10), (10, 40), (40, 50)], 4) == [1, 2, 1]
    assert share_tiles([(0, 10), (10, 40), (40, 52)], 2) == [0, 1, 1]  # the longest two
    assert sum(share_tiles([(0, 7), (7, 19), (19, 50)], 9)) == 9


def test_grid_fits_max_side_and_is_close_to_16_by_9():
    grid = plan_grid(9, (1920, 1080), 1280)
    assert (grid.columns, grid.rows) == (3, 3) and max(grid.size) <= 1280
    assert max(plan_grid(9, (1920, 1080), 1279).size) <= 1279
    with pytest.raises(InputError, match="max_side"):
        plan_grid(64, (1920, 1080), 64, columns=16)


def test_samples_stay_few_on_a_long_video():
    span = Span(Path("long.mp4"), None, 100, 100_100, np.zeros(0))
    assert len(sample(span, 9)) == 9 and sample(span, 9)[-1] < 100_100
    assert list(sample(span, 3, step=50)) == [100, 150, 200]


# --------------------------------------------------------------------------------------------
# Bad input: one sentence each


def test_bad_input_is_one_sentence(greys, tmp_path):
    picture = tmp_path / "still.png"
    save_image(picture, np.full((32, 32, 3), 90, np.uint8))
    disguised = tmp_path / "still.mp4"
    disguised.write_bytes(picture.read_bytes())
    short = tmp_path / "short.mp4"
    write_video(short, [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(5)], FPS)
    cases = [
        (picture, {}, "still image"),
        (disguised, {}, "still image"),
        (short, {"frames": 9}, "lower 'frames'"),
        (short, {"mode": "panorama", "frames": 6}, "lower 'frames'"),
        (short, {"mode": "action", "step": 10}, "lower 'step'"),
        (greys, {"start": 2.0, "end": 1.0}, "after the start"),
        (greys, {"start": 30.0}, "past the end"),
        (greys, {"frames": 65}, "'frames'"),
    ]
    for video, settings, expected in cases:
        with pytest.raises(InputError) as refused:
            summarise(video, tmp_path, **settings)
        message = str(refused.value)
        assert expected in message, message
        assert "\n" not in message and message.endswith("."), message
    assert not list(tmp_path.glob("summary/*"))


# --------------------------------------------------------------------------------------------
# Served from the declaration


def test_cli_writes_the_picture(sprite, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["summary", str(sprite), "--mode", "action", "--frames", "4", "--quiet",
                     "--out", str(out)], registry=REGISTRY)
    assert code == 0, capsys.readouterr().err
    assert len(magenta_blobs(load_image(out / "action.png").rgb)) == 4
    assert "Action shot" in capsys.readouterr().out
    code = cli.main(["summary", str(sprite), "--frames", "1", "--out", str(out)],
                    registry=REGISTRY)
    assert code == 2 and "'frames'" in capsys.readouterr().err
