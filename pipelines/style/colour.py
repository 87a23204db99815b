"""Colour and tone transfer and OpenCV painterly effects: the classical backend's building blocks.

Pure functions on RGB uint8 arrays. Style statistics are computed once per style image
(:class:`StyleStats`) so a video pays for them once, not per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

PALETTE_SIZE = 8  # colours of the cartoon preset, learnt from the style image
# Video frames are painted at half size: OpenCV's stylisation costs ~0.35 s of CPU a 768x576
# frame at full size and ~0.07 s at half (bench/style.py; docs/style.md).
VIDEO_PAINT_SCALE = 0.5
_EPS = 1e-3


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 -> CIE Lab float32 (L in 0..100)."""
    return cv2.cvtColor(np.multiply(rgb, np.float32(1 / 255), dtype=np.float32),
                        cv2.COLOR_RGB2LAB)


def from_lab(lab: np.ndarray) -> np.ndarray:
    """CIE Lab float32 -> RGB uint8 (out-of-gamut colours clipped, rounded to nearest)."""
    rgb = cv2.cvtColor(np.asarray(lab, np.float32), cv2.COLOR_LAB2RGB)
    # One saturating pass: 255 * rgb rounded and clipped to 0..255 as uint8.
    return cv2.addWeighted(rgb, 255.0, rgb, 0.0, 0.0, dtype=cv2.CV_8U)


@dataclass(frozen=True)
class StyleStats:
    """What the classical methods need of a style image."""

    image: np.ndarray  # RGB uint8 (for histogram matching)
    mean: np.ndarray  # Lab channel means, shape (3,)
    std: np.ndarray  # Lab channel standard deviations, shape (3,)

    @classmethod
    def of(cls, rgb: np.ndarray) -> StyleStats:
        lab = to_lab(rgb).reshape(-1, 3)
        return cls(rgb, lab.mean(axis=0), lab.std(axis=0))

    @cached_property
    def palette(self) -> np.ndarray:
        """(up to PALETTE_SIZE, 3) Lab colours, k-means centres of the style's pixels; learnt on
        first use (the cartoon preset's; a third of a second that the others need not pay)."""
        return _palette(to_lab(self.image).reshape(-1, 3))


def _palette(lab: np.ndarray) -> np.ndarray:
    """Deterministic k-means palette (fixed seed, subsampled pixels)."""
    step = max(1, len(lab) // 20_000)
    samples = np.ascontiguousarray(lab[::step], np.float32)
    k = min(PALETTE_SIZE, len(np.unique(samples.round(1), axis=0)))
    if k < 2:
        return samples[:1].copy()
    cv2.setRNGSeed(0)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, _, centres = cv2.kmeans(samples, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    return centres


def reinhard(content: np.ndarray, style: StyleStats) -> np.ndarray:
    """Reinhard et al. (2001): match each Lab channel's mean and deviation to the style's."""
    lab = to_lab(content)
    mean, std = (v.ravel() for v in cv2.meanStdDev(lab))  # one pass, in float64
    gain = style.std / np.maximum(std, _EPS)
    # (lab - mean) * gain + style.mean as one affine pass over the pixels.
    affine = np.zeros((3, 4), np.float64)
    affine[:, :3] = np.diag(gain)
    affine[:, 3] = style.mean - mean * gain
    return from_lab(cv2.transform(lab, affine))


def histogram(content: np.ndarray, style: StyleStats) -> np.ndarray:
    """Match each RGB channel's histogram to the style image's (scikit-image)."""
    from skimage.exposure import match_histograms

    matched = match_histograms(content, style.image, channel_axis=-1)
    return np.clip(matched + 0.5, 0, 255).astype(np.uint8)


def painting(content: np.ndarray, style: StyleStats, scale: float = 1.0) -> np.ndarray:
    """OpenCV's edge-preserving stylisation, in the style's colours.

    ``scale`` < 1 paints a frame reduced by that factor (the filter's spatial extent scaled
    with it, so regions and outlines keep their size relative to the picture) and enlarges the
    result back: about ``1 / scale**2`` times faster, with outlines about ``1 / scale`` pixels
    wide instead of one. Video frames use :data:`VIDEO_PAINT_SCALE`.
    """
    height, width = content.shape[:2]
    size = (round(width * scale), round(height * scale))
    if scale >= 1.0 or min(size) < 16:
        return reinhard(cv2.stylization(content, sigma_s=60, sigma_r=0.45), style)
    small = cv2.resize(content, size, interpolation=cv2.INTER_AREA)
    painted = reinhard(cv2.stylization(small, sigma_s=60 * scale, sigma_r=0.45), style)
    return cv2.resize(painted, (width, height), interpolation=cv2.INTER_LINEAR)


def cartoon(content: np.ndarray, style: StyleStats) -> np.ndarray:
    """Flat regions in the style's palette, outlined with dark edge lines."""
    smooth = cv2.bilateralFilter(content, 9, 60, 7)
    lab = to_lab(reinhard(smooth, style))
    flat = lab.reshape(-1, 3)
    # Nearest palette colour: |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 does not change argmin.
    scores = flat @ style.palette.T * -2.0 + np.sum(style.palette**2, axis=1)
    quantised = style.palette[np.argmin(scores, axis=1)].reshape(lab.shape)
    grey = cv2.medianBlur(cv2.cvtColor(content, cv2.COLOR_RGB2GRAY), 5)
    block = max(3, (min(content.shape[:2]) // 60) | 1)
    edges = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY,
                                  block, 5)
    out = from_lab(quantised)
    out[edges == 0] = (out[edges == 0] * 0.15).astype(np.uint8)
    return out


def pencil(content: np.ndarray, style: StyleStats) -> np.ndarray:
    """OpenCV's colour pencil sketch, tinted with the style's colours."""
    _, colour = cv2.pencilSketch(content, sigma_s=60, sigma_r=0.07, shade_factor=0.05)
    return reinhard(colour, style)


METHODS = {"reinhard": reinhard, "histogram": histogram, "painting": painting,
           "cartoon": cartoon, "pencil": pencil}


def keep_colours(stylised: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The stylised image's lightness with the content's colour (Lab a and b)."""
    lab = to_lab(content)
    lab[..., 0] = to_lab(stylised)[..., 0]
    return from_lab(lab)


def mix(a: np.ndarray, b: np.ndarray, weight: float) -> np.ndarray:
    """``a`` moved ``weight`` of the way towards ``b`` (uint8 in, uint8 out)."""
    if weight >= 1.0:
        return b
    if weight <= 0.0:
        return a
    return cv2.addWeighted(a, 1.0 - weight, b, weight, 0.0)
