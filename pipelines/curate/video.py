"""The per-video curation job: one decode gives shots, keyframes and every per-shot measure.

:func:`curate_video` runs the keyframe pass (:class:`~pipelines.keyframes.classical.KeyframeRunner`,
one decode; with ``shot_backend="transnetv2"`` TransNetV2 finds the shots in the same pass) with
an observer that, on the same analysis-size frames, records each frame's
sharpness (variance of the Laplacian) and brightness (mean luma) and measures dense optical
flow (OpenCV Farneback) on a few sampled frame pairs. Per shot it reports motion (mean flow
magnitude in percent of the frame width per frame, over the pairs inside the shot), median
sharpness, mean brightness, its keyframe (full resolution, written as JPEG) and that keyframe's
64-bit perceptual hash, plus the hash of the shot's middle analysis frame (the same frame in any
re-encoded copy, where the keyframe pick may move). The record is written last (``record.json``,
atomically): its presence marks the video done, which is what makes a run resumable. It is a
pure function of its job, so it runs the same in-process, in a process pool or as a Ray task.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipelines.curate.settings import CurateParams
from pipelines.keyframes.analysis import FrameAnalysis
from pipelines.keyframes.classical import KeyframeRequest, KeyframeRunner
from pipelines.keyframes.outputs import ContactSheet
from pipelines.keyframes.timecodes import timecode
from pipelines.manifest import write_json_atomic
from pipelines.media import probe_video, save_image

RECORD = "record.json"
VERSION = 1  # bump when a record's meaning changes: older records are then redone


@dataclass(frozen=True)
class VideoJob:
    """One video to curate: where it is, its stable key and the run's output folder."""

    path: str
    key: str  # folder name under ``out/videos``
    out: str
    params: CurateParams
    size: int = -1  # file size and mtime when the run started (a changed file is redone)
    mtime: float = -1.0
    decode_threads: int = 0  # 0: FFmpeg's choice; 1 when videos run side by side

    @property
    def folder(self) -> Path:
        return Path(self.out) / "videos" / self.key

    def done(self) -> dict | None:
        """This video's record from an earlier run, if it matches the file and settings now."""
        import json

        path = self.folder / RECORD
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        same = (record.get("version") == VERSION and record.get("size") == self.size
                and record.get("mtime") == self.mtime
                and record.get("analysis") == _analysis_params(self.params))  # fmt: skip
        return record if same else None


def video_key(path: str | Path) -> str:
    """A folder name for a video: its stem and a hash of its full path (stable across runs)."""
    path = Path(path)
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in path.stem)[:48] or "video"
    return f"{stem}-{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"


def make_job(path: Path, out: Path, params: CurateParams, decode_threads: int = 0) -> VideoJob:
    try:
        stat = path.stat()
        size, mtime = stat.st_size, stat.st_mtime
    except OSError:
        size, mtime = -1, -1.0
    return VideoJob(str(path), video_key(path), str(out), params, size, mtime, decode_threads)


def _analysis_params(params: CurateParams) -> dict:
    """The settings a record depends on (filters and outputs are applied later, not here)."""
    analysis = {"analysis_side": params.analysis_side,
                "motion_pairs_per_second": params.motion_pairs_per_second}  # fmt: skip
    if params.shot_backend != "classical":  # (records of classical runs stay as they were)
        analysis["shots"] = params.shot_backend
    return analysis


@functools.lru_cache(maxsize=2)
def _shot_runner(weights: str, one_thread: bool) -> KeyframeRunner:
    """The keyframe pass's runner: classical, or TransNetV2 from ``weights`` (loaded once per
    process). Beside other workers (``one_thread``), torch keeps to one thread as the decoder
    does."""
    if not weights:
        return KeyframeRunner()
    import torch

    from pipelines import device as dev
    from pipelines.keyframes.transnet import TransNetRunner
    from pipelines.networks.transnetv2 import load

    if one_thread:
        torch.set_num_threads(1)
    where = dev.pick_device(None)
    return TransNetRunner(load(weights, where), where)


def image_phash(rgb: np.ndarray) -> int:
    """64-bit perceptual hash (pHash): the signs of the 8x8 lowest DCT frequencies of a 32x32
    grey thumbnail against their median (DC excluded from the median)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].ravel()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


class _Measures:
    """The observer of the keyframe pass: per-frame sharpness and brightness, flow on pairs."""

    def __init__(self, fps: float, pairs_per_second: float):
        self.stride = max(2, round(fps / pairs_per_second))
        self.sharpness: list[float] = []
        self.brightness: list[float] = []
        self.flow: list[tuple[int, float]] = []  # (first frame of the pair, magnitude %)
        self.hashes: list[int] = []  # perceptual hash of every analysis frame
        self._first: np.ndarray | None = None

    def __call__(self, analysis: FrameAnalysis, rgb: np.ndarray) -> None:
        index = analysis.index
        self.sharpness.append(analysis.sharpness)
        self.brightness.append(analysis.mean)
        self.hashes.append(analysis.phash())
        if index % self.stride == 0:
            self._first = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        elif index % self.stride == 1 and self._first is not None:
            grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            flow = cv2.calcOpticalFlowFarneback(self._first, grey, None, 0.5, 3, 15, 3, 5, 1.2, 0)
            magnitude = float(np.sqrt((flow * flow).sum(axis=2)).mean())
            self.flow.append((index - 1, 100.0 * magnitude / grey.shape[1]))
            self._first = None

    def middle_hash(self, start: int, end: int) -> str | None:
        """The analysis-frame hash of the shot's middle frame: the same frame in every copy of
        a video however it was re-encoded (the keyframe pick may move with compression)."""
        middle = (start + end - 1) // 2
        return f"{self.hashes[middle]:016x}" if start <= middle < len(self.hashes) else None

    def shot(self, start: int, end: int) -> tuple[float | None, float, float]:
        """``(motion, sharpness, brightness)`` of frames ``[start, end)``."""
        pairs = [m for f, m in self.flow if start <= f and f + 1 < end]
        motion = round(float(np.mean(pairs)), 4) if pairs else None
        sharp = round(float(np.median(self.sharpness[start:end])), 3) if end > start else 0.0
        bright = round(float(np.mean(self.brightness[start:end])), 3) if end > start else 0.0
        return motion, sharp, bright


def curate_video(job: VideoJob) -> dict:
    """Analyse one video and write its keyframes, contact sheet and record; return the record.

    Raises :class:`~pipelines.errors.InputError` for a file that is not a readable video.
    """
    record = job.done()
    if record is not None:
        return record | {"resumed": True}
    start = time.perf_counter()
    params = job.params
    info = probe_video(job.path)
    measures = _Measures(info.fps, params.motion_pairs_per_second)
    request = KeyframeRequest(job.path, analysis_side=params.analysis_side, observe=measures,
                              decode_threads=job.decode_threads)  # fmt: skip
    runner = _shot_runner(params.shot_weights if params.shot_backend != "classical" else "",
                          job.decode_threads == 1)
    result = runner(request)
    folder = job.folder
    folder.mkdir(parents=True, exist_ok=True)
    keys = {k.shot: k for k in result.keyframes}
    sheet = ContactSheet(f"{Path(job.path).name}  |  {len(result.shots)} shots  |  "
                         f"{timecode(result.duration)}", len(keys), result.width,
                         result.height) if params.contact_sheets else None  # fmt: skip
    images: dict[int, tuple[str, int]] = {}  # frame -> (relative path, phash)
    by_frame = {k.frame: k for k in result.keyframes}
    for frame, rgb in result.keyframe_images():
        key = by_frame[frame]
        name = f"shot{key.shot:04d}_f{frame:06d}.jpg"
        save_image(folder / name, rgb, quality=90)
        images[frame] = (f"videos/{job.key}/{name}", image_phash(rgb))
        if sheet is not None:
            sheet.add(rgb, key.shot, key.time, frame)
    result.release()
    contact = None
    if sheet is not None:
        save_image(folder / "contact_sheet.jpg", sheet.image, quality=88)
        contact = f"videos/{job.key}/contact_sheet.jpg"
    shots = []
    for shot in result.shots:
        motion, sharpness, brightness = measures.shot(shot.start_frame, shot.end_frame)
        key = keys.get(shot.index)
        path, phash = images.get(key.frame, (None, None)) if key else (None, None)
        shots.append({
            "shot": shot.index, "start_frame": shot.start_frame, "end_frame": shot.end_frame,
            "start_time": shot.start_time, "end_time": shot.end_time,
            "duration": round(shot.end_time - shot.start_time, 6),
            "transition": shot.transition, "keyframe": path,
            "keyframe_frame": key.frame if key else None, "motion": motion,
            "sharpness": sharpness, "brightness": brightness,
            "phash": None if phash is None else f"{phash:016x}",
            "mid_phash": measures.middle_hash(shot.start_frame, shot.end_frame),
        })  # fmt: skip
    record = {
        "version": VERSION, "video": job.path, "key": job.key, "size": job.size,
        "mtime": job.mtime, "analysis": _analysis_params(params), "fps": result.fps,
        "frames": result.frame_count, "width": result.width, "height": result.height,
        "duration": round(result.duration, 6),
        "key_frames": list(result.index.key_frames) if result.index else [],
        "contact_sheet": contact, "shots": shots,
        "seconds": round(time.perf_counter() - start, 3),
    }  # fmt: skip
    write_json_atomic(folder / RECORD, record)
    return record


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
