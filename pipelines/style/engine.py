"""The loop every style backend shares: load and check the inputs, stylise an image or stream a
video through the stylizer, the cut gate and the temporal blender, and write the result.

A backend supplies ``make_stylizer(styles, request) -> Stylizer``: given the style image(s) it
prepares what it needs once (statistics, features) and returns a function that stylises one RGB
uint8 frame. Videos stream through overlapping stages (:mod:`pipelines.style.stream`): decoding
runs ahead on its own thread, each frame's stylisation and its optical flow to the previous
frame run on a few worker threads and come back in frame order, the shot detector holds a few
frames until it has settled, blending (which needs the previous output) runs in order, and
encoding runs behind on another thread. Only a few frames are in memory at a time; the source's
audio is kept.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import closing
from pathlib import Path

import cv2
import numpy as np

from pipelines.errors import InputError, StudioError
from pipelines.media import (
    VideoWriter,
    iter_frames,
    load_image,
    probe_video,
    resize_max_side,
    save_image,
)
from pipelines.style.stream import Behind, Clock, Prefetch, Workers
from pipelines.style.temporal import CutGate, TemporalBlender, TemporalMeter, measure_stride
from pipelines.style.types import StyleRequest, StyleResult, Stylizer
from pipelines.task import Progress

MIN_STYLE_SIDE = 64  # smaller style images are enlarged to this (their statistics still count)
MAX_STYLE_SIDE = 1024  # larger ones are reduced: style statistics do not need more
MakeStylizer = Callable[[list[np.ndarray], StyleRequest], Stylizer]
MAX_WORKERS = 4  # per-frame threads; more cores than this are left to OpenCV and the encoder
MEASURE_PAIRS = 8  # temporal figures: at most this many evenly spread frame pairs a video
# x264 preset of the result: at CRF 18 "veryfast" costs a third of "medium"'s CPU a frame and
# stays visually lossless (bench/style.py; docs/style.md).
ENCODE_PRESET = "veryfast"


def load_style(path: str | Path, notes: list[str], what: str = "style image") -> np.ndarray:
    """A style image as RGB uint8, enlarged if tiny and reduced if huge; notes say what changed."""
    image = load_image(path)
    rgb = image.rgb
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
        notes.append(f"The {what} is greyscale, so the result takes on its grey tones.")
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_STYLE_SIDE:
        scale = MIN_STYLE_SIDE / min(height, width)
        size = (max(MIN_STYLE_SIDE, round(width * scale)),
                max(MIN_STYLE_SIDE, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
        notes.append(f"The {what} is only {width}x{height} pixels; it was enlarged to "
                     f"{size[0]}x{size[1]}. Use a larger style image for finer texture.")
    if float(rgb.std()) < 1.0:
        notes.append(f"The {what} is one flat colour: the result takes that colour, with no "
                     "texture to transfer.")
    return resize_max_side(rgb, MAX_STYLE_SIDE)


def _report(progress: Progress | None, fraction: float, desc: str) -> None:
    if progress is not None:
        progress(fraction, desc)


def run_style(request: StyleRequest, make_stylizer: MakeStylizer,
              progress: Progress | None = None, *, concurrent: bool = True,
              workers: int | None = None) -> StyleResult:
    """Stylise ``request.content`` (image or video) into ``request.output``.

    Video frames are stylised on ``workers`` threads (default: :func:`default_workers`);
    ``concurrent=False`` says the stylizer must not run on two frames at once (a model on one
    device): it is then called one frame at a time while the rest still overlaps.
    """
    request = request.validate()
    notes: list[str] = []
    styles = [load_style(request.style, notes)]
    if request.style2 is not None:
        styles.append(load_style(request.style2, notes, "second style image"))
    start = time.perf_counter()
    stylize = make_stylizer(styles, request)
    prepare = time.perf_counter() - start
    if request.is_video:
        if not concurrent:
            stylize = _one_at_a_time(stylize)
        result = _run_video(request, stylize, progress, workers)
    else:
        result = _run_image(request, stylize)
    result.timings = {"prepare_style": round(prepare, 4), **result.timings}
    result.notes = notes + result.notes
    return result


def _one_at_a_time(stylize: Stylizer) -> Stylizer:
    lock = threading.Lock()

    def locked(frame: np.ndarray) -> np.ndarray:
        with lock:
            return stylize(frame)

    return locked


def _run_image(request: StyleRequest, stylize: Stylizer) -> StyleResult:
    image = load_image(request.content)
    rgb = resize_max_side(image.rgb, request.max_side)
    alpha = image.alpha
    if alpha is not None and alpha.shape != rgb.shape[:2]:
        alpha = cv2.resize(alpha, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_AREA)
    start = time.perf_counter()
    out = stylize(rgb)
    stylise_s = time.perf_counter() - start
    path = save_image(request.output, out, alpha)
    notes = []
    if rgb.shape != image.rgb.shape:
        notes.append(f"The content image was reduced from {image.width}x{image.height} to "
                     f"{rgb.shape[1]}x{rgb.shape[0]} (max side {request.max_side}).")
    return StyleResult(path, False, out.shape[1], out.shape[0], timings={"stylise": stylise_s},
                       notes=notes, preview=out)


def default_workers() -> int:
    """Threads for per-frame work: the cores this process may use, at most :data:`MAX_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or "no message"
    return text if len(text) <= 200 else text[:197] + "..."


def _run_video(request: StyleRequest, stylize: Stylizer, progress: Progress | None,
               workers: int | None = None) -> StyleResult:
    """Decode, stylise (and analyse motion), gate, blend, measure and encode, overlapped:
    decoding runs ahead on a thread of its own, per-frame work on ``workers`` threads (results
    taken in frame order), encoding behind on another; blending, which needs the previous
    output, runs in order on this thread. ``workers=1`` runs it all in turn on this thread."""
    info = probe_video(request.content)
    if Path(request.output).suffix.lower() != ".mp4":
        raise InputError("Video results are written as MP4; give the output a .mp4 name.")
    gate = CutGate()
    blender = TemporalBlender(request.blend) if request.consistent else None
    meter = (TemporalMeter(stride=measure_stride(info.frame_count, MEASURE_PAIRS))
             if request.measure else None)
    clock = Clock("decode", "stylise", "consistency", "metrics", "encode")
    written: list[int] = []
    preview_at = max(0, info.frame_count // 2)
    preview: np.ndarray | None = None
    size: tuple[int, int] | None = None
    scores: list[Future] = []
    workers = workers or default_workers()
    started = time.perf_counter()

    def decoded() -> Iterator[tuple[int, np.ndarray, np.ndarray | None, np.ndarray | None,
                                    np.ndarray | None]]:
        """(index, frame, its flow-size grey, previous frame, its grey), on the decode thread."""
        prev = prev_grey = None
        frames = iter_frames(request.content, max_side=request.max_side)
        try:
            while True:
                with clock("decode"):
                    item = next(frames, None)
                    if item is None:
                        return
                    index, content = item
                    grey = blender.small_grey(content) if blender is not None else None
                yield index, content, grey, prev, prev_grey
                prev, prev_grey = content, grey
        finally:
            frames.close()

    def prepare(item) -> tuple:
        """A frame's own work, on any worker: stylise, and the motion and metric flows between
        it and the previous frame (content only)."""
        index, content, grey, prev, prev_grey = item
        try:
            with clock("stylise"):
                raw = stylize(content)
            motion = flows = None
            if blender is not None and prev_grey is not None and prev_grey.shape == grey.shape:
                with clock("consistency"):
                    motion = blender.analyse(prev_grey, grey)
            if meter is not None and prev is not None and meter.wants(index):
                with clock("metrics"):
                    flows = meter.flows(prev, content)
        except StudioError:
            raise
        except Exception as err:
            raise StudioError(f"Frame {index} of '{Path(request.content).name}' could not be "
                              f"stylised ({type(err).__name__}: {_one_line(err)}).") from err
        return index, content, raw, motion, flows

    def score(flows, frames) -> tuple:
        with clock("metrics"):
            return meter.score(flows, *frames)

    def encode(frame: np.ndarray) -> None:
        try:
            with clock("encode"):
                writer.write(frame)
        except StudioError:
            raise
        except Exception as err:
            raise StudioError(f"The result '{Path(request.output).name}' could not be written "
                              f"({type(err).__name__}: {_one_line(err)}).") from err

    def emit(items: list) -> None:
        nonlocal preview, size
        for index, (content, raw, motion, flows), cut in items:
            with clock("consistency"):
                out = blender.apply(raw, motion, cut) if blender is not None else raw
            if meter is not None:
                frames = meter.pair(index, content, raw, out, cut)
                if frames is not None and flows is not None:
                    scores.append(pool.submit(score, flows, frames))
            encoder.put(out)
            written.append(index)
            if preview is None and index >= preview_at:
                preview = out
            size = (out.shape[1], out.shape[0])
            _report(progress, min(0.99, len(written) / max(1, info.frame_count)),
                    f"frame {len(written)} of about {info.frame_count}")

    audio = info.path if info.has_audio else None
    with VideoWriter(request.output, info.fps, audio=audio, preset=ENCODE_PRESET) as writer, \
            Workers(workers, "style-frame") as pool, \
            Prefetch(decoded(), depth=2 * workers, name="style-decode") as source:
        encoder = Behind(encode, depth=2 * workers, name="style-encode")
        try:
            with closing(pool.ordered(prepare, source)) as results:
                for index, content, raw, motion, flows in results:
                    emit(gate.push(index, content, (content, raw, motion, flows)))
            emit(gate.flush())
            encoder.close()
        except BaseException:
            encoder.abort()
            raise
        if meter is not None:
            for future in scores:
                meter.add(future.result())
    wall = time.perf_counter() - started
    notes = []
    if size is not None and (size[0], size[1]) != (info.width, info.height):
        notes.append(f"Frames were processed at {size[0]}x{size[1]} (max side "
                     f"{request.max_side}); the source is {info.width}x{info.height}.")
    if meter is not None and meter.stride > 1:
        notes.append(f"Warping error and flicker were measured on {meter.pairs} of the "
                     f"{max(0, len(written) - 1)} frame pairs (one in {meter.stride}, evenly "
                     "spread).")
    before, after = meter.summary() if meter is not None else ({}, {})
    width, height = size or (info.width, info.height)
    return StyleResult(Path(request.output), True, width, height, frames=len(written),
                       fps=info.fps, cuts=sorted(gate.cuts), before=before, after=after,
                       timings={"video": round(wall, 4)},
                       busy={k: round(v, 4) for k, v in clock.seconds.items()}, notes=notes,
                       preview=preview)
