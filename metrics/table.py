"""The one table of metrics: each metric's name, label, unit, direction and scope.

The Benchmark tab marks the best value of each column from it; docs/metrics.md describes the
same names. ``higher`` is True when higher is better, False when lower is better, and None for
counts that are neither (shots found, keyframes). ``per_frame`` metrics also have a series (one
value per frame or frame pair) beside their mean. The spec ids of the networks some metrics need
are written here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CLIP_SPEC = "metrics.clip-vit-b32"  # CLIP image/text encoder: consistency, style, clustering
LPIPS_SPEC = "metrics.lpips-alex"  # LPIPS with its AlexNet backbone
I3D_SPEC = "metrics.i3d"  # Inception-I3D features for FVD


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str
    higher: bool | None
    per_frame: bool
    description: str


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("psnr", "PSNR", "dB", True, True, "peak signal-to-noise ratio against a reference"),
    Metric("ssim", "SSIM", "", True, True, "structural similarity against a reference (1: same)"),
    Metric("lpips", "LPIPS", "", False, False, "learned perceptual distance (0: same)"),
    Metric("warping_error", "warping error", "", False, True,
           "difference between a frame and its predecessor warped by optical flow"),
    Metric("flicker", "flicker", "", False, True, "frame-to-frame change of mean brightness"),
    Metric("motion", "motion", "px", None, True, "mean optical-flow magnitude (how much moves)"),
    Metric("frame_ssim", "frame SSIM", "", True, True, "SSIM of neighbouring frames"),
    Metric("clip_consistency", "CLIP consistency", "", True, False,
           "cosine similarity of CLIP embeddings of neighbouring frames"),
    Metric("fvd", "FVD", "", False, False, "Fréchet video distance to the reference clips"),
    Metric("content_ssim", "content SSIM", "", True, False,
           "luma structure kept from the content input"),
    Metric("clip_style", "CLIP style", "", True, False,
           "CLIP similarity of the output to the style image"),
    Metric("shots", "shots", "", None, False, "shots found"),
    Metric("keyframes", "keyframes", "", None, False, "keyframes chosen"),
    Metric("f1", "F1", "", True, False, "shot-boundary F1 against known cuts (±2 frames)"),
    Metric("precision", "precision", "", True, False, "found boundaries that are real"),
    Metric("recall", "recall", "", True, False, "real boundaries that were found"),
    Metric("seconds", "seconds", "s", False, False, "wall time of the backend's call"),
    Metric("fps", "throughput", "frames/s or MP/s", True, False, "work per second"),
    Metric("peak_rss_mb", "peak RSS", "MB", False, False, "peak resident memory of the process"),
    Metric("peak_cuda_mb", "peak CUDA", "MB", False, False, "peak CUDA memory allocated"),
    Metric("load_seconds", "load", "s", False, False, "time to load the backend"),
)}  # fmt: skip


def direction(name: str) -> bool | None:
    """True: higher is better; False: lower is better; None: neither (or unknown)."""
    metric = METRICS.get(name)
    return metric.higher if metric else None


def best_index(name: str, values: Sequence[float | None]) -> int | None:
    """Index of the best of ``values`` for metric ``name`` (None when there is no direction,
    no value, or a tie between all values)."""
    higher = direction(name)
    present = [(v, i) for i, v in enumerate(values) if isinstance(v, (int, float))]
    if higher is None or len(present) < 2 or len({v for v, _ in present}) == 1:
        return None
    pick = max(present) if higher else min(present, key=lambda p: (p[0], -p[1]))
    return pick[1]
