"""What marks the object: masks from an image, a box or a mask video, and a first-frame mask
carried through the video along optical flow.

Flow is OpenCV DIS on grey frames downscaled to ``flow_side`` (the convention of
:mod:`metrics.video`: ``flow = estimate(a, b)`` means ``a[y, x] ~ b[y + fy, x + fx]``). A mask is
carried forward in time as one piece, by the object's motion: the forward flow inside it,
refined by aligning the object's pixels (see :class:`MaskCarrier`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from metrics.video import to_gray
from pipelines.errors import InputError
from pipelines.media import iter_frames, load_image
from pipelines.remove.types import RemoveRequest

FLOW_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
MASK_LEVEL = 127  # grey above this is "remove"
MIN_POINTS = 12  # flow samples inside the mask needed to fit its motion
ECC_MARGIN = 8  # px: how far ECC may move the flow's estimate of the object's motion
ANCHOR_SCORE = 0.85  # ECC correlation with the first frame's object needed to re-anchor


def parse_box(text: str, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``"x0,y0,x1,y1"`` (pixels of a ``size`` = (width, height) frame) -> the box, clipped."""
    width, height = size
    parts = [p for p in str(text or "").replace(" ", ",").split(",") if p]
    try:
        x0, y0, x1, y1 = (round(float(p)) for p in parts)
    except ValueError:
        raise InputError(f"The box is {text!r}; give it as x0,y0,x1,y1 in pixels of the "
                         f"{width}x{height} video (left, top, right, bottom).") from None
    (x0, x1), (y0, y1) = sorted((x0, x1)), sorted((y0, y1))
    x0, x1, y0, y1 = max(0, x0), min(width, x1), max(0, y0), min(height, y1)
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise InputError(f"The box {text!r} covers no pixel of the {width}x{height} video; give "
                         f"x0,y0,x1,y1 with x0 < x1 <= {width} and y0 < y1 <= {height}.")
    return x0, y0, x1, y1


def box_mask(text: str, size: tuple[int, int]) -> np.ndarray:
    x0, y0, x1, y1 = parse_box(text, size)
    mask = np.zeros((size[1], size[0]), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def binary(rgb: np.ndarray) -> np.ndarray:
    """White (light) pixels of a mask picture -> True."""
    return to_gray(rgb) > MASK_LEVEL


def load_mask_image(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """A mask picture (white = remove) of the video's ``size`` (width, height) as a bool array;
    one sentence when it has another size or no white pixel. Transparent pixels count as
    black."""
    image = load_image(path)
    rgb = image.rgb if image.alpha is None else (image.rgb * (image.alpha[..., None] > 127))
    if (image.width, image.height) != size:
        raise InputError(f"The mask is {image.width}x{image.height} but the video's frames are "
                         f"{size[0]}x{size[1]}; give a mask of the video's size (white = "
                         "remove).")
    mask = binary(rgb.astype(np.uint8))
    if not mask.any():
        raise InputError("The mask is empty (no white pixel); paint the object to remove in "
                         "white on black.")
    return mask


def drawn_mask(layers: list[np.ndarray] | None, size: tuple[int, int]) -> np.ndarray | None:
    """The mask painted in an image editor's layers (RGBA; any stroke, whatever its colour, is
    "remove") at the video's ``size`` (width, height), or None when nothing was painted. A
    layer of another size (an editor that scaled the frame) is scaled to ``size``."""
    mask = np.zeros((size[1], size[0]), bool)
    for layer in layers or []:
        layer = np.asarray(layer)
        if layer.ndim != 3 or layer.shape[2] != 4:
            continue
        painted = layer[..., 3] > 0
        if (painted.shape[1], painted.shape[0]) != size:
            painted = resize_mask(painted, size)
        mask |= painted
    return mask if mask.any() else None


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    if pixels <= 0 or not mask.any():
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A bool mask at ``size`` (width, height); a pixel is set where any of its area is."""
    if (mask.shape[1], mask.shape[0]) == size:
        return mask
    area = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return area > 0.0


@dataclass
class Flows:
    """The flows between frame ``t-1`` and frame ``t`` at the flow size (``scale`` = flow size /
    working size): ``forward`` from ``t-1`` to ``t``, ``backward`` from ``t`` to ``t-1``."""

    forward: np.ndarray
    backward: np.ndarray
    scale: float


class FlowStream:
    """Grey frames at the flow size and the flows between consecutive ones (DIS, both ways)."""

    def __init__(self, size: tuple[int, int], flow_side: int):
        width, height = size
        self.scale = min(1.0, flow_side / max(width, height))
        self.small = (max(8, round(width * self.scale)), max(8, round(height * self.scale)))
        self._dis = cv2.DISOpticalFlow_create(FLOW_PRESET)
        self._prev: np.ndarray | None = None

    def grey(self, frame: np.ndarray) -> np.ndarray:
        return cv2.resize(to_gray(frame), self.small, interpolation=cv2.INTER_AREA)

    def push(self, frame: np.ndarray) -> Flows | None:
        grey = self.grey(frame)
        prev, self._prev = self._prev, grey
        if prev is None:
            return None
        return Flows(self._dis.calc(prev, grey, None), self._dis.calc(grey, prev, None),
                     self.scale)


def ecc(template: np.ndarray, mask: np.ndarray, image: np.ndarray, matrix: np.ndarray
        ) -> tuple[np.ndarray, float] | None:
    """Refine ``matrix`` (2x3, ``template``'s frame coordinates -> ``image``'s) so the pixels of
    ``template`` under ``mask`` line up with ``image`` (OpenCV's ECC, shift and rotation), on a
    crop around the mask. Returns the matrix and ECC's correlation, or None when ECC does not
    converge or moves the start by more than :data:`ECC_MARGIN` pixels."""
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return None
    height, width = mask.shape
    x0, x1 = max(0, xs.min() - ECC_MARGIN), min(width, xs.max() + ECC_MARGIN + 1)
    y0, y1 = max(0, ys.min() - ECC_MARGIN), min(height, ys.max() + ECC_MARGIN + 1)
    if min(x1 - x0, y1 - y0) < 8:
        return None
    linear, shift = matrix[:, :2], matrix[:, 2]
    origin = np.float32([x0, y0])
    there = np.round(linear @ origin + shift)  # the crop of ``image`` starts here
    size = (x1 - x0, y1 - y0)
    centre = (float(there[0] + (size[0] - 1) / 2), float(there[1] + (size[1] - 1) / 2))
    crop = cv2.getRectSubPix(image, size, centre).astype(np.float32)
    start = np.hstack([linear, (linear @ origin + shift - there)[:, None]]).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)
    try:
        score, found = cv2.findTransformECC(template[y0:y1, x0:x1].astype(np.float32), crop,
                                            start.copy(), cv2.MOTION_EUCLIDEAN, criteria,
                                            mask[y0:y1, x0:x1].astype(np.uint8), 3)
    except cv2.error:  # no convergence (a flat object, a cut)
        return None
    if np.abs(found[:, 2] - start[:, 2]).max() > ECC_MARGIN or \
            np.abs(found[:, :2] - start[:, :2]).max() > 0.2:
        return None
    linear = found[:, :2]
    out = np.hstack([linear, (found[:, 2] - linear @ origin + there)[:, None]])
    return out.astype(np.float32), float(score)


def compose(after: np.ndarray, before: np.ndarray) -> np.ndarray:
    """The 2x3 motion ``before`` followed by ``after``."""
    linear = after[:, :2] @ before[:, :2]
    return np.hstack([linear, (after[:, :2] @ before[:, 2] + after[:, 2])[:, None]]).astype(
        np.float32)


class MaskCarrier:
    """Carries the first frame's object mask through the video as one piece.

    Per-pixel flow is blurred at the object's edges (it mixes the object's motion with the
    background's), and warping a mask with it frame after frame makes it smear along the
    object's path. Instead the object's motion from the first frame is kept as one transform
    (shift and rotation), updated each frame: the median forward flow inside the mask (eroded,
    away from its edges) predicts the step; OpenCV's ECC alignment of the object's pixels in the
    previous frame refines it (variational flow underestimates a small object's motion against
    a still background); a second ECC against the first frame's pixels removes the drift that
    steps add up to, when the object still looks as it did (correlation at least
    :data:`ANCHOR_SCORE`). The mask is the first frame's, moved by that transform: it keeps its
    size, so an object that grows or changes shape a lot is better given as a mask video.
    """

    def __init__(self, mask: np.ndarray, first: np.ndarray):
        self.first_mask, self.first = mask, to_gray(first)
        self.matrix = np.float32([[1, 0, 0], [0, 1, 0]])
        self.mask, self.prev = mask, self.first

    def step(self, flows: Flows, frame: np.ndarray) -> np.ndarray:
        grey = to_gray(frame)
        height, width = grey.shape
        forward = flows.forward
        small = (forward.shape[1], forward.shape[0])
        inner = cv2.resize(self.mask.astype(np.uint8), small, interpolation=cv2.INTER_NEAREST)
        eroded = cv2.erode(inner, np.ones((3, 3), np.uint8), iterations=2)
        points = forward[(eroded if eroded.sum() >= MIN_POINTS else inner) > 0]
        if len(points):
            shift = np.median(points, axis=0) / flows.scale
            step = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
            refined = ecc(self.prev, self.mask, grey, step)
            self.matrix = compose(refined[0] if refined else step, self.matrix)
            anchored = ecc(self.first, self.first_mask, grey, self.matrix)
            if anchored is not None and anchored[1] >= ANCHOR_SCORE:
                self.matrix = anchored[0]
            moved = cv2.warpAffine(self.first_mask.astype(np.float32), self.matrix,
                                   (width, height), flags=cv2.INTER_LINEAR)
            self.mask = moved > 0.5
        self.prev = grey
        return self.mask


@dataclass
class Frame:
    """One frame of the stream: its index, pixels, object mask (undilated) and the flows from
    the frame before (None for the first)."""

    index: int
    rgb: np.ndarray
    mask: np.ndarray
    flows: Flows | None


def mask_frames(path: str | Path, size: tuple[int, int], max_side: int | None
                ) -> Iterator[np.ndarray]:
    """The masks of a mask video at the working ``size``, one per frame; after its last frame
    the last mask repeats."""
    last = None
    for _, rgb in iter_frames(path, max_side=max_side):
        if (rgb.shape[1], rgb.shape[0]) != size:
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_NEAREST)
        last = binary(rgb)
        yield last
    while last is not None:
        yield last


def repeat_last(masks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """``masks``, then the last of them for ever (a video may decode more frames than its
    masks were made for)."""
    last = None
    for last in masks:
        yield last
    while last is not None:
        yield last


def request_frames(request: RemoveRequest) -> Iterator[Frame]:
    """:func:`frames_with_masks` of a removal request: its video, working size and object
    masks (whichever of first mask, mask video and per-frame masks it holds)."""
    return frames_with_masks(request.video, size=request.size, max_side=request.max_side,
                             flow_side=request.flow_side, first_mask=request.first_mask,
                             mask_video=request.mask_video, masks=request.masks)


def frames_with_masks(video: str | Path, *, size: tuple[int, int], max_side: int | None,
                      flow_side: int, first_mask: np.ndarray | None = None,
                      mask_video: str | Path | None = None,
                      masks: Iterable[np.ndarray] | None = None, flows: bool = True
                      ) -> Iterator[Frame]:
    """Stream the video's frames at the working size with their object masks: the first mask
    carried along the flow, the mask video's, or ``masks`` (one per frame at the working size,
    e.g. a :class:`pipelines.remove.targets.MaskTrack`). With ``flows`` (always when carrying)
    each frame comes with the flows from the frame before."""
    if sum(x is not None for x in (first_mask, mask_video, masks)) != 1:
        raise ValueError("give exactly one of first_mask, mask_video and masks")
    stream = FlowStream(size, flow_side) if flows or first_mask is not None else None
    given = mask_frames(mask_video, size, max_side) if mask_video is not None else \
        repeat_last(masks) if masks is not None else None
    mask = carrier = None
    for index, rgb in iter_frames(video, max_side=max_side):
        if (rgb.shape[1], rgb.shape[0]) != size:
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        pair = stream.push(rgb) if stream is not None else None
        if given is not None:
            mask = next(given)
        elif carrier is None:
            mask, carrier = first_mask, MaskCarrier(first_mask, rgb)
        else:
            mask = carrier.step(pair, rgb)
        yield Frame(index, rgb, mask, pair)
