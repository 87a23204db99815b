"""Square face crops for LivePortrait and the feathered paste-back into the full picture.

LivePortrait sees a 256x256 crop around the face, about 2.3 face sizes wide and centred a little
above the face box (hair and chin included), and renders 512x512. Here the crop comes from any
face box (x, y, w, h): the studio's landmark model, a caller's detector or Haar cascades.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.errors import InputError

CROP_SIZE = 256
CROP_SCALE = 2.3  # crop side / face box side (the published crop config's scale)
CROP_SHIFT_Y = -0.125  # crop centre moved up by this fraction of the crop side's base size

BoxLike = tuple[float, float, float, float]
FindBox = Callable[[np.ndarray], "BoxLike | None"]


def as_box(box) -> BoxLike | None:
    """(x, y, w, h) from a tuple, a list, a numpy row or an object with x/y/w/h (faces.Box)."""
    if box is None:
        return None
    if all(hasattr(box, a) for a in ("x", "y", "w", "h")):
        box = (box.x, box.y, box.w, box.h)
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError) as err:
        raise InputError(f"A face box must be (x, y, width, height); got {box!r}.") from err
    if not (w > 0 and h > 0) or not all(np.isfinite((x, y, w, h))):
        raise InputError(f"A face box needs a positive, finite width and height; got {box!r}.")
    return x, y, w, h


def haar_boxes(rgb: np.ndarray) -> list[BoxLike]:
    """Frontal faces from OpenCV's Haar cascade (the fallback detector), largest first."""
    from pipelines.faces import detect_faces

    return [as_box(face.box) for face in detect_faces(rgb)]


@dataclass(frozen=True)
class Crop:
    """A square region of a picture: ``side`` pixels wide with its top-left at (x0, y0)."""

    x0: int
    y0: int
    side: int

    @classmethod
    def around(cls, box: BoxLike, scale: float = CROP_SCALE, shift_y: float = CROP_SHIFT_Y):
        x, y, w, h = box
        base = max(w, h)
        side = max(8, round(base * scale))
        cx, cy = x + w / 2, y + h / 2 + shift_y * base
        return cls(round(cx - side / 2), round(cy - side / 2), side)

    @classmethod
    def centre_square(cls, width: int, height: int) -> Crop:
        side = min(width, height)
        return cls((width - side) // 2, (height - side) // 2, side)

    def cut(self, rgb: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
        """The crop resized to ``size`` x ``size``; outside the picture, edge pixels repeat."""
        h, w = rgb.shape[:2]
        pad = max(0, -self.x0, -self.y0, self.x0 + self.side - w, self.y0 + self.side - h)
        src = rgb
        if pad:
            src = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = self.x0 + pad, self.y0 + pad
        patch = src[y0 : y0 + self.side, x0 : x0 + self.side]
        interp = cv2.INTER_AREA if self.side > size else cv2.INTER_LINEAR
        return cv2.resize(patch, (size, size), interpolation=interp)

    def to_crop(self, size: int) -> np.ndarray:
        """2x3 affine from picture pixels to the pixels of this crop rendered at ``size``."""
        k = size / self.side
        return np.array([[k, 0.0, -self.x0 * k], [0.0, k, -self.y0 * k]], dtype=np.float64)


def feather_mask(size: int, margin: float = 0.1, blur: float = 0.06) -> np.ndarray:
    """(size, size) float32 weights: 1 inside, falling smoothly to 0 well before the crop's edge.

    An ellipse inset by ``margin`` of the side, blurred by ``blur`` of the side, so the neck and
    the hair blend into the untouched picture and the crop's square never shows.
    """
    mask = np.zeros((size, size), np.float32)
    c = size / 2
    axes = (round(size * (0.5 - margin)), round(size * (0.5 - margin)))
    cv2.ellipse(mask, (round(c), round(c)), axes, 0, 0, 360, 1.0, thickness=-1)
    sigma = max(1.0, blur * size)
    return cv2.GaussianBlur(mask, (0, 0), sigma)


class PasteBack:
    """Blends rendered crops back into one full-size picture (the crop never moves)."""

    def __init__(self, picture: np.ndarray, crop: Crop, render_size: int):
        self.picture = picture
        self.height, self.width = picture.shape[:2]
        self.matrix = crop.to_crop(render_size)
        self.render_size = render_size
        mask = cv2.warpAffine(
            feather_mask(render_size), self.matrix, (self.width, self.height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0,
        )  # fmt: skip
        self.alpha = mask[..., None]
        self.base = picture.astype(np.float32) * (1.0 - self.alpha)

    def __call__(self, rendered: np.ndarray) -> np.ndarray:
        if rendered.shape[:2] != (self.render_size, self.render_size):
            rendered = cv2.resize(rendered, (self.render_size, self.render_size))
        full = cv2.warpAffine(
            rendered, self.matrix, (self.width, self.height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
        out = self.base + full.astype(np.float32) * self.alpha
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def check_rgb(image: np.ndarray, what: str) -> np.ndarray:
    """An (H, W, 3) uint8 array, or a clear error naming ``what``."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or min(arr.shape[:2]) < 16:
        raise InputError(
            f"The {what} must be an RGB picture at least 16 pixels on each side; "
            f"got an array of shape {arr.shape}."
        )
    arr = arr[..., :3]
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and arr.size and float(np.nanmax(arr)) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


BoxSource = Sequence | FindBox | None


class BoxTracker:
    """Face boxes for a stream of driving frames, holding the last good box when one is lost.

    ``source``: a sequence of boxes (None entries allowed), a ``find_box(rgb)`` callable, or None
    (the whole frame, centre square, is the driver's crop: LivePortrait's own default for driving
    videos, which are expected to be framed on a face already).
    """

    def __init__(self, source: BoxSource):
        self.source = source
        self.last: Crop | None = None
        self.lost = 0  # frames whose face was not found (the last good box was held)

    def crop_for(self, index: int, rgb: np.ndarray) -> Crop:
        h, w = rgb.shape[:2]
        if self.source is None:
            return Crop.centre_square(w, h)
        if callable(self.source):
            box = as_box(self.source(rgb))
        else:
            box = as_box(self.source[index]) if index < len(self.source) else None
        if box is None:
            self.lost += 1
            return self.last if self.last is not None else Crop.centre_square(w, h)
        self.last = Crop.around(box)
        return self.last
