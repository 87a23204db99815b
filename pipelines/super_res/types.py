"""What every super-resolution runner shares: request and result types, input checks, resampling.

No torch here: the classical runner, the job and the tab use these without importing a model
library.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipelines.errors import InputError, LimitExceeded
from pipelines.media import Limits, get_limits
from pipelines.super_res.settings import SCALE_MAX, SCALE_MIN
from pipelines.task import Progress

TASK = "super_res"
MIN_SIDE = 4  # pixels; smaller inputs hold too little to upscale (and break the models' padding)

__all__ = ["MIN_SIDE", "SCALE_MAX", "SCALE_MIN", "TASK", "Progress", "UpscaleRequest",
           "UpscaleResult", "check_input_size", "check_request", "check_scale", "output_size",
           "resample", "upscale_alpha"]


@dataclass(frozen=True)
class UpscaleRequest:
    """Frames of one size (RGB uint8 ``HxWx3``) to upscale by ``scale``.

    ``tile`` is the tile side in input pixels (0: chosen from free memory); ``overlap`` is the
    overlap between neighbouring tiles in input pixels (0: the runner's default).
    """

    frames: Sequence[np.ndarray]
    scale: float = 2.0
    tile: int = 0
    overlap: int = 0


@dataclass
class UpscaleResult:
    """Upscaled frames plus how they were made."""

    frames: list[np.ndarray]
    scale: float
    native_scale: int | None  # the model's own factor; None for the classical filter
    tile: int | None  # tile side used (input pixels); None when frames went through whole
    tiles_per_frame: int
    device: str
    dtype: str
    timings: dict[str, float] = field(default_factory=dict)


def output_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """``(width, height)`` of the result of upscaling by ``scale``."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def check_scale(scale: float) -> float:
    if not isinstance(scale, (int, float)) or not SCALE_MIN <= float(scale) <= SCALE_MAX:
        raise InputError(
            f"The scale must be a number from {SCALE_MIN:g} to {SCALE_MAX:g}; got {scale!r}."
        )
    return float(scale)


def check_input_size(width: int, height: int, scale: float, what: str = "image",
                     limits: Limits | None = None) -> tuple[int, int]:
    """Fail for inputs below :data:`MIN_SIDE` or results above the pixel limit; returns the
    output size."""
    if min(width, height) < MIN_SIDE:
        raise InputError(
            f"The {what} is {width}x{height} pixels; super-resolution needs at least "
            f"{MIN_SIDE}x{MIN_SIDE}. Upload a larger {what}."
        )
    limits = limits or get_limits()
    out_w, out_h = output_size(width, height, scale)
    if out_w * out_h > limits.max_pixels:
        largest = (limits.max_pixels / (width * height)) ** 0.5
        raise LimitExceeded(
            "max_pixels", out_w * out_h, limits.max_pixels,
            f"The result would be {out_w}x{out_h} pixels. Choose a scale of at most "
            f"{max(SCALE_MIN, int(largest * 10) / 10):g} for this {what}.",
        )  # fmt: skip
    return out_w, out_h


def check_request(request: UpscaleRequest) -> tuple[list[np.ndarray], tuple[int, int]]:
    """The request's frames as a list, all RGB uint8 of one size; and the output size."""
    frames = list(request.frames)
    if not frames:
        raise InputError("No frames to upscale: give at least one image.")
    first = frames[0]
    for frame in frames:
        if (not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3
                or frame.shape[2] != 3):
            raise InputError("Frames to upscale must be RGB uint8 arrays of shape HxWx3.")
        if frame.shape != first.shape:
            raise InputError(
                f"Frames upscaled together must share one size; got {frame.shape[1]}x"
                f"{frame.shape[0]} after {first.shape[1]}x{first.shape[0]}."
            )
    if request.tile < 0 or request.overlap < 0:
        raise InputError("The tile size and the overlap must be 0 (automatic) or positive.")
    scale = check_scale(request.scale)
    size = check_input_size(first.shape[1], first.shape[0], scale)
    return frames, size


def resample(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized to ``size`` (width, height): Lanczos to enlarge, area to shrink."""
    import cv2

    height, width = image.shape[:2]
    if (width, height) == size:
        return image
    shrink = size[0] * size[1] < width * height
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=interpolation))


def upscale_alpha(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An ``HxW`` uint8 alpha channel resized to ``size``.

    Enlarging uses Lanczos clamped to the 3x3 range of a bilinear resize: edges stay sharp and
    Lanczos' ringing cannot leave faint halos in fully transparent or opaque areas.
    """
    import cv2

    if alpha.shape[::-1] == size:
        return alpha
    if size[0] * size[1] < alpha.size:
        return cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    source = alpha.astype(np.float32)
    sharp = cv2.resize(source, size, interpolation=cv2.INTER_LANCZOS4)
    smooth = cv2.resize(source, size, interpolation=cv2.INTER_LINEAR)
    kernel = np.ones((3, 3), np.uint8)
    sharp = np.clip(sharp, cv2.erode(smooth, kernel), cv2.dilate(smooth, kernel))
    return np.clip(np.rint(sharp), 0, 255).astype(np.uint8)
