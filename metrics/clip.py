"""CLIP-based video metrics: frame-to-frame consistency and text-image score.

Pure functions on embeddings (numpy arrays); the embeddings themselves come from the
``metrics.clip-vit-b32`` spec (``pipelines/networks/clip.py``). Rows are normalised here again,
so unnormalised features give the same numbers.

- :func:`frame_consistency`: cosine similarity of each frame's image embedding with the next one
  (1 is the same picture; higher is steadier).
- :func:`similarity_to`: cosine similarity of each image with one target image (e.g. the style
  image); 1 is the same picture.
- :func:`text_image_score`: CLIPScore (Hessel et al., 2021, with w = 100): ``100 * max(cos, 0)``
  between each image and one text; 0..100, higher matches the text better.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12  # guards the division for an all-zero embedding (its similarities are 0)


def _unit_rows(embeds: np.ndarray, what: str) -> np.ndarray:
    data = np.asarray(embeds, dtype=np.float64)
    if data.ndim != 2 or not data.shape[1]:
        raise ValueError(f"{what} must be an (n, d) array; got shape {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    return data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), EPS)


def frame_consistency(image_embeds: np.ndarray) -> np.ndarray:
    """Cosine similarity of consecutive rows of ``image_embeds`` (n, d): shape (n - 1,)."""
    unit = _unit_rows(image_embeds, "image embeddings")
    return np.sum(unit[:-1] * unit[1:], axis=1)


def similarity_to(image_embeds: np.ndarray, target_embed: np.ndarray) -> np.ndarray:
    """Cosine similarity of each image (n, d) with one target image's embedding (d,): (n,)."""
    images = _unit_rows(image_embeds, "image embeddings")
    target = _unit_rows(np.asarray(target_embed)[None], "target embedding")[0]
    if images.shape[1] != target.shape[0]:
        raise ValueError(f"image embeddings have {images.shape[1]} dimensions and the target "
                         f"{target.shape[0]}; use the same CLIP model for both")
    return images @ target


def text_image_score(image_embeds: np.ndarray, text_embeds: np.ndarray) -> np.ndarray:
    """CLIPScore ``100 * max(cos, 0)`` of each image (n, d) against one text, (d,) or (1, d)."""
    text = np.asarray(text_embeds, dtype=np.float64)
    if text.ndim == 2 and text.shape[0] == 1:
        text = text[0]
    if text.ndim != 1:
        raise ValueError(f"text_image_score takes one text embedding; got shape {text.shape}")
    images = _unit_rows(image_embeds, "image embeddings")
    unit_text = _unit_rows(text[None], "text embedding")[0]
    if images.shape[1] != unit_text.shape[0]:
        raise ValueError(f"image embeddings have {images.shape[1]} dimensions and the text "
                         f"embedding {unit_text.shape[0]}; use the same CLIP model for both")
    return 100.0 * np.maximum(images @ unit_text, 0.0)
