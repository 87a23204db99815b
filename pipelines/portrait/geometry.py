"""Fitting a picture to a video model's resolution and restoring the result's aspect ratio.

Video models want sides that are multiples of 64 (SVD) or 32 (LTX-Video) near a trained area.
:func:`plan_fit` picks the model size whose aspect is closest to the picture's, then either crops
the picture to that aspect (keeping the face in view) or pads it with a blurred copy of itself.
:func:`restore` undoes the fit on each generated frame: padding is cut away, and the output has
the input's aspect ratio (exactly when padded; when cropped, exactly unless the crop had to cut
more than 5 percent, in which case the cropped aspect is kept and a note says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

MAX_ASPECT = 16 / 9
ASPECT_TOLERANCE = 0.05


@dataclass(frozen=True)
class FitPlan:
    """How a picture goes into a model and how its frames come back."""

    model_size: tuple[int, int]  # (width, height) the model runs at
    region: tuple[int, int, int, int]  # (x, y, w, h) of the picture that is used
    content: tuple[int, int, int, int]  # (x, y, w, h) of the picture inside the model frame
    output_size: tuple[int, int]  # (width, height) of the restored frames
    fit: str
    note: str | None = None


def model_size_for(width: int, height: int, area: int, multiple: int) -> tuple[int, int]:
    """Sides that are multiples of ``multiple``, about ``area`` pixels, aspect near the input's."""
    aspect = min(max(width / height, 1 / MAX_ASPECT), MAX_ASPECT)
    model_w = max(multiple, round(math.sqrt(area * aspect) / multiple) * multiple)
    model_h = max(multiple, round(math.sqrt(area / aspect) / multiple) * multiple)
    return model_w, model_h


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def plan_fit(width: int, height: int, *, area: int, multiple: int, fit: str,
             focus: tuple[float, float] | None = None,
             size: tuple[int, int] | None = None) -> FitPlan:
    """Plan a crop (around ``focus``, e.g. the face) or a pad of a picture of this size
    (into ``size`` when the model runs at one fixed size)."""
    model_w, model_h = size or model_size_for(width, height, area, multiple)
    model_aspect = model_w / model_h
    aspect = width / height
    note = None
    if fit == "crop":
        if aspect > model_aspect:
            rw, rh = round(height * model_aspect), height
        else:
            rw, rh = width, round(width / model_aspect)
        fx, fy = focus if focus is not None else (width / 2, height / 2)
        rx = int(min(max(fx - rw / 2, 0), width - rw))
        ry = int(min(max(fy - rh / 2, 0), height - rh))
        region = (rx, ry, rw, rh)
        content = (0, 0, model_w, model_h)
        if abs(math.log(model_aspect / aspect)) <= ASPECT_TOLERANCE:
            out_aspect = aspect  # a sliver was cropped: stretch it back unnoticeably
        else:
            out_aspect = rw / rh
            note = (f"The picture was cropped to {rw}x{rh} to fit the model's {model_w}x{model_h}; "
                    "choose 'pad' to keep all of it.")
    else:
        region = (0, 0, width, height)
        scale = min(model_w / width, model_h / height)
        cw, ch = round(width * scale), round(height * scale)
        content = ((model_w - cw) // 2, (model_h - ch) // 2, cw, ch)
        out_aspect = aspect
    long_side = min(max(model_w, model_h), max(region[2], region[3]))
    if out_aspect >= 1:
        output = (_even(long_side), _even(long_side / out_aspect))
    else:
        output = (_even(long_side * out_aspect), _even(long_side))
    return FitPlan((model_w, model_h), region, content, output, fit, note)


def to_model(image: np.ndarray, plan: FitPlan) -> np.ndarray:
    """The picture as the model sees it: cropped or padded, at the model's size (RGB uint8)."""
    x, y, w, h = plan.region
    part = image[y:y + h, x:x + w]
    model_w, model_h = plan.model_size
    if plan.fit == "crop":
        return cv2.resize(part, (model_w, model_h), interpolation=cv2.INTER_AREA)
    # Pad with the picture itself, stretched to cover and blurred, so the model sees no bars.
    cover = cv2.resize(part, (model_w, model_h), interpolation=cv2.INTER_AREA)
    canvas = cv2.GaussianBlur(cover, (0, 0), max(model_w, model_h) / 40)
    cx, cy, cw, ch = plan.content
    canvas[cy:cy + ch, cx:cx + cw] = cv2.resize(part, (cw, ch), interpolation=cv2.INTER_AREA)
    return canvas


def restore(frame: np.ndarray, plan: FitPlan) -> np.ndarray:
    """A generated frame with the padding cut away, at the plan's output size."""
    cx, cy, cw, ch = plan.content
    model_w, model_h = plan.model_size
    if frame.shape[:2] != (model_h, model_w):  # a model may round sizes; map the box with it
        sx, sy = frame.shape[1] / model_w, frame.shape[0] / model_h
        cx, cy, cw, ch = round(cx * sx), round(cy * sy), round(cw * sx), round(ch * sy)
    part = frame[cy:cy + ch, cx:cx + cw]
    interpolation = cv2.INTER_AREA if part.shape[1] > plan.output_size[0] else cv2.INTER_CUBIC
    return cv2.resize(part, plan.output_size, interpolation=interpolation)
