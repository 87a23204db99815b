"""One removal as a studio job (the tab, ``cli.py remove`` and the benchmark)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError
from pipelines.media import VideoWriter, iter_frames, media_kind, probe_video
from pipelines.networks import masks as person_masks
from pipelines.registry import PipelineSpec
from pipelines.remove import masks as M
from pipelines.remove import targets as T
from pipelines.remove.types import RemoveRequest
from pipelines.task import JobContext

MASK_CHECK_SIDE = 96  # a mask video is checked for white pixels at this size
FOUND = ("person", "main_object")  # targets whose masks the job finds in every frame


def working_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """The frame size :func:`pipelines.media.resize_max_side` gives (the processing size)."""
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _still_instead(path: str, what: str, instead: str) -> None:
    if media_kind(path) == "image":
        raise InputError(f"The {what} '{Path(path).name}' is a still image; {instead}")


def _first_mask(inputs: Mapping[str, Any], values: Mapping[str, Any],
                size: tuple[int, int]) -> np.ndarray:
    target = values["target"]
    if target == "box":
        if not str(values["box"] or "").strip():
            raise InputError(f"Give the object's box on the first frame as x0,y0,x1,y1 in pixels "
                             f"of the {size[0]}x{size[1]} video (setting 'box').")
        return M.box_mask(values["box"], size)
    mask = inputs.get("mask")
    if not mask:
        also = " You gave a mask video: set target to mask_video." if inputs.get(
            "mask_video") else ""
        raise InputError("Upload a mask image of the first frame (white = remove), or set "
                         f"target to box or mask_video.{also}")
    if media_kind(mask) == "video":
        raise InputError(f"The mask '{Path(mask).name}' is a video; set target to mask_video, "
                         "or give a mask image of the first frame.")
    return M.load_mask_image(mask, size)


def _check_mask_video(path: str, size: tuple[int, int], frames: int) -> Path:
    _still_instead(path, "mask video", "set target to mask to carry a first-frame mask "
                   "through the video, or give one mask per frame as a video.")
    info = probe_video(path)
    if (info.width, info.height) != size:
        raise InputError(f"The mask video is {info.width}x{info.height} but the video's frames "
                         f"are {size[0]}x{size[1]}; give a mask video of the video's size.")
    if info.frame_count < frames:
        raise InputError(f"The mask video has {info.frame_count} frames but the video has "
                         f"{frames}; give one mask per frame.")
    if not any(M.binary(rgb).any() for _, rgb in iter_frames(path, max_side=MASK_CHECK_SIDE)):
        raise InputError("The mask video is empty (no white pixel in any frame); paint the "
                         "object to remove in white on black.")
    return Path(path)


def prepare(inputs: Mapping[str, Any], values: Mapping[str, Any], seed: int,
            spec: PipelineSpec) -> RemoveRequest:
    """The request from the task's inputs and settings; the video and the mask are checked."""
    video = inputs.get("video")
    if not video:
        raise InputError("Upload a video to remove an object from.")
    _still_instead(video, "video", "object removal needs a video (for one picture, use an "
                   "image editor's inpainting).")
    info = probe_video(video)
    source = (info.width, info.height)
    max_side = int(values["max_side"]) or None
    size = working_size(*source, max_side)
    first = mask_video = None
    if values["target"] in FOUND:
        pass  # the job finds the masks (it has the registry the person-mask network needs)
    elif values["target"] == "mask_video":
        if not inputs.get("mask_video"):
            raise InputError("Upload a mask video (white = remove, one mask per frame), or set "
                             "target to mask or box.")
        mask_video = _check_mask_video(inputs["mask_video"], source, info.frame_count)
    else:
        first = M.resize_mask(_first_mask(inputs, values, source), size)
    return RemoveRequest(
        video=Path(video), size=size, count=info.frame_count, fps=info.fps, first_mask=first,
        mask_video=mask_video, target=str(values["target"]), dilate=int(values["dilate"]),
        neighbours=int(values["neighbours"]),
        still_motion=float(values["still_motion"]), flow_side=int(values["flow_side"]),
        max_side=max_side, prompt=str(values["prompt"] or ""), steps=int(values["steps"]),
        guidance=float(values["guidance"]), seed=seed, model_side=int(values["model_side"]),
        chunk_frames=int(values["chunk_frames"]), memory=str(values["memory"]))


def find_masks(ctx: JobContext, request: RemoveRequest, progress) -> RemoveRequest:
    """The request with the masks of the ``person`` or ``main_object`` target found in every
    frame (:mod:`pipelines.remove.targets`); a note says in how many frames."""
    if request.target == "person":
        if ctx.registry is None:
            raise InputError("The person target needs the studio's registry (the "
                             "metrics.person-mask network); run it through the studio.")
        with ctx.registry.pinned(person_masks.SPEC_ID) as segmenter:
            track = T.person_track(request.video, request.size, request.max_side,
                                   request.count, segmenter, progress)
        what = "The person-mask network found someone"
    else:
        track = T.main_object_track(request.video, request.size, request.max_side,
                                    request.count, request.fps, progress)
        what = "The main moving object was found"
    ctx.note(f"{what} in {track.covered()} of {len(track)} frames.")
    return dataclasses.replace(request, masks=track)


def job(ctx: JobContext, request: RemoveRequest) -> None:
    """Find the masks (targets person and main_object), then remove and encode in one stream
    (cleaned video with the source's sound, mask video), then the clean still."""
    has_audio = probe_video(request.video).has_audio
    if request.target in FOUND:
        with ctx.stage("find_masks", 0.2) as report:
            request = find_masks(ctx, request, report)
    with ctx.stage("remove_and_encode", 0.77 if request.target in FOUND else 0.97) as report:
        result = ctx.runner(request, report)
        clean_path = ctx.output("video", "removed.mp4")
        mask_path = ctx.output("mask", "mask.mp4")
        written = 0
        with VideoWriter(clean_path, result.fps, audio=request.video if has_audio else None) \
                as clean_out, VideoWriter(mask_path, result.fps) as mask_out:
            for clean, hole in result.frames:
                clean_out.write(clean)
                mask_out.write(np.repeat(hole[..., None].astype(np.uint8) * 255, 3, axis=2))
                written += 1
    with ctx.stage("still", 0.03):
        if result.plate is not None:
            ctx.write_image("still", "clean_still.png", result.plate)
    ctx.note(*result.notes)
    width, height = result.size
    ctx.run.extra.update(output={"frames": written, "size": [width, height], "fps": result.fps},
                         backend_info=result.info)
    ctx.data.update(frames=written, fps=result.fps, size=result.size, info=result.info)
    ctx.summary = (f"Removed the object from {written} frames ({width}x{height}, "
                   f"{result.fps:.3g} fps){'; sound kept' if has_audio else ''}")
