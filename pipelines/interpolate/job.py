"""One interpolation as a studio job (the tab, ``cli.py interpolate`` and the benchmark)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipelines.errors import InputError
from pipelines.interpolate.engine import check_request
from pipelines.interpolate.types import InterpolateRequest
from pipelines.media import probe_video
from pipelines.registry import PipelineSpec
from pipelines.task import JobContext


def prepare(inputs: Mapping[str, Any], values: Mapping[str, Any], seed: int,
            spec: PipelineSpec) -> InterpolateRequest:
    """The request from the task's inputs and settings; the video is probed (limits, kind)."""
    video = inputs.get("video")
    if not video:
        raise InputError("Upload a video to interpolate.")
    probe_video(video)
    fps = float(values["fps"]) or None
    request = InterpolateRequest(
        video=Path(video), factor=None if fps else int(values["factor"]), fps=fps,
        slowmo=bool(values["slowmo"]), dedupe=bool(values["dedupe"]),
        scene_cuts=bool(values["scene_cuts"]), max_side=int(values["max_side"]) or None)
    check_request(request)
    return request


def job(ctx: JobContext, request: InterpolateRequest) -> None:
    """Plan the frames, then make and encode them in one stream (sound kept and in sync)."""
    with ctx.stage("plan", 0.02) as report:
        result = ctx.runner(request, report)
    # The output lasts as long as the source, so its sound stays in sync, except in slow motion.
    has_audio = bool(result.info.get("has_audio"))
    audio = request.video if has_audio and not request.slowmo else None
    if has_audio and request.slowmo:
        ctx.note("Slow motion: the sound was left out (it would not match the slowed picture).")
    rate = Fraction(result.info.get("out_fps_fraction") or Fraction(result.fps))
    with ctx.stage("interpolate_and_encode", 0.98) as report:
        _, written = ctx.write_video("video", "interpolated.mp4", result.frames, rate,
                                     audio=audio, count=result.count, progress=report)
    if written != result.count:
        raise RuntimeError(f"planned {result.count} frames, made {written}")
    ctx.note(*result.notes)
    width, height = result.size
    ctx.run.extra.update(output={"frames": written, "size": [width, height],
                                 "fps": result.fps}, backend_info=result.info,
                         cuts=result.cuts)
    ctx.data.update(frames=written, fps=result.fps, size=result.size, cuts=result.cuts,
                    info=result.info)
    ctx.summary = (f"{written} frames at {result.fps:.3f} fps ({written / result.fps:.2f} s), "
                   f"{width}x{height}; {result.info.get('interpolated', 0)} frames made, "
                   f"{len(result.cuts)} scene cut(s) kept sharp")
