"""Per-frame measurements on a downscaled frame, computed once and shared by every consumer.

A :class:`FrameAnalysis` holds what the shot detectors and the keyframe selector need, and no
pixels: a luma thumbnail and an edge-strength map of 8x8-pixel block means (both centred and
scaled to unit length, so comparing two frames is one dot product and is blind to global gain
and offset: a fade or a flash changes brightness, not structure), a hue histogram weighted by
chroma (also unchanged by fading to black or white), brightness statistics, sharpness and a
compact colour/texture descriptor for choosing and clustering keyframes.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipelines.keyframes.settings import Weights

CELL = 8  # thumbnails average CELL x CELL blocks of the analysis frame (32x18 for 256x144)
HUE_BINS = 16
CHROMA_HALF = 6.0  # mean chroma (0..255) at which colour gets half its weight in a distance
_HUE_LUT = (np.arange(256) * HUE_BINS // 180).clip(0, HUE_BINS - 1).astype(np.uint8)


def _unit(values: np.ndarray) -> np.ndarray:
    """``values`` flattened, centred and scaled to unit length (zeros if constant)."""
    flat = values.astype(np.float32).ravel()
    flat -= flat.mean()
    norm = float(np.linalg.norm(flat))
    return flat / norm if norm > 1e-6 else np.zeros_like(flat)


class FrameAnalysis:
    """Measurements of one RGB uint8 frame (already downscaled for analysis).

    The frame is cropped to whole 8x8 cells (at most 7 pixels off the right and bottom edges), so
    every thumbnail pixel is an exact block mean: ``width // 8`` x ``height // 8``.
    """

    __slots__ = ("_thumb_size", "chroma", "descriptor", "edges", "hue", "index", "luma", "mean",
                 "sharpness", "std")  # fmt: skip

    def __init__(self, index: int, rgb: np.ndarray):
        self.index = index
        height, width = rgb.shape[:2]
        if width >= 4 * CELL and height >= 4 * CELL:
            width, height = width - width % CELL, height - height % CELL
            rgb = rgb[:height, :width]
        thumb_size = (max(4, width // CELL), max(4, height // CELL))
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        mean, std = cv2.meanStdDev(gray)
        self.mean, self.std = float(mean[0, 0]), float(std[0, 0])
        small = cv2.resize(rgb, thumb_size, interpolation=cv2.INTER_AREA)
        thumb = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        self.luma = _unit(thumb)
        dx = cv2.Sobel(gray, cv2.CV_16S, 1, 0)
        dy = cv2.Sobel(gray, cv2.CV_16S, 0, 1)
        magnitude = cv2.addWeighted(cv2.convertScaleAbs(dx), 0.5, cv2.convertScaleAbs(dy), 0.5, 0)
        edge_thumb = cv2.resize(magnitude, thumb_size, interpolation=cv2.INTER_AREA)
        self.edges = _unit(edge_thumb)
        _, lap_std = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S))
        self.sharpness = float(lap_std[0, 0]) ** 2

        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
        chroma = cv2.multiply(hsv[..., 1], hsv[..., 2], scale=1 / 255)
        hue = np.bincount(cv2.LUT(hsv[..., 0], _HUE_LUT).ravel(), weights=chroma.ravel(),
                          minlength=HUE_BINS)  # fmt: skip
        total = float(hue.sum())
        self.chroma = total / chroma.size
        self.hue = (hue / total).astype(np.float32) if total > 0 else np.zeros(HUE_BINS, np.float32)

        joint = cv2.calcHist([hsv], [0, 1, 2], None, [8, 3, 3], [0, 180, 0, 256, 0, 256])
        colour = np.sqrt(joint.ravel() / max(1.0, float(joint.sum())))
        layout = cv2.resize(thumb, (8, 8), interpolation=cv2.INTER_AREA).ravel() / 255.0
        texture = cv2.resize(edge_thumb, (4, 4), interpolation=cv2.INTER_AREA).ravel() / 64.0
        self.descriptor = np.concatenate([colour, 0.5 * layout, 0.25 * texture]).astype(np.float32)
        self._thumb_size = thumb_size

    def is_plain(self, flat_std: float) -> bool:
        """Nearly uniform (black, white or any flat colour): structure cannot be compared."""
        return self.std < flat_std

    def phash(self) -> int:
        """64-bit perceptual hash: signs of the 8x8 lowest DCT frequencies against their median."""
        width, height = self._thumb_size
        block = self.luma.reshape(height, width)
        if width % 2 or height % 2:  # the DCT needs even sides
            block = block[: height - height % 2, : width - width % 2]
        low = cv2.dct(np.ascontiguousarray(block))[:8, :8].ravel()
        bits = np.zeros(64, bool)
        bits[: low.size] = low > np.median(low[1:])
        return int(np.packbits(bits).view(">u8")[0])


def distance(a: FrameAnalysis, b: FrameAnalysis, weights: Weights) -> float:
    """How different two frames look, 0 (same) to 1 (unrelated).

    A weighted mean of luma-structure and edge-structure decorrelation and of the hue histograms'
    total-variation distance; colour counts less when either frame has little chroma, where hue
    is noise.
    """
    luma = min(1.0, max(0.0, 1.0 - float(a.luma @ b.luma)))
    edges = min(1.0, max(0.0, 1.0 - float(a.edges @ b.edges)))
    colour = 0.5 * float(np.abs(a.hue - b.hue).sum())
    chroma = min(a.chroma, b.chroma)
    colour_weight = weights.colour * chroma / (chroma + CHROMA_HALF)
    total = weights.luma + weights.edges + colour_weight
    if total <= 0:
        return 0.0
    return (weights.luma * luma + weights.edges * edges + colour_weight * colour) / total


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two perceptual hashes."""
    return (a ^ b).bit_count()
