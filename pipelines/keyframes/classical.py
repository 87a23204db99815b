"""The classical keyframe backend: one streaming pass over the video, no weights.

Frames are decoded in order on a background thread (:mod:`pipelines.keyframes.frames`) while
this thread scales them to the analysis size, analyses them, feeds the shot detector and samples
keyframe candidates. Only a few small frames and compact per-frame records are held, so memory
does not grow with the video. Afterwards shots are formed from the cuts and keyframes chosen
from the candidates. Optionally an image encoder (``KeyframeRequest.embed``, e.g. CLIP) embeds
sampled frames during the pass, and clustering uses those embeddings.

One decode per video: the pass also keeps references to full-resolution frames that may become
keyframes (:class:`FrameHolder`): every frame of the shot still open (thinned by a doubling
stride when over the memory budget) and, once a shot closes, only the frame the per-shot rule
picks from the candidates seen so far. The final choice runs afterwards exactly as before; a
keyframe that was not held (pool thinned later, clustering, budget) is fetched by seeking to the
key frame before it (:func:`~pipelines.keyframes.frames.fetch_frames`), never by a second full
decode. ``KeyframeRequest.observe`` lets a caller (curation) see every analysed frame too.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError
from pipelines.keyframes.analysis import FrameAnalysis
from pipelines.keyframes.detectors import Cut, ShotDetector, make_detector
from pipelines.keyframes.frames import HeldFrame, PassIndex, fetch_frames, pass_frames
from pipelines.keyframes.select import (
    CandidatePool,
    blocked_mask,
    clustered,
    per_shot,
    shot_pick,
)
from pipelines.keyframes.settings import DetectorParams, SelectParams
from pipelines.keyframes.timecodes import frame_times
from pipelines.media import VideoInfo, probe_video
from pipelines.registry import LoadContext
from pipelines.task import Progress

Embed = Callable[[list[np.ndarray]], np.ndarray]

POOL_SIZE = 8192  # colour/texture candidates kept at most (about 6 MB)
EMBED_POOL_SIZE = 2048  # embedded candidates kept at most
EMBED_BATCH = 32
HOLD_BUDGET = 384 * 2**20  # bytes of full-resolution frames held during the pass, at most
Observe = Callable[[FrameAnalysis, np.ndarray], None]


@dataclass(frozen=True)
class KeyframeRequest:
    video: str
    detector: DetectorParams = field(default_factory=DetectorParams)
    select: SelectParams = field(default_factory=SelectParams)
    analysis_side: int = 256  # longer side of the frames the detectors see
    embed: Embed | None = None  # image encoder for clustering features (frames -> unit vectors)
    observe: Observe | None = None  # called with every frame's analysis and small RGB frame
    hold_budget: int = HOLD_BUDGET  # bytes of full-resolution frames kept for keyframes
    # 0: decoder threads as FFmpeg likes and decoding on a background thread beside the
    # analysis; 1: everything on the calling thread, one core (many videos side by side)
    decode_threads: int = 0


@dataclass(frozen=True)
class Shot:
    index: int
    start_frame: int
    end_frame: int  # exclusive
    start_time: float
    end_time: float
    transition: str  # how the shot begins: start, cut, fade-black, fade-white or dissolve
    score: float | None  # content distance across that transition


@dataclass(frozen=True)
class Keyframe:
    frame: int
    time: float
    shot: int


@dataclass
class KeyframeResult:
    video: str
    fps: float
    frame_count: int
    width: int
    height: int
    duration: float
    shots: list[Shot]
    keyframes: list[Keyframe]
    cuts: list[Cut]
    flashes: list[tuple[int, int]]  # suppressed disturbances, frames [start, end)
    scores: np.ndarray  # per-frame change score (NaN for plain frames)
    thresholds: np.ndarray  # per-frame adaptive threshold
    features: str  # what clustering used: "colour" or "clip" ("" in per-shot mode)
    timings: dict[str, float] = field(default_factory=dict)
    held: dict[int, HeldFrame] = field(default_factory=dict, repr=False)  # keyframes kept
    index: PassIndex | None = field(default=None, repr=False)  # timestamps, key frames

    def keyframe_images(self, indices=None) -> Iterator[tuple[int, np.ndarray]]:
        """Full-resolution RGB frames at ``indices`` (default: the keyframes), in order: those
        held from the pass are converted, the rest fetched by seeking (no second full decode)."""
        wanted = sorted(set(k.frame for k in self.keyframes) if indices is None else set(indices))
        missing = [i for i in wanted if i not in self.held]
        fetched = fetch_frames(self.video, missing, self.index) if missing else iter(())
        for frame in wanted:
            if frame in self.held:
                yield frame, self.held[frame].rgb()
            else:
                got, rgb = next(fetched)
                yield got, rgb

    def release(self) -> None:
        """Drop the held full-resolution frames (their memory goes back to the decoder)."""
        self.held = {}


class _Embedder:
    """Buffers sampled frames and embeds them in batches into a candidate pool."""

    def __init__(self, embed: Embed, pool: CandidatePool):
        self.embed, self.pool = embed, pool
        self.batch: list[tuple[FrameAnalysis, np.ndarray]] = []

    def add(self, analysis: FrameAnalysis, rgb: np.ndarray, usable: bool) -> None:
        if usable and self.pool.wants(analysis.index):
            self.batch.append((analysis, rgb))
            if len(self.batch) >= EMBED_BATCH:
                self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        vectors = np.asarray(self.embed([rgb for _, rgb in self.batch]), np.float32)
        for (analysis, _), vector in zip(self.batch, vectors, strict=True):
            self.pool.add(analysis.index, analysis.sharpness, vector, analysis.phash(), True)
        self.batch = []


@dataclass
class _Scan:
    """What the streaming pass leaves behind: cuts, candidates and the detector's records."""

    cuts: list[Cut]
    frame_count: int
    detector: ShotDetector
    pool: CandidatePool
    embedded: CandidatePool | None
    holder: FrameHolder
    index: PassIndex


class FrameHolder:
    """Full-resolution frames that may become per-shot keyframes, within a memory budget.

    Frames of the open shot are held on a stride that doubles whenever the budget is exceeded;
    when a shot closes, only its provisional pick stays (oldest picks are dropped first if they
    alone fill half the budget). Held frames are references to decoded pictures, not copies.
    """

    def __init__(self, budget: int, enabled: bool):
        self.budget, self.enabled = budget, enabled
        self.open: dict[int, HeldFrame] = {}
        self.kept: dict[int, HeldFrame] = {}
        self.stride = 1
        self.open_bytes = self.kept_bytes = 0
        self.open_start = 0

    def add(self, index: int, frame: HeldFrame) -> None:
        if not self.enabled or (index - self.open_start) % self.stride:
            return
        self.open[index] = frame
        self.open_bytes += frame.nbytes
        while self.open_bytes + self.kept_bytes > self.budget and len(self.open) > 1:
            self.stride *= 2
            for i in [i for i in self.open if (i - self.open_start) % self.stride]:
                self.open_bytes -= self.open.pop(i).nbytes

    def close(self, end: int, pick: int | None) -> None:
        """The shot ending before ``end`` is complete; keep only ``pick`` of its frames."""
        for i in [i for i in self.open if i < end]:
            frame = self.open.pop(i)
            self.open_bytes -= frame.nbytes
            if i == pick:
                self.kept[i] = frame
                self.kept_bytes += frame.nbytes
        while self.kept_bytes > self.budget // 2 and self.kept:
            self.kept_bytes -= self.kept.pop(next(iter(self.kept))).nbytes
        self.open_start, self.stride = end, 1

    def frames(self, wanted: list[int]) -> dict[int, HeldFrame]:
        everything = {**self.kept, **self.open}
        return {i: everything[i] for i in wanted if i in everything}


class KeyframeRunner:
    """Shots and keyframes of a video, with classical features (and an optional encoder).

    The shot detector comes from :meth:`make_detector` (the classical ones by default; the
    TransNetV2 backend, :mod:`pipelines.keyframes.transnet`, gives its network's detector).
    """

    def modules(self) -> dict[str, Any]:
        return {}

    def make_detector(self, params: DetectorParams) -> ShotDetector:
        return make_detector(params)

    def __call__(self, request: KeyframeRequest, progress: Progress | None = None
                 ) -> KeyframeResult:  # fmt: skip
        report = progress or (lambda fraction, desc: None)
        select = request.select.validate()
        if not 32 <= request.analysis_side <= 1024:
            raise InputError(f"The analysis size {request.analysis_side} is out of range; use "
                             f"32 to 1024 pixels.")  # fmt: skip
        timings: dict[str, float] = {}
        start = time.perf_counter()
        info = probe_video(request.video)
        scan = self._scan(request, info, report)
        count = scan.frame_count
        timings["analyse"] = time.perf_counter() - start

        start = time.perf_counter()
        report(0.92, "choosing keyframes")
        # One cut per frame, in order, inside the video (whatever a detector returned).
        cuts = sorted({c.frame: c for c in scan.cuts if 0 < c.frame < count}.values(),
                      key=lambda c: c.frame)  # fmt: skip
        spans = list(pairwise([0, *(c.frame for c in cuts), count]))
        transitions = [(c.start, c.end) for c in cuts]
        flashes = list(scan.detector.flashes)
        blocked = blocked_mask(count, transitions + [(s, e - 1) for s, e in flashes],
                               select.edge_frames)  # fmt: skip
        features = ""
        if select.k:
            embedded = scan.embedded is not None and len(scan.embedded) > 0
            features = "clip" if embedded else "colour"
            source = scan.embedded if embedded else scan.pool
            picks = clustered(source, count, blocked, info.fps, select)
        else:
            picks = per_shot(scan.pool, spans, blocked, select)
        timings["select"] = time.perf_counter() - start

        start = time.perf_counter()
        times = frame_times(request.video, count, info.fps)
        duration = float(times[-1]) + 1.0 / info.fps
        timings["timestamps"] = time.perf_counter() - start

        def at(frame: int) -> float:
            return round(float(times[frame]) if frame < count else duration, 6)

        shots = [
            Shot(i, b, e, at(b), at(e), "start" if i == 0 else cuts[i - 1].kind,
                 None if i == 0 else cuts[i - 1].score)
            for i, (b, e) in enumerate(spans)
        ]  # fmt: skip
        starts = [s.start_frame for s in shots]
        keyframes = [Keyframe(f, at(f), bisect.bisect_right(starts, f) - 1) for f in picks]
        trace = scan.detector.trace()
        scores, thresholds = trace if trace is not None else (np.full(count, math.nan),) * 2
        held = scan.holder.frames(picks)
        timings["held_keyframes"] = float(len(held))
        report(1.0, "done")
        return KeyframeResult(
            video=str(request.video), fps=info.fps, frame_count=count, width=info.width,
            height=info.height, duration=duration, shots=shots, keyframes=keyframes, cuts=cuts,
            flashes=flashes, scores=np.asarray(scores[:count], np.float32),
            thresholds=np.asarray(thresholds[:count], np.float32), features=features,
            timings=timings, held=held, index=scan.index,
        )  # fmt: skip

    def _scan(self, request: KeyframeRequest, info: VideoInfo, report: Progress) -> _Scan:
        """The one decoding pass: analyse every frame, detect cuts, sample candidates."""
        params, select = request.detector.validate(), request.select
        detector = self.make_detector(params)
        pool = CandidatePool(POOL_SIZE)
        embedder = None
        if request.embed is not None and select.k:
            stride = max(1, round(select.embed_every * info.fps))
            embedder = _Embedder(request.embed, CandidatePool(EMBED_POOL_SIZE, stride))
        cuts: list[Cut] = []
        count = 0
        step = max(1, info.frame_count // 100)
        holder = FrameHolder(request.hold_budget, enabled=not select.k)
        shot_start = 0
        index = PassIndex()
        observe = request.observe
        frames = pass_frames(request.video, request.analysis_side, index,
                             request.decode_threads, background=request.decode_threads != 1)
        for index_, rgb, full in frames:
            analysis = FrameAnalysis(index_, rgb)
            if detector.reads_pixels:
                detector.take_pixels(rgb)
            new = detector.process_frame(analysis)
            usable = not analysis.is_plain(params.flat_std)
            if pool.wants(index_):
                phash = analysis.phash() if select.k else 0  # only clustering dedupes
                pool.add(index_, analysis.sharpness, analysis.descriptor, phash, usable)
            holder.add(index_, full)
            if new:
                cuts += new
                for cut in new:
                    if cut.frame > shot_start:
                        pick = _provisional(pool, cuts, detector, shot_start, cut.frame, select)
                        holder.close(cut.frame, pick)
                        shot_start = cut.frame
            if embedder is not None:
                embedder.add(analysis, rgb, usable)
            if observe is not None:
                observe(analysis, rgb)
            count = index_ + 1
            if index_ % step == 0:
                report(0.9 * min(1.0, count / max(1, info.frame_count)), "finding shots")
        cuts += detector.post_process()
        if embedder is not None:
            embedder.flush()
        if count == 0:
            raise InputError(f"The video '{Path(request.video).name}' has no decodable frames. "
                             f"Upload another video.")  # fmt: skip
        return _Scan(cuts, count, detector, pool, embedder.pool if embedder else None, holder,
                     index)


def _provisional(pool: CandidatePool, cuts: list[Cut], detector: ShotDetector, start: int,
                 end: int, select: SelectParams) -> int | None:  # fmt: skip
    """The per-shot pick of ``[start, end)`` from what the pass knows now (the final choice is
    made after the pass; this one only decides which full frame to keep)."""
    flashes = [f for d in getattr(detector, "detectors", [detector]) for f in d.flashes]
    spans = [(c.start, c.end) for c in cuts] + [(s, e - 1) for s, e in flashes]
    return shot_pick(pool, start, end, blocked_mask(end + 1, spans, select.edge_frames), select)


def build(ctx: LoadContext) -> KeyframeRunner:
    """Builder of ``keyframes.classical`` (weight-free)."""
    return KeyframeRunner()
