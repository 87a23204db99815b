"""Quality metrics of benchmark outputs, and the metric networks some of them need.

The numbers come from the :mod:`metrics` package (pure functions). CLIP, I3D and LPIPS networks
load through the registry, once per benchmark; when one cannot load (its weights are not on this
machine, or its spec is not registered) the metrics that need it are None ("n/a") with the reason
as a note, and every other metric still fills.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metrics.table import CLIP_SPEC, I3D_SPEC, LPIPS_SPEC
from pipelines.errors import StudioError
from pipelines.registry import Registry

log = logging.getLogger(__name__)

CLIP, I3D, LPIPS = CLIP_SPEC, I3D_SPEC, LPIPS_SPEC
CLIP_FRAMES = 16  # frames of a video embedded for CLIP consistency (evenly spaced)
KEEP_SIDE = 256  # frames kept for CLIP and I3D are downscaled to this longer side
KEEP_FRAMES = 64  # at most this many frames of a video are kept (evenly spaced)

VIDEO_METRICS = ("warping_error", "flicker", "motion", "frame_ssim", "clip_consistency")


@dataclass
class Quality:
    """What scoring one output gives: metric values, per-frame series, notes, and why a metric
    is n/a (``missing``: metric -> reason); for FVD, the output's frames (``clip``) and, where one
    exists, its reference's (``reference``)."""

    metrics: dict[str, float | None] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    clip: np.ndarray | None = None  # (T, h, w, 3) uint8, downscaled
    reference: np.ndarray | None = None

    def merge(self, other: Quality) -> Quality:
        self.metrics.update(other.metrics)
        self.series.update(other.series)
        self.notes += [n for n in other.notes if n not in self.notes]
        self.missing.update(other.missing)
        self.clip = other.clip if other.clip is not None else self.clip
        self.reference = other.reference if other.reference is not None else self.reference
        return self


class Networks:
    """The metric networks of one benchmark, each loaded (and pinned) at most once; those it
    loaded are unloaded when its stack closes, so they do not weigh on the next benchmark."""

    def __init__(self, registry: Registry, stack: ExitStack):
        self._registry, self._stack = registry, stack
        self._runners: dict[str, Any] = {}
        self._reasons: dict[str, str] = {}

    def get(self, spec_id: str) -> Any | None:
        """The loaded runner, or None (then :meth:`reason` says why)."""
        if spec_id in self._runners:
            return self._runners[spec_id]
        if spec_id in self._reasons:
            return None
        if spec_id not in self._registry:
            self._reasons[spec_id] = f"The metric network '{spec_id}' is not registered."
            return None
        if not self._registry.cache.entries_for(spec_id):
            self._stack.callback(self._unload, spec_id)  # runs after the pin below is released
        try:
            runner = self._stack.enter_context(self._registry.pinned(spec_id))
        except StudioError as err:
            self._reasons[spec_id] = str(err)
            return None
        self._runners[spec_id] = runner
        return runner

    def _unload(self, spec_id: str) -> None:
        try:
            self._registry.unload(spec_id)
        except StudioError:  # another job started using it meanwhile: leave it loaded
            log.info("left %s loaded after the benchmark", spec_id)

    def reason(self, spec_id: str) -> str:
        return self._reasons.get(spec_id, "")


def evenly(count: int, wanted: int) -> list[int]:
    """Up to ``wanted`` distinct indices spread evenly over ``range(count)``."""
    if count <= 0:
        return []
    return sorted({int(i) for i in np.linspace(0, count - 1, min(count, wanted)).round()})


def shrink(frame: np.ndarray, side: int = KEEP_SIDE) -> np.ndarray:
    from pipelines.media import resize_max_side

    return np.ascontiguousarray(resize_max_side(frame, side))


class Keeper:
    """Passes frames through while keeping small copies (every ``stride``-th, at most
    :data:`KEEP_FRAMES` of them when the count is known) for CLIP and I3D."""

    def __init__(self, frames: Iterable[np.ndarray], count: int | None = None):
        self._frames = frames
        self.stride = max(1, -(-count // KEEP_FRAMES)) if count else 1
        self.kept: list[np.ndarray] = []
        self.count = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame in self._frames:
            if self.count % self.stride == 0:
                self.kept.append(shrink(frame))
            self.count += 1
            yield frame

    def clip(self) -> np.ndarray | None:
        return np.stack(self.kept) if self.kept else None


def luma_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two images' luminance (``b`` resized to ``a`` when their sizes differ)."""
    import cv2

    from metrics.video import frame_ssim

    if a.shape[:2] != b.shape[:2]:
        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
    return frame_ssim(a, b)


def image_embeddings(frames: list[np.ndarray], nets: Networks) -> tuple[np.ndarray | None, str]:
    """CLIP image embeddings (n, d), or None and the reason."""
    runner = nets.get(CLIP)
    if runner is None:
        return None, nets.reason(CLIP)
    from pipelines.networks.clip import EmbedRequest

    return runner(EmbedRequest(images=frames)).image_embeds, ""


def clip_consistency(frames: list[np.ndarray], nets: Networks) -> Quality:
    """Mean CLIP cosine of consecutive sampled frames, with the per-pair series."""
    from metrics import clip as clip_metrics

    picks = evenly(len(frames), CLIP_FRAMES)
    if len(picks) < 2:
        return Quality({"clip_consistency": None})
    embeds, reason = image_embeddings([frames[i] for i in picks], nets)
    if embeds is None:
        return unavailable("clip_consistency", reason)
    cosines = [float(c) for c in clip_metrics.frame_consistency(embeds)]
    return Quality({"clip_consistency": float(np.mean(cosines))},
                   {"clip_consistency": cosines})


def clip_similarity(images: list[np.ndarray], target: np.ndarray, nets: Networks,
                    name: str) -> Quality:
    """Mean CLIP cosine between ``images`` and one ``target`` image (e.g. the style image)."""
    from metrics import clip as clip_metrics

    embeds, reason = image_embeddings([*images, target], nets)
    if embeds is None:
        return unavailable(name, reason)
    return Quality({name: float(np.mean(clip_metrics.similarity_to(embeds[:-1], embeds[-1])))})


def video_quality(frames: Iterable[np.ndarray], nets: Networks, *,
                  guides: Iterable[np.ndarray] | None = None, count: int | None = None,
                  cuts: Iterable[int] = ()) -> Quality:
    """Temporal metrics of a video (streamed; flow from ``guides`` when given), per-pair series,
    CLIP consistency, and the small frames FVD needs (of the guides too: their reference).

    Pairs across a scene cut (``cuts``: first frames of new shots) stay in the series but are
    left out of the means: a cut is not flicker.
    """
    from metrics.video import temporal_scores

    keeper = Keeper(frames, count)
    guide_keeper = Keeper(guides, count) if guides is not None else None
    scores = temporal_scores(keeper, guide_keeper)
    series = {"warping_error": scores.warping_error, "flicker": scores.flicker,
              "motion": scores.motion, "frame_ssim": scores.ssim}
    across = {c - 1 for c in cuts if 0 < c <= len(scores.ssim)}
    quality = Quality({name: _mean([v for i, v in enumerate(values) if i not in across])
                       for name, values in series.items()}, series)
    if across:
        quality.notes.append(f"The {len(across)} frame pair(s) across scene cuts are left out of "
                             "the temporal means.")
    if keeper.count < 2:
        quality.notes.append("A one-frame video has no frame pairs: temporal metrics are 0.")
    quality.merge(clip_consistency(keeper.kept, nets))
    quality.clip = keeper.clip()
    if guide_keeper is not None:
        quality.reference = guide_keeper.clip()
    return quality


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def lpips_distance(pairs: list[tuple[np.ndarray, np.ndarray]], nets: Networks) -> Quality:
    """Mean LPIPS of (prediction, target) pairs through the ``metrics.lpips-alex`` network."""
    runner = nets.get(LPIPS)
    if runner is None:
        return unavailable("lpips", nets.reason(LPIPS))
    return Quality({"lpips": float(np.mean([runner.distance(a, b) for a, b in pairs]))})


def fvd_features(clips: list[np.ndarray], nets: Networks) -> tuple[np.ndarray | None, str]:
    """I3D features (n, d) of videos given as (T, h, w, 3) frames, or None and the reason."""
    from metrics import fvd as fvd_metrics

    runner = nets.get(I3D)
    if runner is None:
        return None, nets.reason(I3D)
    from pipelines.networks.i3d import VideoFeatureRequest

    prepared = [fvd_metrics.clip_for_i3d(clip) for clip in clips]
    # The 400 Kinetics logits, as VideoGPT's reference FVD compares them (docs/metrics.md).
    return runner(VideoFeatureRequest(clips=prepared, output="logits")).features, ""


def fvd(outputs: list[np.ndarray], references: list[np.ndarray],
        nets: Networks) -> tuple[float | None, str]:
    """FVD between a backend's output videos and their references, or None and the reason."""
    from metrics import fvd as fvd_metrics

    features, reason = fvd_features(outputs + references, nets)
    if features is None:
        return None, reason
    return fvd_metrics.fvd(features[:len(outputs)], features[len(outputs):]), ""


def unavailable(name: str, reason: str) -> Quality:
    return Quality({name: None}, missing={name: reason})


def safely(name: str, compute: Callable[[], Quality]) -> Quality:
    """Run one group of metrics; a failure inside it becomes a note, never a lost row."""
    try:
        return compute()
    except StudioError as err:
        return unavailable(name, str(err))
    except Exception as err:  # a metric bug must not cost the benchmark its other numbers
        log.exception("metric %s failed", name)
        return unavailable(name, f"{type(err).__name__}: {err}")


def missing_notes(missing: dict[str, str]) -> list[str]:
    """One note per distinct reason: ``"clip_consistency, clip_style n/a: <reason>"``."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in missing.items():
        by_reason.setdefault(reason, []).append(name)
    return [f"{', '.join(names)} n/a: {reason}" for reason, names in by_reason.items()]
