"""Texture and structure of stylised images: pure functions, arrays in, numbers out.

- :func:`texture_distance`: how far an image's texture statistics are from a reference's. The
  statistics are Gram matrices (channel correlations averaged over positions, as in Gatys et al.'s
  style loss) of a small fixed CNN whose filters are random, not trained (Ustyuzhaninov et al.,
  2016, showed random shallow networks capture texture well), run on the luminance high-pass: the
  image's luminance minus its Gaussian blur (sigma 3 px), so colour and slow shading do not count,
  brush strokes, edges and grain do. Three stages of 32 random 5x5 filters (fixed seed, unit
  norm, zero mean), ReLU, 2x2 average pooling between stages: texture at three scales. The
  distance is the Frobenius norm of the Gram differences over the reference's, averaged over the
  stages: 0 is the same texture; a stylised image should land much closer to its style image
  than the content was.
- :func:`edge_ssim`: whether the content's structure survives: SSIM of the two images' edge maps
  (Sobel gradient magnitude of the luminance after a sigma 1 blur, each map divided by its 99th
  percentile and clipped to 1). 1 is the same edges.

Images are ``HxWx3`` uint8 RGB (or float in [0, 1]); sizes may differ for the texture distance
(Gram matrices are averaged over positions), not for the edge SSIM. torch is imported on use.
"""

from __future__ import annotations

from functools import cache

import numpy as np

HIGHPASS_SIGMA = 3.0
EDGE_SIGMA = 1.0
STAGES = 3
FILTERS = 32
KERNEL = 5
SEED = 0
MAX_SIDE = 1024  # larger images are measured area-downscaled to this longer side


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma in [0, 1], float32."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"expected an HxWx3 RGB image; got shape {rgb.shape}")
    data = rgb[..., :3].astype(np.float32)
    if rgb.dtype == np.uint8:
        data /= 255.0
    return data @ np.array([0.299, 0.587, 0.114], np.float32)


def _limit(image: np.ndarray) -> np.ndarray:
    import cv2

    height, width = image.shape[:2]
    if max(height, width) <= MAX_SIDE:
        return image
    scale = MAX_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def highpass(rgb: np.ndarray) -> np.ndarray:
    """Luminance minus its Gaussian blur (sigma :data:`HIGHPASS_SIGMA`), float32."""
    import cv2

    y = luminance(_limit(np.asarray(rgb)))
    return y - cv2.GaussianBlur(y, (0, 0), HIGHPASS_SIGMA, borderType=cv2.BORDER_REFLECT)


@cache
def _filters() -> tuple[np.ndarray, ...]:
    """The fixed random filters of each stage: zero mean, unit norm (NumPy's seeded generator,
    the same on every machine)."""
    rng = np.random.default_rng(SEED)
    stages, channels = [], 1
    for _ in range(STAGES):
        w = rng.standard_normal((FILTERS, channels, KERNEL, KERNEL)).astype(np.float32)
        w -= w.mean(axis=(1, 2, 3), keepdims=True)
        w /= np.linalg.norm(w.reshape(FILTERS, -1), axis=1)[:, None, None, None]
        stages.append(w)
        channels = FILTERS
    return tuple(stages)


def gram_matrices(rgb: np.ndarray) -> list[np.ndarray]:
    """The Gram matrix (``FILTERS x FILTERS``, averaged over positions) of each stage."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(highpass(rgb))[None, None]
    grams = []
    with torch.inference_mode():
        for index, weights in enumerate(_filters()):
            if index:
                x = F.avg_pool2d(x, 2)
            if min(x.shape[-2:]) < KERNEL:
                raise ValueError("the image is too small for texture statistics (at least "
                                 f"{KERNEL * 2 ** (STAGES - 1)} pixels a side)")
            x = F.relu(F.conv2d(x, torch.from_numpy(weights)))
            flat = x.flatten(2)[0]
            grams.append((flat @ flat.T / flat.shape[1]).numpy())
    return grams


def texture_distance(image: np.ndarray, reference: np.ndarray) -> float:
    """Mean over stages of ``|G(image) - G(reference)| / |G(reference)|`` (Frobenius norms)."""
    ours, theirs = gram_matrices(image), gram_matrices(reference)
    return float(np.mean([np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12)
                          for a, b in zip(ours, theirs, strict=True)]))


def edge_map(rgb: np.ndarray) -> np.ndarray:
    """Gradient magnitude of the blurred luminance, over its 99th percentile, clipped to 1."""
    import cv2

    y = cv2.GaussianBlur(luminance(rgb), (0, 0), EDGE_SIGMA, borderType=cv2.BORDER_REFLECT)
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
    magnitude = np.sqrt(gx * gx + gy * gy)
    top = float(np.percentile(magnitude, 99))
    return np.clip(magnitude / top, 0.0, 1.0) if top > 0 else np.zeros_like(magnitude)


def edge_ssim(image: np.ndarray, reference: np.ndarray) -> float:
    """SSIM of the two images' edge maps (same size required); 1 is the same edges."""
    from metrics.image import ssim

    if np.asarray(image).shape[:2] != np.asarray(reference).shape[:2]:
        raise ValueError(f"edge SSIM needs images of the same size; got "
                         f"{np.asarray(image).shape[:2]} and {np.asarray(reference).shape[:2]}")
    return ssim(edge_map(image), edge_map(reference))
