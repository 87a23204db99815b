"""Temporal quality of a video: warping error, flicker, motion and frame-to-frame SSIM.

Pure functions on arrays (no gradio, no registry). Frames are RGB ``HxWx3`` or grey ``HxW``
arrays, uint8 or float in [0, 1]. Optical flow is dense, ``HxWx2`` float32 in pixels, and
follows OpenCV's convention: ``flow = estimate_flow(a, b)`` means ``a[y, x] ~ b[y + fy, x + fx]``.
So the flow that brings the previous frame onto the current one is ``estimate_flow(cur, prev)``
(``warp(prev, flow)`` then lines up with ``cur``).

- :func:`warping_error`: mean squared difference (values in [0, 1]) between a frame and the
  previous frame warped onto it, over the pixels that are visible in both (Lai et al., 2018).
- :func:`flicker_index`: mean absolute change of low-frequency luminance between a frame and the
  motion-compensated previous frame, as a fraction of full scale: brightness pumping that the
  eye sees as flicker, blind to fine texture.
- :func:`motion_magnitude`: mean length of the flow vectors, in pixels per frame.
- :func:`frame_ssim`: SSIM of two consecutive frames' luminance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

FLOW_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
FLICKER_SIGMA = 8.0  # Gaussian blur (pixels) that leaves only the low frequencies for flicker


def to_float(frame: np.ndarray) -> np.ndarray:
    """``frame`` as float32 in [0, 1] (uint8 is divided by 255; floats are taken as is)."""
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) / 255.0
    return frame.astype(np.float32, copy=False)


def to_gray(frame: np.ndarray) -> np.ndarray:
    """Luminance as uint8 ``HxW`` (BT.601 weights, as OpenCV's RGB2GRAY)."""
    if frame.dtype != np.uint8:
        frame = np.clip(np.asarray(frame, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"frames must have the same shape; got {a.shape} and {b.shape}")


def estimate_flow(a: np.ndarray, b: np.ndarray, *, preset: str = "medium",
                  max_side: int | None = None) -> np.ndarray:
    """Dense flow from ``a`` to ``b`` (OpenCV DIS): ``a[y, x] ~ b[y + fy, x + fx]``.

    With ``max_side`` the flow is computed on frames downscaled so their longer side is at most
    that, then scaled back to full resolution (vectors multiplied by the same factor).
    """
    _check_pair(a, b)
    ga, gb = to_gray(a), to_gray(b)
    height, width = ga.shape
    scale = 1.0
    if max_side is not None and max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        ga = cv2.resize(ga, size, interpolation=cv2.INTER_AREA)
        gb = cv2.resize(gb, size, interpolation=cv2.INTER_AREA)
    dis = cv2.DISOpticalFlow_create(FLOW_PRESETS[preset])
    flow = dis.calc(ga, gb, None)
    if scale != 1.0:
        flow = resize_flow(flow, width, height)
    return flow


def resize_flow(flow: np.ndarray, width: int, height: int) -> np.ndarray:
    """A flow field resized to ``width`` x ``height``, its vectors scaled to match."""
    h, w = flow.shape[:2]
    if (w, h) == (width, height):
        return flow
    out = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= width / w
    out[..., 1] *= height / h
    return out


def _sample_grid(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return xs + flow[..., 0], ys + flow[..., 1]


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at ``(x + fx, y + fy)`` (bilinear; edges replicated)."""
    if image.shape[:2] != flow.shape[:2]:
        raise ValueError(f"image {image.shape[:2]} and flow {flow.shape[:2]} differ in size")
    map_x, map_y = _sample_grid(flow)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def inside_mask(flow: np.ndarray) -> np.ndarray:
    """Pixels whose flow target lies inside the frame."""
    height, width = flow.shape[:2]
    map_x, map_y = _sample_grid(flow)
    return (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)


def occlusion_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Pixels of the current frame that the previous frame also shows (True = visible).

    ``backward`` is the flow from the current frame to the previous one, ``forward`` the flow
    from the previous to the current. A pixel is visible when following ``backward`` and then
    ``forward`` comes back to where it started (within the tolerance of Sundaram et al., 2010:
    ``|b + f|^2 <= 0.01 (|b|^2 + |f|^2) + 0.5``) and its target lies inside the frame.
    """
    _check_pair(backward, forward)
    f_back = warp(forward, backward)
    round_trip = np.sum((backward + f_back) ** 2, axis=-1)
    bound = 0.01 * (np.sum(backward**2, axis=-1) + np.sum(f_back**2, axis=-1)) + 0.5
    return (round_trip <= bound) & inside_mask(backward)


def warping_error(prev: np.ndarray, cur: np.ndarray, flow: np.ndarray,
                  mask: np.ndarray | None = None) -> float:
    """Mean squared difference between ``cur`` and ``prev`` warped onto it by ``flow``.

    ``flow`` goes from ``cur`` to ``prev`` (``estimate_flow(cur, prev)``); values are in [0, 1]
    units. Only pixels whose flow stays inside the frame, and inside ``mask`` when given (the
    occlusion mask), count; 0.0 if none does.
    """
    _check_pair(prev, cur)
    valid = inside_mask(flow) if mask is None else mask & inside_mask(flow)
    if not valid.any():
        return 0.0
    diff = to_float(cur) - warp(to_float(prev), flow)
    squared = diff**2 if diff.ndim == 2 else np.mean(diff**2, axis=-1)
    return float(squared[valid].mean())


def flicker_index(prev: np.ndarray, cur: np.ndarray, flow: np.ndarray | None = None,
                  mask: np.ndarray | None = None) -> float:
    """Mean absolute change of blurred luminance (0..1) from ``prev`` (motion-compensated by
    ``flow`` when given) to ``cur``, over ``mask`` when given."""
    _check_pair(prev, cur)
    low_prev = cv2.GaussianBlur(to_gray(prev).astype(np.float32), (0, 0), FLICKER_SIGMA)
    low_cur = cv2.GaussianBlur(to_gray(cur).astype(np.float32), (0, 0), FLICKER_SIGMA)
    valid = np.ones(low_cur.shape, bool)
    if flow is not None:
        low_prev = warp(low_prev, flow)
        valid &= inside_mask(flow)
    if mask is not None:
        valid &= mask
    if not valid.any():
        return 0.0
    return float(np.abs(low_cur - low_prev)[valid].mean() / 255.0)


def motion_magnitude(flow: np.ndarray) -> float:
    """Mean length of the flow vectors, in pixels."""
    return float(np.linalg.norm(flow, axis=-1).mean())


def frame_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two frames' luminance (scikit-image, 7x7 window); 1.0 for identical frames."""
    from skimage.metrics import structural_similarity

    _check_pair(a, b)
    return float(structural_similarity(to_gray(a), to_gray(b), data_range=255))


@dataclass(frozen=True)
class PairFlow:
    """The flows between two consecutive guide frames and the visibility mask they give."""

    backward: np.ndarray  # current -> previous: warps the previous frame onto the current one
    forward: np.ndarray  # previous -> current
    mask: np.ndarray  # True where the current frame's pixel is visible in the previous one


def pair_flow(prev: np.ndarray, cur: np.ndarray, *, preset: str = "medium",
              max_side: int | None = None) -> PairFlow:
    """Backward and forward flow between two frames and their occlusion mask."""
    backward = estimate_flow(cur, prev, preset=preset, max_side=max_side)
    forward = estimate_flow(prev, cur, preset=preset, max_side=max_side)
    return PairFlow(backward, forward, occlusion_mask(backward, forward))


@dataclass(frozen=True)
class TemporalScores:
    """Per-pair temporal figures of a video (one value per consecutive pair of frames)."""

    warping_error: list[float]
    flicker: list[float]
    motion: list[float]
    ssim: list[float]

    def summary(self) -> dict[str, float]:
        """Means over the pairs (0.0 for a video of one frame)."""
        def mean(values: Sequence[float]) -> float:
            return float(np.mean(values)) if len(values) else 0.0

        return {"warping_error": mean(self.warping_error), "flicker": mean(self.flicker),
                "motion": mean(self.motion), "ssim": mean(self.ssim)}


def temporal_scores(frames: Iterable[np.ndarray], guides: Iterable[np.ndarray] | None = None, *,
                    preset: str = "medium", max_side: int | None = 480) -> TemporalScores:
    """Temporal figures of ``frames``, with the flow estimated on ``guides`` (the source video a
    stylised ``frames`` came from) or on ``frames`` themselves. Streams: holds two frames."""
    errors: list[float] = []
    flickers: list[float] = []
    motions: list[float] = []
    ssims: list[float] = []
    guide_iter = iter(guides) if guides is not None else None
    prev = prev_guide = None
    for frame in frames:
        guide = next(guide_iter) if guide_iter is not None else frame
        if prev is not None:
            flows = pair_flow(prev_guide, guide, preset=preset, max_side=max_side)
            errors.append(warping_error(prev, frame, flows.backward, flows.mask))
            flickers.append(flicker_index(prev, frame, flows.backward, flows.mask))
            motions.append(motion_magnitude(flows.backward))
            ssims.append(frame_ssim(prev, frame))
        prev, prev_guide = frame, guide
    return TemporalScores(errors, flickers, motions, ssims)
