"""The loop every style backend shares: load and check the inputs, stylise an image or stream a
video through the stylizer, the cut gate and the temporal blender, and write the result.

A backend supplies ``make_stylizer(styles, request) -> Stylizer``: given the style image(s) it
prepares what it needs once (statistics, features) and returns a function that stylises one RGB
uint8 frame. Videos are decoded, stylised, blended and encoded one frame at a time (a few frames
are held while the shot detector settles), and keep the source's audio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from pipelines.errors import InputError
from pipelines.media import (
    VideoWriter,
    iter_frames,
    load_image,
    probe_video,
    resize_max_side,
    save_image,
)
from pipelines.style.temporal import CutGate, TemporalBlender, TemporalMeter
from pipelines.style.types import StyleRequest, StyleResult, Stylizer
from pipelines.task import Progress

MIN_STYLE_SIDE = 64  # smaller style images are enlarged to this (their statistics still count)
MAX_STYLE_SIDE = 1024  # larger ones are reduced: style statistics do not need more
MakeStylizer = Callable[[list[np.ndarray], StyleRequest], Stylizer]


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
              progress: Progress | None = None) -> StyleResult:
    """Stylise ``request.content`` (image or video) into ``request.output``."""
    request = request.validate()
    notes: list[str] = []
    styles = [load_style(request.style, notes)]
    if request.style2 is not None:
        styles.append(load_style(request.style2, notes, "second style image"))
    start = time.perf_counter()
    stylize = make_stylizer(styles, request)
    prepare = time.perf_counter() - start
    if request.is_video:
        result = _run_video(request, stylize, progress)
    else:
        result = _run_image(request, stylize)
    result.timings = {"prepare_style": round(prepare, 4), **result.timings}
    result.notes = notes + result.notes
    return result


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


def _run_video(request: StyleRequest, stylize: Stylizer, progress: Progress | None) -> StyleResult:
    info = probe_video(request.content)
    if Path(request.output).suffix.lower() != ".mp4":
        raise InputError("Video results are written as MP4; give the output a .mp4 name.")
    gate = CutGate()
    blender = TemporalBlender(request.blend) if request.consistent else None
    meter = TemporalMeter() if request.measure else None
    clock = {"decode": 0.0, "stylise": 0.0, "consistency": 0.0, "metrics": 0.0, "encode": 0.0}
    written: list[int] = []
    preview_at = max(0, info.frame_count // 2)
    preview: np.ndarray | None = None
    size: tuple[int, int] | None = None

    def emit(writer: VideoWriter, items: list) -> None:
        nonlocal preview, size
        for index, (content, raw), cut in items:
            t0 = time.perf_counter()
            out = blender(content, raw, cut) if blender is not None else raw
            t1 = time.perf_counter()
            if meter is not None:
                meter.update(content, raw, out, cut)
            t2 = time.perf_counter()
            writer.write(out)
            clock["consistency"] += t1 - t0
            clock["metrics"] += t2 - t1
            clock["encode"] += time.perf_counter() - t2
            written.append(index)
            if preview is None and index >= preview_at:
                preview = out
            size = (out.shape[1], out.shape[0])
            _report(progress, min(0.99, len(written) / max(1, info.frame_count)),
                    f"frame {len(written)} of about {info.frame_count}")

    audio = info.path if info.has_audio else None
    with VideoWriter(request.output, info.fps, audio=audio) as writer:
        frames = iter_frames(request.content, max_side=request.max_side)
        t_decode = time.perf_counter()
        for index, content in frames:
            clock["decode"] += time.perf_counter() - t_decode
            t0 = time.perf_counter()
            raw = stylize(content)
            clock["stylise"] += time.perf_counter() - t0
            emit(writer, gate.push(index, content, (content, raw)))
            t_decode = time.perf_counter()
        emit(writer, gate.flush())
    notes = []
    if size is not None and (size[0], size[1]) != (info.width, info.height):
        notes.append(f"Frames were processed at {size[0]}x{size[1]} (max side "
                     f"{request.max_side}); the source is {info.width}x{info.height}.")
    before, after = meter.summary() if meter is not None else ({}, {})
    width, height = size or (info.width, info.height)
    return StyleResult(Path(request.output), True, width, height, frames=len(written),
                       fps=info.fps, cuts=sorted(gate.cuts), before=before, after=after,
                       timings={k: round(v, 4) for k, v in clock.items()}, notes=notes,
                       preview=preview)
