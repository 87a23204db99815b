"""Masks the job finds itself, one per frame: the ``person`` and the ``main_object`` targets.

- ``person``: the person-mask network (``metrics.person-mask``, MediaPipe selfie segmentation;
  :mod:`pipelines.networks.masks`) on every frame, probability above one half (a frame where
  that covers under 0.2 % of it shows no one: specks on a lawn). A real mask per frame, so a
  person who turns, bends or walks is followed better than by a first-frame mask carried
  along the flow.
- ``main_object``: the moving-object masks of the maps task's classical backend (OpenCV's MOG2
  background model primed with a median of frames spread over the clip; see
  :mod:`pipelines.maps.classical`), each closed so one body is one region. The main object is
  the largest region over the whole clip that really moves in its frame (a tenth of its pixels
  change from the frame before; this skips a background model's *ghosts*, where something
  stood in the frames the model was primed with); its frame is the *seed*. From the seed it is
  followed forward and backward in time: in each frame, the regions that lie mostly within
  reach of the last mask (grown by :data:`REACH` of the frame's longer side) are the object.
  Background subtraction needs a still camera: a moving one is refused with a sentence.

The masks are held packed (one bit a pixel; a 640x360 frame is 29 kB) in a :class:`MaskTrack`,
which :func:`pipelines.remove.masks.frames_with_masks` streams beside the frames. Both kinds
are the object's own pixels: the runners grow them by ``dilate`` as every other target.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from pipelines.errors import InputError
from pipelines.media import iter_frames
from pipelines.progress import Progress, no_progress

PERSON_LEVEL = 0.5  # person probability above which a pixel is the person's
PERSON_MIN = 0.002  # a frame shows a person when they cover this share of it (less: specks)
CLOSE = 0.012  # main object: closing radius (share of the longer side) joining a body's parts
REACH = 0.04  # main object: how far (share of the longer side) it may move between frames
KEEP = 0.3  # main object: a region joins it when this share of its pixels is within reach
MIN_AREA = 0.001  # main object: the seed region covers at least this share of the frame
CHANGE = 10  # main object: grey change from the frame before that counts as motion (0-255)
MOVING_SHARE = 0.1  # ... the seed's share of pixels that changed (a background model's ghost:
# where something stood in the frames the model was primed with, nothing changes)
STILL_SHARE = 0.02  # ... and of a region that joins it (an object may pause; a ghost is dead)


class MaskTrack:
    """One boolean mask per frame at ``size`` (width, height), stored one bit a pixel."""

    def __init__(self, size: tuple[int, int]):
        self.size = size
        self._packed: list[bytes] = []

    def append(self, mask: np.ndarray) -> None:
        if (mask.shape[1], mask.shape[0]) != self.size:
            raise ValueError(f"mask of shape {mask.shape} in a track of size {self.size}")
        self._packed.append(np.packbits(mask.astype(bool), axis=None).tobytes())

    def __len__(self) -> int:
        return len(self._packed)

    def __getitem__(self, index: int) -> np.ndarray:
        width, height = self.size
        bits = np.unpackbits(np.frombuffer(self._packed[index], np.uint8), count=width * height)
        return bits.reshape(height, width).astype(bool)

    def __setitem__(self, index: int, mask: np.ndarray) -> None:
        self._packed[index] = np.packbits(mask.astype(bool), axis=None).tobytes()

    def __iter__(self) -> Iterator[np.ndarray]:
        for index in range(len(self)):
            yield self[index]

    def covered(self) -> int:
        """How many frames have at least one masked pixel."""
        return sum(any(packed) for packed in self._packed)


def _frames(video: Path, size: tuple[int, int], max_side: int | None
            ) -> Iterator[np.ndarray]:
    for _, rgb in iter_frames(video, max_side=max_side):
        if (rgb.shape[1], rgb.shape[0]) != size:
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        yield rgb


def person_track(video: Path, size: tuple[int, int], max_side: int | None, count: int,
                 segmenter, progress: Progress = no_progress) -> MaskTrack:
    """The person mask of every frame (``segmenter``: the ``metrics.person-mask`` runner); one
    sentence when no frame shows anyone."""
    track = MaskTrack(size)
    for done, rgb in enumerate(_frames(video, size, max_side), 1):
        mask = segmenter.mask(rgb) > PERSON_LEVEL
        track.append(mask if mask.mean() >= PERSON_MIN else np.zeros_like(mask))
        progress(min(1.0, done / max(1, count)), f"person masks {done}/{count}")
    if not track.covered():
        raise InputError(f"No person was found in any frame of '{Path(video).name}'; pick "
                         "another target (draw a mask on the first frame, give a box, or try "
                         "main_object for a moving object).")
    return track


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _regions(mask: np.ndarray, kernel: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    closed = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    return count, labels, stats[:, cv2.CC_STAT_AREA]


def _moving_share(labels: np.ndarray, areas: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """Per region: the share of its pixels whose grey changed from the frame before."""
    return np.bincount(labels[changed], minlength=len(areas)) / np.maximum(areas, 1)


def _follow(mask: np.ndarray, changed: np.ndarray, last: np.ndarray, kernel: np.ndarray,
            reach: np.ndarray) -> np.ndarray:
    """The regions of ``mask`` that lie mostly within reach of ``last`` (the object's mask in
    the frame next to this one) and are not ghosts (nothing in them changes)."""
    count, labels, areas = _regions(mask, kernel)
    if count < 2:
        return np.zeros_like(last)
    near = cv2.dilate(last.astype(np.uint8), reach) > 0
    inside = np.bincount(labels[near], minlength=count)
    keep = (inside >= KEEP * np.maximum(areas, 1)) & (
        _moving_share(labels, areas, changed) >= STILL_SHARE)
    keep[0] = False
    return keep[labels]


def main_object_track(video: Path, size: tuple[int, int], max_side: int | None, count: int,
                      fps: float, progress: Progress = no_progress) -> MaskTrack:
    """The main moving object's mask in every frame (see the module doc); one sentence when the
    camera moves or nothing moves."""
    from pipelines.maps.classical import MapsRunner, camera_moves
    from pipelines.maps.types import MapsRequest

    name = Path(video).name
    request = MapsRequest(Path(video), kind="motion", max_side=max_side or max(size),
                          max_frames=count, fps=fps, count=count)
    moves, motion = camera_moves(request)
    if moves:
        raise InputError(f"The camera moves in '{name}' (the background shifts {motion:.2f} px "
                         "a frame), and the main object is found against a still background; "
                         "draw a mask on the first frame or give a box instead.")
    side = max(size)
    kernel = _disc(max(1, round(CLOSE * side)))
    reach = _disc(max(2, round(REACH * side)))
    raw, changes = MaskTrack(size), MaskTrack(size)
    seed, seed_area, previous = -1, 0, None
    result = MapsRunner()(request, lambda f, d="": progress(0.7 * f, f"moving regions: {d}"))
    for item in result.maps:
        mask, rgb = item.map, item.rgb
        if (mask.shape[1], mask.shape[0]) != size:
            mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        grey = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (5, 5), 0)
        changed = cv2.absdiff(grey, grey if previous is None else previous) > CHANGE
        if previous is not None:  # the seed: the largest region that is really moving now
            regions, labels, areas = _regions(mask, kernel)
            areas = np.where(_moving_share(labels, areas, changed) >= MOVING_SHARE, areas, 0)
            largest = int(areas[1:].max()) if regions > 1 else 0
            if largest > seed_area:
                seed, seed_area = len(raw), largest
        previous = grey
        raw.append(mask)
        changes.append(changed)
    if seed < 0 or seed_area < MIN_AREA * size[0] * size[1]:
        raise InputError(f"Nothing moves in '{name}' against its background, so there is no "
                         "main object to find; draw a mask on the first frame or give a box "
                         "instead.")
    _, labels, areas = _regions(raw[seed], kernel)  # the seed region, chosen as above
    areas = np.where(_moving_share(labels, areas, changes[seed]) >= MOVING_SHARE, areas, 0)
    track = MaskTrack(size)
    for _ in range(len(raw)):
        track.append(np.zeros((size[1], size[0]), bool))
    track[seed] = labels == int(np.argmax(areas[1:]) + 1)
    done = 1
    for order in (range(seed + 1, len(raw)), range(seed - 1, -1, -1)):
        last = track[seed]
        for index in order:
            found = _follow(raw[index], changes[index] if index else changes[1], last,
                            kernel, reach)
            track[index] = found
            if found.any():
                last = found
            done += 1
            progress(0.7 + 0.3 * done / len(raw), f"following the main object {done}/{len(raw)}")
    return track
