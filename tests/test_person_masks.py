"""Person masks (pipelines/networks/masks.py) from MediaPipe's selfie segmentation model, read
out of the mediapipe 0.10.21 wheel into ~/.cache/spacetime (skipped with the reason when PyPI
cannot be reached), on a real clip and on pictures without anyone in them."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from pipelines.errors import InputError
from pipelines.networks import masks
from tests import media_real

# carphone_pristine.mp4, frame 0 (176x144): the man's outline measured by eye on the frame shown
# 4x with a 16-pixel grid. Head and neck: x 59-114, y 15-100; shoulders and suit: x 40-176,
# y 95-144 (his right shoulder leaves the frame at the right edge, the suit its bottom edge).
# The true outline is rounder than two boxes, so IoU with it tops out near 0.85.
PERSON_BOXES = ((59, 15, 114, 100), (40, 95, 176, 144))
# Background only: the striped seat at the left and the window at the top right.
BACKGROUND_BOXES = ((0, 40, 50, 100), (140, 0, 176, 60))


@pytest.fixture(scope="module")
def registry():
    from pipelines.catalog import build_registry

    folder = media_real.spec_folder(masks.SPEC_ID)
    registry = build_registry()
    spec = registry.get(masks.SPEC_ID)
    for name in spec.files:  # the spec's pin is the file's own digest
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == spec.sha256[name]
    registry.replace(masks.SPEC_ID, repo_id=str(folder))
    return registry


def _boxes(shape, boxes) -> np.ndarray:
    area = np.zeros(shape, bool)
    for x0, y0, x1, y1 in boxes:
        area[y0:y1, x0:x1] = True
    return area


def test_the_man_in_carphone_is_masked_where_he_is(registry):
    frame = media_real.read_frames(media_real.carphone_video(), limit=1)[0]
    mask = masks.person_mask(frame, registry)
    assert mask.shape == frame.shape[:2] and mask.dtype == np.float32
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    found, truth = mask > 0.5, _boxes(mask.shape, PERSON_BOXES)
    iou = (found & truth).sum() / (found | truth).sum()
    assert iou > 0.75, iou
    assert mask[_boxes(mask.shape, BACKGROUND_BOXES)].mean() < 0.05


def test_pictures_without_people_get_an_almost_empty_mask(registry):
    """A wall, a lawn, a rocket launch. (A selfie model expects someone in front: it does mask
    a cat's face in chelsea and the cup in coffee, as docs/models.md says.)"""
    import cv2
    from skimage import data

    runner = registry.load(masks.SPEC_ID)
    pictures = [cv2.cvtColor(data.brick(), cv2.COLOR_GRAY2RGB),
                cv2.cvtColor(data.grass(), cv2.COLOR_GRAY2RGB), data.rocket()]
    result = runner(masks.MaskRequest(pictures))
    for picture, mask in zip(pictures, result.masks, strict=True):
        assert mask.shape == picture.shape[:2]
        assert mask.mean() < 0.01 and (mask > 0.5).mean() < 0.005


def test_a_frame_that_is_not_rgb_is_one_sentence(registry):
    with pytest.raises(InputError, match="needs an RGB image"):
        masks.person_mask(np.zeros((8, 8), np.uint8), registry)
