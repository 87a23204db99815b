"""A panning shot stitched into one picture with OpenCV's :class:`cv2.Stitcher`.

Frames sampled along the pan go to the stitcher in ``SCANS`` mode (affine registration: a camera
sliding sideways or a narrow pan; fast) or ``PANORAMA`` mode (rotation about the centre,
spherical warping: a wide pan turning on the spot). The stitcher finds features, matches
neighbours, estimates the motion, finds seams and blends; it keeps the largest set of frames
that overlap one another (:meth:`cv2.Stitcher.component`), so frames of another shot drop out
rather than spoil the picture. The empty border the warping leaves is cropped to the largest
rectangle every pixel of which some frame covers (the coverage comes from composing the
joined frames again as plain white images on the motion found).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from pipelines.errors import InputError

REGISTRATION_MPX = 0.6  # the stitcher's default registration resolution (megapixels)
MAX_GROWTH = 40.0  # a panorama larger than this many frames' area means the motion went wrong

_FAILURES = {
    getattr(cv2, "Stitcher_ERR_NEED_MORE_IMGS", 1):
        "too few of the sampled frames share enough detail with each other",
    getattr(cv2, "Stitcher_ERR_HOMOGRAPHY_EST_FAIL", 2):
        "the motion between the sampled frames could not be estimated",
    getattr(cv2, "Stitcher_ERR_CAMERA_PARAMS_ADJUST_FAIL", 3):
        "the camera's motion could not be made consistent across the frames",
}


def _advice(stitch: str) -> str:
    other = "panorama" if stitch == "scans" else "scans"
    return ("take frames closer together (more 'frames' or a smaller 'step'), limit 'start' "
            f"and 'end' to the panning part of the video, or set 'stitch' to '{other}'; a "
            "panorama needs frames that overlap by about a third or more")


def stitch(frames: list[np.ndarray], model: str, *, coverage: bool = False
           ) -> tuple[np.ndarray, list[int], np.ndarray | None]:
    """The stitched picture (RGB uint8), the positions in ``frames`` of those it joined and,
    with ``coverage``, where the picture has content (bool): the joined frames composed again
    as plain white images on the motion already found (the picture itself may hold black).

    OpenCV composes new images only when every input joined (with a subset its indices point
    past the images it keeps), so when some frames dropped out the joined ones are stitched
    again on their own (at most twice)."""
    positions = list(range(len(frames)))
    for _ in range(3):
        stitcher, pano, joined = _stitch_once([frames[i] for i in positions], model)
        joined = [positions[i] for i in joined]
        complete = len(joined) == len(positions)
        if len(joined) < max(2, math.ceil(len(frames) / 2)):
            raise InputError(f"Only {len(joined)} of the {len(frames)} sampled frames overlap "
                             f"one another, too few for a panorama: {_advice(model)}.")
        if complete or not coverage:
            break
        positions = joined
    mask = None
    if coverage and complete:
        white = [np.full_like(frames[i], 255) for i in positions]
        status, plain = stitcher.composePanorama(white)
        if status == cv2.Stitcher_OK and plain is not None and plain.shape == pano.shape:
            mask = plain.min(axis=2) > 127
    return cv2.cvtColor(pano, cv2.COLOR_BGR2RGB), joined, mask


def _stitch_once(frames: list[np.ndarray], model: str) -> tuple[cv2.Stitcher, np.ndarray,
                                                                  list[int]]:
    mode = cv2.Stitcher_SCANS if model == "scans" else cv2.Stitcher_PANORAMA
    cv2.setRNGSeed(0)  # the stitcher's RANSAC draws from OpenCV's global generator: same frames,
    # same picture, whatever ran in this process before
    stitcher = cv2.Stitcher.create(mode)
    stitcher.setRegistrationResol(REGISTRATION_MPX)
    bgr = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames]
    try:
        status, pano = stitcher.stitch(bgr)
    except cv2.error as err:  # OpenCV asserts on degenerate motion estimates
        raise InputError(f"The frames could not be stitched ({_short(err)}): "
                         f"{_advice(model)}.") from err
    if status != cv2.Stitcher_OK or pano is None or pano.size == 0:
        why = _FAILURES.get(status, f"the stitcher stopped with status {status}")
        raise InputError(f"The frames do not make a panorama ({why}): {_advice(model)}.")
    height, width = frames[0].shape[:2]
    if pano.shape[0] * pano.shape[1] > MAX_GROWTH * width * height:
        raise InputError(f"The stitched frames make an implausible picture "
                         f"({pano.shape[1]}x{pano.shape[0]} from {width}x{height} frames): "
                         f"{_advice(model)}.")
    return stitcher, pano, sorted(int(i) for i in np.asarray(stitcher.component()).ravel())


def _short(err: cv2.error) -> str:
    text = str(err).strip().splitlines()
    return (text[-1] if text else "OpenCV error").strip()[:120]


def largest_rectangle(mask: np.ndarray) -> tuple[int, int, int, int]:
    """``(x, y, w, h)`` of the largest axis-aligned rectangle inside ``mask`` (all True),
    found with the histogram-and-stack method row by row."""
    height, width = mask.shape
    heights = np.zeros(width, dtype=np.int64)
    best = (0, 0, 0, 0)
    best_area = 0
    for row in range(height):
        heights = np.where(mask[row], heights + 1, 0)
        stack: list[int] = []
        for col in range(width + 1):
            current = int(heights[col]) if col < width else 0
            while stack and heights[stack[-1]] >= current:
                top = stack.pop()
                h = int(heights[top])
                left = stack[-1] + 1 if stack else 0
                area = h * (col - left)
                if area > best_area:
                    best_area = area
                    best = (left, row - h + 1, col - left, h)
            stack.append(col)
    return best


def crop_covered(pano: np.ndarray, mask: np.ndarray, work_side: int = 480) -> np.ndarray:
    """``pano`` cropped to the largest rectangle where ``mask`` (its coverage) holds
    everywhere (found on a copy whose longer side is ``work_side``, eroded by one working pixel
    so no empty edge is left)."""
    if mask.all():
        return pano
    height, width = mask.shape
    scale = min(1.0, work_side / max(height, width))
    small = cv2.resize(mask.astype(np.uint8), (max(1, round(width * scale)),
                                               max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    small = cv2.erode((small > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    x, y, w, h = largest_rectangle(small)
    if w == 0 or h == 0:
        return pano
    x0, y0 = int(np.ceil(x / scale)), int(np.ceil(y / scale))
    x1, y1 = min(width, int((x + w) / scale)), min(height, int((y + h) / scale))
    return np.ascontiguousarray(pano[y0:y1, x0:x1])
