"""Super-resolution jobs on the task contract, shared by the tab, ``cli.py upscale`` and scripts.

:func:`prepare` checks the input (and the reference) before any folder exists; :func:`job` runs
inside :func:`pipelines.task.run_job`, which resolves the backend, opens the run folder, pins the
runner and writes the manifest with the runner's device and dtype. Images keep their alpha
channel (resized on its own) and can be scored against a reference or by a self-check; videos
stream frame by frame (a decoding thread ahead of the model, an encoding thread behind it) and
keep their audio. :func:`run_image` and :func:`run_video` are the older entry points, kept as
thin wrappers over :func:`~pipelines.task.run_job`.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError, StudioError
from pipelines.media import (
    IMAGE_SUFFIXES,
    LoadedImage,
    VideoInfo,
    VideoWriter,
    iter_frames,
    load_image,
    probe_video,
    save_image,
)
from pipelines.registry import PipelineSpec, Registry
from pipelines.super_res.settings import IMAGE_FORMATS
from pipelines.super_res.types import (
    MIN_SIDE,
    TASK,
    UpscaleRequest,
    UpscaleResult,
    check_input_size,
    check_scale,
    resample,
    upscale_alpha,
)
from pipelines.task import JobContext, JobOutput, Progress, run_job

DEFAULT_BACKEND = f"{TASK}.classical"
IMAGE_INPUTS = IMAGE_SUFFIXES | {".gif"}  # a GIF is upscaled as one still image (first frame)
VIDEO_CRF = 18
VIDEO_PRESET = "fast"  # upscaled frames are large: "medium" would make encoding the bottleneck
LPIPS_SPEC = "metrics.lpips-alex"  # the LPIPS network of the quality check, when on disk
LPIPS_FALLBACK = "metrics.lpips-alex-pypi"  # the same network from PyPI, used when it is on disk
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I", "array:uint16")
IMAGE_ONLY = ("format", "self_check")  # settings that mean nothing for a video
VIDEO_ONLY = ("time_factor", "time_fps", "time_backend")  # ... and for an image


def image_format(fmt: str) -> str:
    """``png``/``jpg``/``webp`` from a format or suffix (``JPEG``, ``.jpeg`` ...), or the
    sentence saying which to choose."""
    name = str(fmt or "png").lower().lstrip(".").replace("jpeg", "jpg")
    if name not in IMAGE_FORMATS:
        raise InputError(f"Cannot write '{fmt}' images; choose png, jpg or webp.")
    return name


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


def _lpips_network(registry: Registry | None, stack: ExitStack) -> tuple[Any | None, str]:
    """The LPIPS network, pinned for the rest of the job, or None and the sentence saying why."""
    if registry is None or LPIPS_SPEC not in registry:
        return None, f"LPIPS (AlexNet) was not computed: this studio has no '{LPIPS_SPEC}'."
    spec_id = LPIPS_SPEC
    if (LPIPS_FALLBACK in registry and not registry.status(LPIPS_SPEC).on_disk
            and registry.status(LPIPS_FALLBACK).on_disk):
        spec_id = LPIPS_FALLBACK
    try:
        runner = stack.enter_context(registry.pinned(spec_id))
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


# --------------------------------------------------------------------------------------------
# The task's request: what prepare checked and loaded


@dataclass(frozen=True)
class SuperResRequest:
    """One upscaling job, checked: an image (with its reference) or a video, and the settings.

    ``size`` is the output size; ``area`` the part of the result compared with the reference.
    """

    kind: str  # image | video
    source: str | Path
    scale: float
    tile: int
    size: tuple[int, int]
    fmt: str = "png"
    image: LoadedImage | None = None
    reference: LoadedImage | None = None
    area: tuple[int, int] | None = None
    self_check: bool = False
    video: VideoInfo | None = None
    notes: tuple[str, ...] = ()


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value)


def prepare(inputs: Mapping[str, Any], values: Mapping[str, Any], seed: int,
            spec: PipelineSpec) -> SuperResRequest:
    """The job's request from its inputs and validated settings (input checks included).

    ``inputs``: ``input`` (an image or a video, told apart by the file's suffix), or ``image``
    or ``video`` to say which it is; ``reference`` (optional) is the high-resolution original of
    an image, for PSNR/SSIM/LPIPS.
    """
    scale, tile = check_scale(values["scale"]), int(values["tile"])
    if _given(inputs.get("image")):
        kind, source = "image", inputs["image"]
    elif _given(inputs.get("video")):
        kind, source = "video", inputs["video"]
    elif _given(inputs.get("input")):
        source = inputs["input"]
        kind = "image" if Path(str(source)).suffix.lower() in IMAGE_INPUTS else "video"
    else:
        asked = "a video" if "video" in inputs else "an image" if "image" in inputs else \
            "an image or a video"
        raise InputError(f"Upload {asked} to upscale first.")
    if kind == "video":
        info = probe_video(source)
        size = check_input_size(info.width, info.height, scale, "video frame")
        return SuperResRequest("video", source, scale, tile, size, video=info)
    fmt = image_format(values["format"])
    image = load_image(source)
    notes = _notes_for(image, "input image")
    size = check_input_size(image.width, image.height, scale)
    reference, area = None, None
    if _given(inputs.get("reference")):
        reference = load_image(inputs["reference"])
        area, reference_notes = _reference_pair(reference, size, scale)
        notes += reference_notes + _notes_for(reference, "reference image")
        if values["self_check"]:
            notes.append("A reference was given, so it was used instead of the self-check.")
    return SuperResRequest("image", source, scale, tile, size, fmt, image, reference, area,
                           bool(values["self_check"]), notes=tuple(notes))


def job(ctx: JobContext, request: SuperResRequest) -> None:
    """Upscale the image or the video of ``request`` into the run folder."""
    ctx.note(*request.notes)
    if request.kind == "video":
        _video_job(ctx, request)
        factor, fps = int(ctx.settings["time_factor"]), float(ctx.settings["time_fps"])
        if factor > 1 or fps:  # super-resolution in time as well: one run, one manifest
            from pipelines.interpolate.post import interpolate_output

            ctx.data["output"] = interpolate_output(ctx, "video", fps=fps or None,
                                                    factor=factor,
                                                    backend=ctx.settings["time_backend"])
            ctx.summary += f", then {ctx.data['frames']} frames at {ctx.data['fps']:g} fps"
    else:
        for name in VIDEO_ONLY:
            ctx.run.params.pop(name, None)
        _image_job(ctx, request)
    ctx.data.update(kind=request.kind, device=ctx.run.device, dtype=ctx.run.dtype,
                    timings=dict(ctx.run.timer.seconds))


def _extra(ctx: JobContext, result: UpscaleResult, metrics: dict[str, Any] | None) -> None:
    ctx.note(*_native_note(result))
    ctx.run.extra.update({
        "native_scale": result.native_scale, "tile": result.tile,
        "tiles_per_frame": result.tiles_per_frame, "metrics": metrics,
    })  # fmt: skip


# --------------------------------------------------------------------------------------------
# Images


def _self_check(runner: Any, rgb: np.ndarray, request: SuperResRequest,
                lpips: tuple[Any | None, str],
                progress: Progress | None) -> tuple[dict[str, Any] | None, list[str]]:
    """Downscale the input by the scale, upscale it back, and score that against the input."""
    height, width = rgb.shape[:2]
    small = (round(width / request.scale), round(height / request.scale))
    if min(small) < MIN_SIDE:
        return None, [f"The self-check was skipped: the input downscaled by {request.scale:g} "
                      f"would be smaller than {MIN_SIDE}x{MIN_SIDE} pixels."]
    low = resample(rgb, small)
    result = runner(UpscaleRequest([low], request.scale, request.tile), progress)
    restored = resample(result.frames[0], (width, height))
    return _score(restored, rgb, "self-check", (width, height), lpips), []


def _image_job(ctx: JobContext, request: SuperResRequest) -> None:
    import cv2

    image, reference, size = request.image, request.reference, request.size
    assert image is not None  # prepare loaded it
    ctx.run.params.update(input_size=image.rgb.shape[1::-1], reference=reference is not None)
    checking = request.self_check and reference is None
    with ExitStack() as stack:
        with ctx.stage("upscale", 0.8 if checking else 0.95) as report:
            result = ctx.runner(UpscaleRequest([image.rgb], request.scale, request.tile), report)
        after = result.frames[0]
        metrics = None
        with ctx.stage("metrics", 0.15 if checking else 0.0) as report:
            if reference is not None:
                metrics = _score(after, reference.rgb, "reference", request.area,
                                 _lpips_network(ctx.registry, stack))
            elif request.self_check:
                metrics, check_notes = _self_check(ctx.runner, image.rgb, request,
                                                   _lpips_network(ctx.registry, stack), report)
                ctx.note(*check_notes)
    with ctx.stage("save", 0.05):
        alpha = upscale_alpha(image.alpha, size) if image.alpha is not None else None
        if alpha is not None and request.fmt == "jpg":
            ctx.note("JPEG has no alpha channel, so the transparency was dropped; choose PNG or "
                     "WebP to keep it.")
        output = save_image(ctx.output("image", f"upscaled.{request.fmt}"), after, alpha)
    _extra(ctx, result, metrics)
    ctx.data.update(
        output=output, after=after, metrics=metrics, input_size=(image.width, image.height),
        output_size=size, before=cv2.resize(image.rgb, size, interpolation=cv2.INTER_NEAREST),
    )  # fmt: skip
    ctx.summary = f"{image.width}x{image.height} -> {size[0]}x{size[1]}"


# --------------------------------------------------------------------------------------------
# Videos


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


def _video_job(ctx: JobContext, request: SuperResRequest) -> None:
    info = request.video
    assert info is not None  # prepare probed it
    for name in IMAGE_ONLY:
        ctx.run.params.pop(name, None)
    ctx.run.params.update(input_size=(info.width, info.height), fps=info.fps,
                          frames=info.frame_count)
    runner, source = ctx.runner, request.source
    chunk = max(1, runner.plan_batch(info.width, info.height, request.tile))
    total = max(1, info.frame_count)
    path = ctx.output("video", "upscaled.mp4")
    with ExitStack() as stack:
        writer = stack.enter_context(VideoWriter(
            path, info.fps, crf=VIDEO_CRF, preset=VIDEO_PRESET,
            audio=source if info.has_audio else None,
        ))  # fmt: skip
        frames = stack.enter_context(_Prefetch(iter_frames(source), 2 * chunk))
        encoder = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="sr-encode"))
        pending: deque[Future[None]] = deque()
        done, start, result = 0, time.perf_counter(), None
        with ctx.stage("frames", 0.99) as report:
            for batch in _batches(frames, chunk):
                result = runner(UpscaleRequest(batch, request.scale, request.tile))
                pending.extend(encoder.submit(writer.write, frame) for frame in result.frames)
                while len(pending) > 2 * chunk:
                    pending.popleft().result()
                done += len(batch)
                rate = done / (time.perf_counter() - start)
                left = max(0, total - done) / rate
                report(min(done / total, 1.0),
                       f"frame {done}/{info.frame_count} · {rate:.2f} fps · ETA {_eta(left)}")
            for future in pending:
                future.result()
        if result is None:
            raise InputError(f"The video '{Path(source).name}' contains no decodable frames. "
                             "Re-export it, then upload it again.")
        elapsed = time.perf_counter() - start
        stack.pop_all().close()  # finish the file (and its audio) inside the run
    ctx.run.extra["frames_written"] = writer.frames_written
    _extra(ctx, result, None)
    ctx.data.update(
        output=writer.path, frames=writer.frames_written, fps=info.fps,
        input_size=(info.width, info.height), output_size=request.size,
        has_audio=info.has_audio,
        frames_per_second=writer.frames_written / elapsed if elapsed else 0.0,
    )  # fmt: skip
    ctx.summary = (f"{writer.frames_written} frames at {info.fps:g} fps, "
                   f"{request.size[0]}x{request.size[1]}")


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


# --------------------------------------------------------------------------------------------
# The older entry points: thin wrappers over the job skeleton


def image_result(out: JobOutput) -> ImageJobResult:
    """A finished image job in the shape the tab and the CLI show."""
    data = out.data
    return ImageJobResult(
        run_dir=out.run_dir, output=out.outputs["image"], before=data["before"],
        after=data["after"], input_size=data["input_size"], output_size=data["output_size"],
        metrics=data["metrics"], notes=list(out.notes), device=data["device"],
        dtype=data["dtype"], timings=data["timings"],
    )  # fmt: skip


def video_result(out: JobOutput) -> VideoJobResult:
    """A finished video job in the shape the tab and the CLI show."""
    data = out.data
    return VideoJobResult(
        run_dir=out.run_dir, output=out.outputs["video"], frames=data["frames"],
        fps=data["fps"], input_size=data["input_size"], output_size=data["output_size"],
        has_audio=data["has_audio"], frames_per_second=data["frames_per_second"],
        notes=list(out.notes), device=data["device"], dtype=data["dtype"],
        timings=data["timings"],
    )  # fmt: skip


def run_image(registry: Registry, job: ImageJob,
              progress: Progress | None = None) -> ImageJobResult:
    """Upscale one image into a new run folder (the task's job, settings as an ImageJob)."""
    from pipelines.super_res import TASK as SUPER_RES

    settings = {"scale": check_scale(job.scale), "tile": job.tile,
                "format": image_format(job.fmt), "self_check": job.self_check}
    out = run_job(registry, SUPER_RES, job.backend,
                  {"image": job.source, "reference": job.reference}, settings, progress=progress)
    return image_result(out)


def run_video(registry: Registry, job: VideoJob,
              progress: Progress | None = None) -> VideoJobResult:
    """Upscale a video frame by frame into a new run folder (H.264, original audio kept)."""
    from pipelines.super_res import TASK as SUPER_RES

    settings = {"scale": check_scale(job.scale), "tile": job.tile}
    out = run_job(registry, SUPER_RES, job.backend, {"video": job.source}, settings,
                  progress=progress)
    return video_result(out)
