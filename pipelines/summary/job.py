"""The one-image summary on the task contract (the generic tab, ``cli.py summary``, the
benchmark): :func:`prepare` checks the input before any run folder exists, :func:`job` runs the
runner and writes the PNG; the manifest lists every frame used (index, time, timecode, role)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.errors import InputError
from pipelines.media import VIDEO_HINT, media_kind, probe_video
from pipelines.registry import PipelineSpec
from pipelines.summary.classical import check_length
from pipelines.summary.types import SummaryRequest
from pipelines.task import JobContext


def prepare(inputs: Mapping[str, Any], values: Mapping[str, Any], seed: int,
            spec: PipelineSpec) -> SummaryRequest:
    """The request from the video and the validated settings; the video is probed (limits,
    still images) and its length checked against the mode."""
    video = inputs.get("video")
    if not video:
        raise InputError(f"No video was given. {VIDEO_HINT}")
    name = Path(video).name
    if media_kind(video) == "image":
        raise InputError(f"'{name}' is a still image; a one-image summary is made from a "
                         f"video. {VIDEO_HINT}")
    try:
        info = probe_video(video)
    except InputError as err:
        if "still image" in str(err):
            raise InputError(f"'{name}' is a still image; a one-image summary is made from a "
                             f"video. {VIDEO_HINT}") from err
        raise
    request = SummaryRequest(video=Path(video), **{k: values[k] for k in (
        "mode", "frames", "step", "selection", "columns", "labels", "max_side", "start", "end",
        "stitch", "crop", "threshold")})
    if request.end and request.end <= request.start:
        raise InputError(f"The end ({request.end:g} s) must come after the start "
                         f"({request.start:g} s); raise 'end', or set it to 0 for the end of "
                         f"the video.")
    if request.start >= info.duration:
        raise InputError(f"The start ({request.start:g} s) is at or past the end of the video "
                         f"({info.duration:.2f} s); set 'start' below {info.duration:.2f}.")
    end = min(request.end or info.duration, info.duration)
    where = " between 'start' and 'end'" if request.start or request.end else ""
    check_length(round((end - request.start) * info.fps), request, where)
    return request


def job(ctx: JobContext, request: SummaryRequest) -> None:
    """Make the picture, write it as a PNG, list the frames used in the manifest."""
    with ctx.stage("summarise", 0.95) as report:
        result = ctx.runner(request, report)
    with ctx.stage("encode", 0.05):
        ctx.write_image("image", f"{result.mode}.png", result.image)
    height, width = result.image.shape[:2]
    used = [u.as_dict() for u in result.used]
    ctx.run.extra.update(frames_used=used, output={"size": [width, height]},
                         backend_info=result.info)
    ctx.note(*result.notes)
    ctx.data.update(result=result)
    roles: dict[str, int] = {}
    for frame in result.used:
        roles[frame.role] = roles.get(frame.role, 0) + 1
    parts = ", ".join(f"{n} {role} frame{'s' * (n != 1)}" for role, n in roles.items())
    ctx.summary = f"{_TITLES[result.mode]}, {width}x{height}, from {parts}"


_TITLES = {"mosaic": "Keyframe mosaic", "action": "Action shot", "panorama": "Panorama"}
