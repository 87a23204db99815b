"""Super-resolution jobs, shared by the tab and ``cli.py upscale``.

A job checks its input before any model loads, opens a run folder, runs the backend pinned in the
registry, writes the outputs and the manifest. Images keep their alpha channel (resized on its
own) and can be scored against a reference or by a self-check; videos stream frame by frame (a
decoding thread ahead of the model, an encoding thread behind it) and keep their audio.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError, StudioError
from pipelines.manifest import Run, start_run
from pipelines.media import (
    LoadedImage,
    VideoWriter,
    iter_frames,
    load_image,
    probe_video,
    save_image,
)
from pipelines.registry import Registry
from pipelines.super_res.base import (
    MIN_SIDE,
    TASK,
    Progress,
    UpscaleRequest,
    UpscaleResult,
    check_input_size,
    check_scale,
    resample,
    upscale_alpha,
)

DEFAULT_BACKEND = f"{TASK}.classical"
IMAGE_FORMATS = ("png", "jpg", "webp")
VIDEO_CRF = 18
VIDEO_PRESET = "fast"  # upscaled frames are large: "medium" would make encoding the bottleneck
LPIPS_SPEC = "metrics.lpips-alex"  # the LPIPS network of the quality check, when on disk
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I", "array:uint16")


def _report(progress: Progress | None, start: float, span: float) -> Progress | None:
    """A progress callback that maps [0, 1] onto [start, start + span] of ``progress``."""
    if progress is None:
        return None
    return lambda fraction, desc="": progress(start + span * fraction, desc)


def _notes_for(image: LoadedImage, what: str) -> list[str]:
    if image.source_mode in _SIXTEEN_BIT:
        return [f"The {what} has 16 bits per channel; it was reduced to 8 bits, so the result "
                "is an 8-bit image."]
    if image.source_mode == "CMYK":
        return [f"The {what} is CMYK; it was converted to RGB, so the result is RGB."]
    return []


def _native_note(result: UpscaleResult) -> list[str]:
    if result.native_scale is None or math.isclose(result.scale, result.native_scale):
        return []
    return [f"The model's own scale is x{result.native_scale}; its x{result.native_scale} result "
            f"was resampled to x{result.scale:g}."]


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 4)


# --------------------------------------------------------------------------------------------
# Images


@dataclass(frozen=True)
class ImageJob:
    """One image to upscale; ``reference`` (a high-resolution original) or ``self_check`` adds
    quality metrics."""

    source: str | Path
    backend: str = DEFAULT_BACKEND
    scale: float = 2.0
    tile: int = 0
    fmt: str = "png"
    reference: str | Path | None = None
    self_check: bool = False


@dataclass
class ImageJobResult:
    run_dir: Path
    output: Path
    before: np.ndarray  # the input enlarged (nearest neighbour) to the result's size
    after: np.ndarray
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    metrics: dict[str, Any] | None
    notes: list[str]
    device: str
    dtype: str
    timings: dict[str, float] = field(default_factory=dict)


def _reference_pair(reference: LoadedImage, size: tuple[int, int],
                    scale: float) -> tuple[tuple[int, int], list[str]]:
    """The area (width, height) to compare; a reference off by less than the scale is cropped."""
    ref_size = (reference.width, reference.height)
    if ref_size == size:
        return size, []
    slack = math.ceil(scale)
    if abs(ref_size[0] - size[0]) <= slack and abs(ref_size[1] - size[1]) <= slack:
        common = (min(ref_size[0], size[0]), min(ref_size[1], size[1]))
        return common, [f"The reference is {ref_size[0]}x{ref_size[1]} and the result "
                        f"{size[0]}x{size[1]}; their common {common[0]}x{common[1]} area "
                        "was compared."]
    raise InputError(
        f"The reference image is {ref_size[0]}x{ref_size[1]} but the result is "
        f"{size[0]}x{size[1]}. Upload the high-resolution original of this input, or set the "
        "scale so the result matches the reference."
    )


def _lpips_network(registry: Registry, stack: ExitStack) -> tuple[Any | None, str]:
    """The LPIPS network, pinned for the rest of the job, or None and the sentence saying why."""
    if LPIPS_SPEC not in registry:
        return None, f"LPIPS (AlexNet) was not computed: this studio has no '{LPIPS_SPEC}'."
    try:
        runner = stack.enter_context(registry.pinned(LPIPS_SPEC))
    except StudioError as err:  # weights missing (WeightsUnavailable) or a damaged checkpoint
        return None, f"LPIPS (AlexNet) was not computed. {err}"
    return runner.net, ""


def _score(prediction: np.ndarray, target: np.ndarray, mode: str, area: tuple[int, int],
           lpips: tuple[Any | None, str]) -> dict[str, Any]:
    from metrics.image import compare

    width, height = area
    network, missing = lpips
    quality = compare(prediction[:height, :width], target[:height, :width], network)
    return {"mode": mode, "compared": f"{width}x{height}", "psnr": _finite(quality.psnr),
            "ssim": _finite(quality.ssim), "lpips": _finite(quality.lpips),
            "lpips_note": missing or quality.lpips_note}


def _self_check(runner: Any, rgb: np.ndarray, job: ImageJob, lpips: tuple[Any | None, str],
                progress: Progress | None) -> tuple[dict[str, Any] | None, list[str]]:
    """Downscale the input by the scale, upscale it back, and score that against the input."""
    height, width = rgb.shape[:2]
    small = (round(width / job.scale), round(height / job.scale))
    if min(small) < MIN_SIDE:
        return None, [f"The self-check was skipped: the input downscaled by {job.scale:g} would "
                      f"be smaller than {MIN_SIDE}x{MIN_SIDE} pixels."]
    low = resample(rgb, small)
    result = runner(UpscaleRequest([low], job.scale, job.tile), progress)
    restored = resample(result.frames[0], (width, height))
    return _score(restored, rgb, "self-check", (width, height), lpips), []


def run_image(registry: Registry, job: ImageJob,
              progress: Progress | None = None) -> ImageJobResult:
    """Upscale one image into a new run folder."""
    import cv2

    spec = registry.resolve(TASK, job.backend)
    fmt = job.fmt.lower().lstrip(".").replace("jpeg", "jpg")
    if fmt not in IMAGE_FORMATS:
        raise InputError(f"Cannot write '{job.fmt}' images; choose png, jpg or webp.")
    scale = check_scale(job.scale)
    image = load_image(job.source)
    notes = _notes_for(image, "input image")
    size = check_input_size(image.width, image.height, scale)
    reference = load_image(job.reference) if job.reference else None
    if reference is not None:
        area, reference_notes = _reference_pair(reference, size, scale)
        notes += reference_notes + _notes_for(reference, "reference image")
        if job.self_check:
            notes.append("A reference was given, so it was used instead of the self-check.")
    params = {"scale": scale, "tile": job.tile, "format": fmt, "input_size": image.rgb.shape[1::-1],
              "reference": reference is not None, "self_check": job.self_check}
    with start_run(TASK, spec=spec, params=params) as run, ExitStack() as stack:
        with run.stage("load"):
            runner = stack.enter_context(registry.pinned(spec.id))
        with run.stage("upscale"):
            checking = job.self_check and reference is None
            result = runner(UpscaleRequest([image.rgb], scale, job.tile),
                            _report(progress, 0.0, 0.8 if checking else 0.95))
        after = result.frames[0]
        notes += _native_note(result)
        metrics = None
        with run.stage("metrics"):
            if reference is not None:
                metrics = _score(after, reference.rgb, "reference", area,
                                 _lpips_network(registry, stack))
            elif job.self_check:
                metrics, check_notes = _self_check(runner, image.rgb, job,
                                                   _lpips_network(registry, stack),
                                                   _report(progress, 0.8, 0.15))
                notes += check_notes
        with run.stage("save"):
            alpha = upscale_alpha(image.alpha, size) if image.alpha is not None else None
            if alpha is not None and fmt == "jpg":
                notes.append("JPEG has no alpha channel, so the transparency was dropped; choose "
                             "PNG or WebP to keep it.")
            output = run.add_output("image", save_image(run.file(f"upscaled.{fmt}"), after, alpha))
        _finish(run, result, metrics, notes)
    if progress:
        progress(1.0, "done")
    before = cv2.resize(image.rgb, size, interpolation=cv2.INTER_NEAREST)
    return ImageJobResult(
        run_dir=run.path, output=output, before=before, after=after,
        input_size=(image.width, image.height), output_size=size, metrics=metrics, notes=notes,
        device=result.device, dtype=result.dtype, timings=dict(run.timer.seconds),
    )  # fmt: skip


def _finish(run: Run, result: UpscaleResult, metrics: dict[str, Any] | None,
            notes: list[str]) -> None:
    run.device, run.dtype = result.device, result.dtype
    run.extra.update({
        "native_scale": result.native_scale, "tile": result.tile,
        "tiles_per_frame": result.tiles_per_frame, "metrics": metrics, "notes": notes,
    })  # fmt: skip


# --------------------------------------------------------------------------------------------
# Videos


@dataclass(frozen=True)
class VideoJob:
    source: str | Path
    backend: str = DEFAULT_BACKEND
    scale: float = 2.0
    tile: int = 0


@dataclass
class VideoJobResult:
    run_dir: Path
    output: Path
    frames: int
    fps: float
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    has_audio: bool
    frames_per_second: float  # processing speed, decode to encode
    notes: list[str]
    device: str
    dtype: str
    timings: dict[str, float] = field(default_factory=dict)


class _Prefetch:
    """Iterate ``source`` on a background thread, up to ``depth`` items ahead of the reader."""

    _DONE = object()

    def __init__(self, source: Iterable[Any], depth: int):
        self._source = source
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="sr-decode", daemon=True)

    def __enter__(self) -> Iterator[Any]:
        self._thread.start()
        return self._items()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):  # unblock a producer on a full queue
                self._queue.get(timeout=0.05)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _fill(self) -> None:
        iterator = iter(self._source)
        try:
            for item in iterator:
                if not self._put(item):
                    break
            self._put(self._DONE)
        except BaseException as err:  # handed to the reading thread, which raises it
            self._put(err)
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                close()

    def _items(self) -> Iterator[Any]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


def _eta(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def run_video(registry: Registry, job: VideoJob,
              progress: Progress | None = None) -> VideoJobResult:
    """Upscale a video frame by frame into a new run folder (H.264, original audio kept)."""
    spec = registry.resolve(TASK, job.backend)
    scale = check_scale(job.scale)
    info = probe_video(job.source)
    size = check_input_size(info.width, info.height, scale, "video frame")
    params = {"scale": scale, "tile": job.tile, "input_size": (info.width, info.height),
              "fps": info.fps, "frames": info.frame_count}
    with start_run(TASK, spec=spec, params=params) as run, ExitStack() as stack:
        with run.stage("load"):
            runner = stack.enter_context(registry.pinned(spec.id))
        chunk = max(1, runner.plan_batch(info.width, info.height, job.tile))
        path = run.file("upscaled.mp4")
        writer = stack.enter_context(VideoWriter(
            path, info.fps, crf=VIDEO_CRF, preset=VIDEO_PRESET,
            audio=job.source if info.has_audio else None,
        ))  # fmt: skip
        frames = stack.enter_context(_Prefetch(iter_frames(job.source), 2 * chunk))
        encoder = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="sr-encode"))
        pending: deque[Future[None]] = deque()
        done, start, result = 0, time.perf_counter(), None
        with run.stage("frames"):
            for batch in _batches(frames, chunk):
                result = runner(UpscaleRequest(batch, scale, job.tile))
                pending.extend(encoder.submit(writer.write, frame) for frame in result.frames)
                while len(pending) > 2 * chunk:
                    pending.popleft().result()
                done += len(batch)
                if progress:
                    rate = done / (time.perf_counter() - start)
                    left = max(0, info.frame_count - done) / rate
                    progress(min(done / info.frame_count, 0.99),
                             f"frame {done}/{info.frame_count} · {rate:.2f} fps · ETA {_eta(left)}")
            for future in pending:
                future.result()
        if result is None:
            raise InputError(f"The video '{Path(job.source).name}' contains no decodable frames. "
                             "Re-export it, then upload it again.")
        elapsed = time.perf_counter() - start
        stack.pop_all().close()  # finish the file (and its audio) inside the run
        run.add_output("video", writer.path)
        run.extra["frames_written"] = writer.frames_written
        notes = _native_note(result)
        _finish(run, result, None, notes)
    if progress:
        progress(1.0, "done")
    return VideoJobResult(
        run_dir=run.path, output=writer.path, frames=writer.frames_written, fps=info.fps,
        input_size=(info.width, info.height), output_size=size, has_audio=info.has_audio,
        frames_per_second=writer.frames_written / elapsed if elapsed else 0.0, notes=notes,
        device=result.device, dtype=result.dtype, timings=dict(run.timer.seconds),
    )  # fmt: skip


def _batches(items: Iterator[tuple[int, np.ndarray]], size: int) -> Iterator[list[np.ndarray]]:
    """Frames of ``(index, frame)`` pairs in lists of up to ``size``."""
    batch: list[np.ndarray] = []
    for _, frame in items:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch

