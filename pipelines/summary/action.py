"""An action shot: the moving subject every few frames, composited over the still background.

The background is the per-pixel temporal median of frames sampled across the span (a subject
that keeps moving covers any one pixel in fewer than half of them, so the median is the scene
without it). Each subject frame's mask is where it differs from that background: the largest
colour difference per pixel (after a light blur against noise), thresholded, opened to drop
specks, closed to fill the subject's gaps, small blobs removed, edges feathered. Copies are
composited in time order, later over earlier. This needs a still camera: when most of the
picture differs from the median, or the frames shift against one another (phase
correlation), the camera moved and the request is refused.
"""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np

from pipelines.errors import InputError

MIN_BLOB = 0.0005  # blobs smaller than this share of the picture are noise
MOVING_CAMERA = 0.5  # a median mask share above this means the camera moves
SHIFT_SIDE = 256  # longer side of the grey frames the camera's motion is measured on
MAX_SHIFT = 0.01  # a median shift between background samples above this share of the side


def median_background(frames: list[np.ndarray]) -> np.ndarray:
    """The per-pixel temporal median of ``frames`` (RGB uint8, one size), row band by row
    band so the working copy stays small."""
    stack = np.stack(frames)
    out = np.empty(stack.shape[1:], np.uint8)
    band = max(1, (8 << 20) // max(1, stack[0, 0].nbytes * len(frames)))
    for top in range(0, stack.shape[1], band):
        out[top:top + band] = np.median(stack[:, top:top + band], axis=0).round()
    return out


def _kernel(side: int) -> np.ndarray:
    side = max(3, side | 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))


def subject_mask(frame: np.ndarray, background: np.ndarray, threshold: int) -> np.ndarray:
    """Where ``frame`` shows something the background does not (bool)."""
    height, width = frame.shape[:2]
    scale = max(height, width)
    blur = (max(3, scale // 200) | 1,) * 2
    diff = cv2.absdiff(cv2.GaussianBlur(frame, blur, 0), cv2.GaussianBlur(background, blur, 0))
    mask = (diff.max(axis=2) > threshold).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _kernel(scale // 250))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _kernel(scale // 60))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= MIN_BLOB * height * width
    return keep[labels]


def composite(background: np.ndarray, frames: list[np.ndarray],
              masks: list[np.ndarray]) -> np.ndarray:
    """The frames' subjects pasted over ``background`` in order, with feathered edges."""
    out = background.astype(np.float32)
    feather = (max(3, max(background.shape[:2]) // 300) | 1,) * 2
    for frame, mask in zip(frames, masks, strict=True):
        if not mask.any():
            continue
        alpha = cv2.GaussianBlur(mask.astype(np.float32), feather, 0)
        alpha = np.maximum(alpha, mask)[..., None]  # the subject itself stays opaque
        out += alpha * (frame.astype(np.float32) - out)
    return np.clip(out.round(), 0, 255).astype(np.uint8)


def camera_shift(frames: list[np.ndarray]) -> float:
    """The median shift between consecutive ``frames`` as a share of their longer side, by
    phase correlation of downscaled grey frames (the still background dominates it; a small
    moving subject does not)."""
    height, width = frames[0].shape[:2]
    scale = min(1.0, SHIFT_SIDE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    window = cv2.createHanningWindow(size, cv2.CV_32F)
    greys = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), size,
                        interpolation=cv2.INTER_AREA).astype(np.float32) for f in frames]
    shifts = [float(np.hypot(*cv2.phaseCorrelate(a, b, window)[0]))
              for a, b in pairwise(greys)]
    return float(np.median(shifts)) / max(size) if shifts else 0.0


def action_shot(background_frames: list[np.ndarray], subject_frames: list[np.ndarray],
                threshold: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """The composite and each subject frame's mask."""
    shift = camera_shift(background_frames)
    if shift > MAX_SHIFT:
        raise InputError(
            f"The camera moves (the scene shifts by a median {shift:.1%} of the picture "
            f"between the frames sampled): an action shot needs a still camera, so use a clip "
            f"filmed from a tripod, or mode 'panorama' for a pan or 'mosaic'.")
    background = median_background(background_frames)
    masks = [subject_mask(f, background, threshold) for f in subject_frames]
    shares = [float(m.mean()) for m in masks]
    if float(np.median(shares)) > MOVING_CAMERA:
        raise InputError(
            f"Most of the picture changes between frames (the subject masks cover a median "
            f"{np.median(shares):.0%} of it): an action shot needs a still camera, so use a "
            f"clip filmed from a tripod, or mode 'panorama' for a pan or 'mosaic'.")
    return composite(background, subject_frames, masks), masks
