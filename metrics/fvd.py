"""Fréchet Video Distance: Gaussian statistics of video features and their Fréchet distance.

Pure numpy (no torch, no registry). The features come from the ``metrics.i3d`` spec
(``pipelines/networks/i3d.py``), fed with clips made by :func:`clip_for_i3d`.

FVD (Unterthiner et al., 2018) fits a Gaussian to the I3D features of each set of videos and
reports the Fréchet (2-Wasserstein) distance between the two Gaussians::

    d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2)

0 for identical sets; lower is better. The matrix square roots are taken of symmetric positive
semi-definite matrices through ``eigh`` with tiny negative eigenvalues (round-off) clipped to 0,
so covariances estimated from fewer videos than feature dimensions (singular) are fine.

Clip preparation: :data:`I3D_FRAMES` frames sampled uniformly over the video (frames repeat when
it is shorter), each resized as VideoGPT's reference ``preprocess`` does: the shorter side to
:data:`I3D_SIZE` and the longer to ``ceil(side * scale)``, bilinear with half-pixel centres and
no antialiasing (``F.interpolate(mode="bilinear", align_corners=False)``), then centre-cropped
to ``I3D_SIZE x I3D_SIZE`` at offset ``(side - I3D_SIZE) // 2``. The resize runs on float
pixels and is rounded back to uint8 (within half a grey level of the reference's float clip).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

I3D_FRAMES = 16
I3D_SIZE = 224


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and covariance (d, d) of ``features`` (n, d), float64.

    The covariance is the unbiased estimate (divided by n - 1); one sample gives zeros.
    """
    data = np.asarray(features, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] == 0:
        raise ValueError(f"features must be a non-empty (n, d) array; got shape {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError("features contain NaN or infinite values")
    mean = data.mean(axis=0)
    if data.shape[0] == 1:
        return mean, np.zeros((data.shape[1], data.shape[1]))
    centred = data - mean
    return mean, centred.T @ centred / (data.shape[0] - 1)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2); never negative."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    dim = mu1.shape[0] if mu1.ndim == 1 else -1
    if mu2.shape != (dim,) or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(f"means must be (d,) and covariances (d, d) with the same d; got "
                         f"{mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}")
    if not all(np.isfinite(a).all() for a in (mu1, mu2, sigma1, sigma2)):
        raise ValueError("statistics contain NaN or infinite values")
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    eigen = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_root = float(np.sqrt(np.clip(eigen, 0.0, None)).sum())
    diff = mu1 - mu2
    distance = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_root)
    return max(distance, 0.0)


def fvd(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two sets of features (n, d) and (m, d)."""
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))


def i3d_frame_indices(frame_count: int) -> np.ndarray:
    """The :data:`I3D_FRAMES` frame indices sampled uniformly over a video of ``frame_count``
    frames (repeated when it is shorter), so a caller can decode only those frames."""
    if frame_count < 1:
        raise ValueError("a video needs at least one frame")
    return np.linspace(0, frame_count - 1, I3D_FRAMES).round().astype(int)


def frame_for_i3d(frame: np.ndarray) -> np.ndarray:
    """One (H, W, 3) frame resized so its shorter side is :data:`I3D_SIZE` (bilinear, as the
    reference) and centre-cropped to a square; uint8. Float input is taken as [0, 1]."""
    image = np.asarray(frame)
    if image.ndim != 3 or image.shape[-1] != 3 or not image.size:
        raise ValueError(f"a frame must be an (H, W, 3) array; got shape {image.shape}")
    if image.dtype != np.uint8:
        image = np.clip(image.astype(np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    height, width = image.shape[:2]
    scale = I3D_SIZE / min(height, width)
    if height < width:  # (width, height) for OpenCV, sized as the reference sizes them
        size = (math.ceil(width * scale), I3D_SIZE)
    else:
        size = (I3D_SIZE, math.ceil(height * scale))
    resized = cv2.resize(image.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    top, left = (size[1] - I3D_SIZE) // 2, (size[0] - I3D_SIZE) // 2
    crop = resized[top:top + I3D_SIZE, left:left + I3D_SIZE]
    return np.ascontiguousarray(np.clip(crop + 0.5, 0, 255).astype(np.uint8))


def clip_for_i3d(frames: np.ndarray) -> np.ndarray:
    """A (T, H, W, 3) video as the (I3D_FRAMES, I3D_SIZE, I3D_SIZE, 3) uint8 clip I3D expects:
    :func:`i3d_frame_indices` picks the frames, :func:`frame_for_i3d` resizes and crops each.

    For a long video on disk, decode only ``i3d_frame_indices(frame_count)`` and stack
    ``frame_for_i3d`` of each instead of holding every frame.
    """
    video = np.asarray(frames)
    if video.ndim != 4 or video.shape[-1] != 3 or not video.shape[0]:
        raise ValueError(f"a video must be a (T, H, W, 3) array; got shape {video.shape}")
    return np.stack([frame_for_i3d(video[i]) for i in i3d_frame_indices(video.shape[0])])
