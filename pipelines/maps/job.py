"""Depth and masks per frame on the task contract (the generic tab, ``cli.py maps``, the
benchmark): :func:`prepare` checks the input before any run folder exists; :func:`job` streams
the maps into the ``.npz`` (one entry per frame, written as it is made), then reads the input
again to draw each map beside its frame, normalised over the whole clip, into the side-by-side
video (or picture) and the PNG sequence's ZIP."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError
from pipelines.maps import render
from pipelines.maps.frames import read_input
from pipelines.maps.prompts import parse_prompt
from pipelines.maps.settings import MASK_KINDS, group_of
from pipelines.maps.types import MapsRequest
from pipelines.media import VIDEO_HINT, load_image, media_kind, probe_video
from pipelines.networks import masks
from pipelines.registry import PipelineSpec
from pipelines.task import JobContext

HINT = (f"{VIDEO_HINT} Depth, the person mask and a tracked object also take a PNG, JPEG or "
        "WebP image.")
_NAMES = {"depth": "Depth", "flow": "Flow", "motion": "Motion mask", "person": "Person mask",
          "object": "Object mask"}
SINGLE = ("depth", "person", "object")  # maps that one image can have
GROUP_KINDS = {"depth": "depth", "track": "object"}  # the one map of each model group


def prepare(inputs: Mapping[str, Any], values: Mapping[str, Any], seed: int,
            spec: PipelineSpec) -> MapsRequest:
    """The request from the input and the validated settings: the input's kind checked
    against the map (flow and motion masks need a video), the video probed and its frames
    counted (at most ``max_frames`` after ``step``); an object mask's prompt read and checked
    against the frame (its frame snapped to the nearest frame read)."""
    media = inputs.get("media")
    if not media:
        raise InputError(f"No video or image was given. {HINT}")
    name = Path(media).name
    group = group_of(spec)
    kind = GROUP_KINDS.get(group, values["kind"])
    what = media_kind(media)
    if what not in ("image", "video"):
        raise InputError(f"'{name}' is neither a video nor an image. {HINT}")
    settings = {k: values[k] for k in ("max_side", "max_frames", "step", "smoothing", "align",
                                       "flow_method", "threshold", "history")}
    one_image = InputError(f"'{name}' is one image; a {_NAMES[kind].lower()} needs a video "
                           f"(two frames or more): upload a video, or pick the depth map.")
    if what == "image":
        if kind not in SINGLE:
            raise one_image
        return _one_image(Path(media), kind, settings, values)
    try:
        info = probe_video(media)
    except InputError as err:  # a picture under a video's name
        if "still image" not in str(err):
            raise
        if kind not in SINGLE:
            raise one_image from err
        return _one_image(Path(media), kind, settings, values)
    step = values["step"]
    count = min(values["max_frames"], math.ceil(info.frame_count / step))
    if kind not in SINGLE and count < 2:
        raise InputError(f"'{name}' gives {count} frame(s) at a step of {step}; a "
                         f"{_NAMES[kind].lower()} needs two or more: lower 'step' or "
                         f"raise 'max_frames'.")
    prompt = None
    if kind == "object":
        last = (count - 1) * step
        wanted = values["prompt_frame"]
        if wanted > last:
            raise InputError(f"The prompt frame {wanted} is past the last frame mapped ({last}: "
                             f"{count} frame(s) at a step of {step}): pick an earlier frame or "
                             f"raise 'max_frames'.")
        prompt = parse_prompt(values["box"], values["points"], info.width, info.height,
                              min(last, (2 * wanted + step) // (2 * step) * step))
    return MapsRequest(Path(media), False, kind, **settings, fps=info.fps, count=count,
                       prompt=prompt)


def _one_image(media: Path, kind: str, settings: dict[str, Any],
               values: Mapping[str, Any]) -> MapsRequest:
    prompt = None
    if kind == "object":
        if values["prompt_frame"] != 0:
            raise InputError(f"'{media.name}' is one image: leave 'prompt_frame' at 0.")
        height, width = load_image(media).rgb.shape[:2]
        prompt = parse_prompt(values["box"], values["points"], width, height)
    return MapsRequest(media, True, kind, **settings, fps=1.0, count=1, prompt=prompt)


class NpzWriter:
    """An ``.npz`` written one array at a time (``np.load`` reads it as usual, lazily)."""

    def __init__(self, path: Path):
        self.path = path
        self.archive = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True)

    def add(self, key: str, array: np.ndarray) -> None:
        with self.archive.open(f"{key}.npy", "w", force_zip64=True) as file:
            np.save(file, array)

    def close(self) -> None:
        self.archive.close()


def key(kind: str, index: int) -> str:
    return f"{kind}_{index:06d}"


def job(ctx: JobContext, request: MapsRequest) -> None:
    """Make the maps, then the side-by-side video (picture), the PNG ZIP and the manifest."""
    kind = request.kind
    indices: list[int] = []
    low, high, speed = np.inf, -np.inf, 0.0
    shape: tuple[int, ...] = ()
    with contextlib.ExitStack() as stack, ctx.stage("run", 0.75) as report:
        if kind == "person":  # the person-mask network, pinned for the job
            if ctx.registry is None:
                raise InputError("A person mask needs the studio's registry (the "
                                 "metrics.person-mask network); run it through the studio.")
            segmenter = stack.enter_context(ctx.registry.pinned(masks.SPEC_ID))
            request = dataclasses.replace(request, segmenter=segmenter)
        result = ctx.runner(request, report)
        arrays = NpzWriter(ctx.output("arrays", f"{kind}.npz"))
        try:
            for item in result.maps:
                stored = item.map.astype(np.uint8) if kind in MASK_KINDS else item.map
                arrays.add(key(kind, item.index), stored)
                indices.append(item.index)
                shape = item.map.shape
                if kind == "depth":
                    a, b = render.depth_range(item.map)
                    low, high = min(low, a), max(high, b)
                elif kind == "flow":
                    speed = max(speed, render.flow_speed(item.map))
            arrays.add("frames", np.asarray(indices, np.int64))
        finally:
            arrays.close()
    if not indices:
        raise InputError(f"No frame of '{request.media.name}' could be read. {HINT}")
    stored = np.load(arrays.path)
    wanted = set(indices)

    def picture(index: int) -> np.ndarray:
        data = stored[key(kind, index)]
        if kind == "depth":
            return render.normalise(data, low, high)
        if kind == "flow":
            return render.flow_colour(data, speed)
        return data.astype(bool)

    with ctx.stage("encode", 0.25) as report, zipfile.ZipFile(
            ctx.output("pngs", f"{kind}_png.zip"), "w", zipfile.ZIP_STORED) as pngs:

        def pairs() -> Iterator[np.ndarray]:
            for index, rgb in read_input(request):
                if index not in wanted:
                    continue
                shown = picture(index)
                if kind == "depth":
                    pngs.writestr(f"{key(kind, index)}.png", render.depth_png16(shown))
                    shown = render.depth_colour(shown)
                else:
                    shown = shown if kind == "flow" else render.mask_colour(shown)
                    pngs.writestr(f"{key(kind, index)}.png", _png(shown))
                yield render.side_by_side(rgb, shown)

        if request.is_image:
            ctx.write_image("image", f"{kind}_side_by_side.png", next(pairs()))
            written = 1
        else:
            _, written = ctx.write_video("video", f"{kind}_side_by_side.mp4", pairs(),
                                         result.fps, count=len(indices), progress=report)
    stored.close()
    height, width = shape[:2]
    details: dict[str, Any] = {"kind": kind, "frames": indices, "size": [width, height],
                               "written": written, **result.info}
    if kind == "depth":
        details["range"] = [round(float(low), 6), round(float(high), 6)]
    if kind == "flow":
        details["speed_p99_px"] = round(speed, 4)
    if request.prompt is not None:
        prompt = request.prompt
        details["prompt"] = {"frame": prompt.frame, "box": prompt.box,
                             "points": [list(p) for p in prompt.points]}
        if prompt.frame != ctx.settings.get("prompt_frame", prompt.frame):
            ctx.note(f"The prompt was placed on frame {prompt.frame}, the nearest frame mapped "
                     f"at a step of {request.step}.")
    ctx.run.extra.update(output=details)
    ctx.note(*result.notes)
    flicker = result.info.get("flicker") or {}
    if flicker.get("before") is not None:
        ctx.note(f"Flicker (mean frame-to-frame change of the depth over its range): "
                 f"{flicker['before']:.4f} as made, {flicker['after']:.4f} after "
                 f"{'alignment and ' if request.align else ''}smoothing "
                 f"{request.smoothing:g}.")
    if not request.is_image:
        total = probe_video(request.media).frame_count
        if len(indices) + (kind == "flow") < math.ceil(total / request.step):
            ctx.note(f"Maps were made for the first {request.count} frames read (step "
                     f"{request.step}) of {total}; raise 'max_frames' for more.")
    ctx.data.update(result=result, frames=indices)
    count = len(indices)
    ctx.summary = (f"{_NAMES[kind]} maps of {count} frame{'s' * (count != 1)}, "
                   f"{width}x{height}" + (f" ({result.info['cue']} cue)"
                                         if "cue" in result.info else ""))


def _png(rgb: np.ndarray) -> bytes:
    import cv2

    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()
