"""Choosing keyframes: the best frame of each shot, or K frames across the video by clustering.

Candidates live in a :class:`CandidatePool`: compact records (frame index, sharpness, a feature
vector, a perceptual hash) of sampled frames, thinned by doubling the sampling stride whenever
the pool is full, so memory stays bounded however long the video is.

- Per shot: among the shot's candidates away from its transitions and flashes, the frame that
  is both sharp (variance of the Laplacian) and typical (close to the shot's mean feature).
- K across the video: k-means (OpenCV) over the candidates' features (colour/texture
  descriptors, or CLIP embeddings when the runner was given an encoder); from each cluster,
  biggest first, the sharpest typical member that is no near-duplicate (perceptual hash) of a
  keyframe already chosen and at least ``min_gap`` seconds from each.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import cv2
import numpy as np

from pipelines.keyframes.analysis import hamming
from pipelines.keyframes.settings import SelectParams

_TRIES = 50  # members of a cluster tried before giving up on it


class CandidatePool:
    """Records of every ``stride``-th frame, at most ``capacity`` of them."""

    def __init__(self, capacity: int, stride: int = 1):
        self.capacity, self.stride = max(2, capacity), max(1, stride)
        self.frames: list[int] = []
        self.sharpness: list[float] = []
        self.features: list[np.ndarray] = []
        self.hashes: list[int] = []
        self.usable: list[bool] = []  # False for plain (black, white, flat) frames

    def __len__(self) -> int:
        return len(self.frames)

    def wants(self, index: int) -> bool:
        return index % self.stride == 0

    def add(self, index: int, sharpness: float, feature: np.ndarray, phash: int,
            usable: bool) -> None:  # fmt: skip
        self.frames.append(index)
        self.sharpness.append(sharpness)
        self.features.append(np.asarray(feature, np.float32))
        self.hashes.append(phash)
        self.usable.append(usable)
        if len(self.frames) >= self.capacity:
            self._thin()

    def _thin(self) -> None:
        """Keep every other sampled frame (those on the doubled stride)."""
        self.stride *= 2
        keep = [i for i, f in enumerate(self.frames) if f % self.stride == 0]
        for name in ("frames", "sharpness", "features", "hashes", "usable"):
            values = getattr(self, name)
            setattr(self, name, [values[i] for i in keep])


def _duplicate(a: int, b: int, bits: int) -> bool:
    return bits > 0 and hamming(a, b) <= bits


def blocked_mask(frame_count: int, spans: Sequence[tuple[int, int]], margin: int) -> np.ndarray:
    """Mask of frames within ``margin`` of a transition or flash span ``[start, end]``."""
    mask = np.zeros(frame_count, bool)
    for start, end in spans:
        mask[max(0, start - margin):max(0, min(frame_count, end + margin + 1))] = True
    return mask


def _unit_range(values: np.ndarray) -> np.ndarray:
    span = float(values.max() - values.min()) if values.size else 0.0
    return (values - values.min()) / span if span > 1e-9 else np.full(values.shape, 0.5)


def _rank(features: np.ndarray, sharpness: np.ndarray, centre: np.ndarray,
          weight: float) -> np.ndarray:  # fmt: skip
    """Member order, best first: sharp and close to ``centre``."""
    typical = 1.0 - _unit_range(np.linalg.norm(features - centre, axis=1))
    sharp = _unit_range(np.log1p(sharpness))
    score = weight * sharp + (1.0 - weight) * typical
    return np.argsort(-score, kind="stable")


def _eligible(pool: CandidatePool, blocked: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Pool positions of candidates in ``[lo, hi)``: usable and unblocked if any, else any."""
    frames = np.asarray(pool.frames, np.int64)
    inside = (frames >= lo) & (frames < hi)
    if not inside.any():
        return np.zeros(0, np.int64)
    usable = np.asarray(pool.usable, bool)
    clear = inside & usable & ~blocked[np.clip(frames, 0, len(blocked) - 1)]
    for choice in (clear, inside & usable):
        if choice.any():
            return np.flatnonzero(choice)
    return np.flatnonzero(inside)


def per_shot(pool: CandidatePool, shots: Sequence[tuple[int, int]],
             blocked: np.ndarray, params: SelectParams) -> list[int]:  # fmt: skip
    """One keyframe per ``(start, end)`` shot: its sharpest, most typical candidate."""
    features = np.asarray(pool.features, np.float32) if len(pool) else np.zeros((0, 1))
    sharpness = np.asarray(pool.sharpness, np.float64)
    picks = []
    for start, end in shots:
        chosen = _eligible(pool, blocked, start, end)
        if not chosen.size:  # the pool was thinned past this short shot
            picks.append((start + end - 1) // 2)
            continue
        feats = features[chosen]
        order = _rank(feats, sharpness[chosen], feats.mean(axis=0), params.sharpness_weight)
        picks.append(pool.frames[int(chosen[order[0]])])
    return picks


def clustered(pool: CandidatePool, frame_count: int, blocked: np.ndarray, fps: float,
              params: SelectParams) -> list[int]:  # fmt: skip
    """Up to ``params.k`` keyframes across the video, in time order."""
    chosen = _eligible(pool, blocked, 0, frame_count)
    if not chosen.size:
        return [0] if frame_count else []
    features = np.ascontiguousarray(np.asarray(pool.features, np.float32)[chosen])
    sharpness = np.asarray(pool.sharpness, np.float64)[chosen]
    k = min(params.k, len(chosen))
    if k == len(chosen):  # as many clusters as candidates: each is its own
        labels, centres = np.arange(k), features
    else:
        cv2.setRNGSeed(params.seed)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-4)
        _, labels, centres = cv2.kmeans(features, k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
        labels = labels.ravel()
    clusters = sorted(range(k), key=lambda c: (-int((labels == c).sum()), c))
    min_gap = params.min_gap * fps
    accepted: list[int] = []  # positions into ``chosen``
    for cluster in clusters:
        members = np.flatnonzero(labels == cluster)
        if not members.size:
            continue
        order = _rank(features[members], sharpness[members], centres[cluster],
                      params.sharpness_weight)  # fmt: skip
        for member in members[order][:_TRIES]:
            frame = pool.frames[int(chosen[member])]
            phash = pool.hashes[int(chosen[member])]
            if all(abs(frame - pool.frames[int(chosen[a])]) >= min_gap
                   and not _duplicate(phash, pool.hashes[int(chosen[a])], params.dedupe_bits)
                   for a in accepted):  # fmt: skip
                accepted.append(int(member))
                break
    return sorted(pool.frames[int(chosen[a])] for a in accepted)


def shot_pick(pool: CandidatePool, start: int, end: int, blocked: np.ndarray,
              params: SelectParams) -> int | None:  # fmt: skip
    """:func:`per_shot`'s pick for the one shot ``[start, end)``, looking only at the pool's
    candidates inside it (cheap enough to run as each shot closes); None without candidates."""
    lo, hi = bisect.bisect_left(pool.frames, start), bisect.bisect_left(pool.frames, end)
    if lo == hi:
        return None
    view = CandidatePool(pool.capacity, pool.stride)
    for name in ("frames", "sharpness", "features", "hashes", "usable"):
        setattr(view, name, getattr(pool, name)[lo:hi])
    return per_shot(view, [(start, end)], blocked, params)[0]
