"""One portrait animation as a studio job, shared by the tab and ``cli.py animate``.

Loads the picture through :mod:`pipelines.media`, runs the chosen backend pinned in the
registry, and streams its frames once into the MP4, a small GIF and a strip of preview frames,
all inside a run folder whose manifest records the backend, parameters, seed and timings.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError
from pipelines.media import LoadedImage, load_image, resize_max_side, save_image, write_gif
from pipelines.portrait.request import (
    AnimateRequest,
    DitSettings,
    MotionSettings,
    SvdSettings,
    check_request,
    flatten_alpha,
)
from pipelines.portrait.settings import MOTIONS
from pipelines.registry import PipelineSpec, Registry
from pipelines.task import JobContext, JobOutput, Progress, run_job

GIF_SIDE = 320
GIF_MAX_FPS = 15
STRIP_FRAMES = 6
STRIP_SIDE = 200


@dataclass(frozen=True)
class AnimateOutput:
    """Where a finished job's files are, and what the user should know about it."""

    run_dir: Path
    video: Path
    gif: Path
    strip: Path
    manifest: Path
    notes: tuple[str, ...]
    frames: int
    size: tuple[int, int]
    fps: float


def load_picture(source: str | os.PathLike[str] | np.ndarray | LoadedImage
                 ) -> tuple[np.ndarray, list[str]]:
    """An RGB uint8 picture from a path or array, transparency flattened onto white."""
    loaded = source if isinstance(source, LoadedImage) else load_image(source)
    rgb, flattened = flatten_alpha(loaded.rgb, loaded.alpha)
    notes = ["The picture's transparent parts were put on white (videos have no "
             "transparency)."] if flattened else []
    return rgb, notes


def _strip(frames: list[np.ndarray]) -> np.ndarray:
    """Preview frames side by side with a thin white gap."""
    height = max(f.shape[0] for f in frames)
    gap = np.full((height, 4, 3), 255, np.uint8)
    parts: list[np.ndarray] = []
    for frame in frames:
        if frame.shape[0] != height:
            frame = np.pad(frame, ((0, height - frame.shape[0]), (0, 0), (0, 0)),
                           constant_values=255)
        parts += [frame, gap]
    return np.concatenate(parts[:-1], axis=1)


def prepare(inputs: Mapping[str, Any], values: Mapping[str, Any], seed: int,
            spec: PipelineSpec) -> AnimateRequest:
    """The runner's request from the task's inputs and validated settings (checks included)."""
    if inputs.get("image") is None or (isinstance(inputs["image"], str) and not inputs["image"]):
        raise InputError("Upload a picture first, or pick one of the examples.")
    rgb, notes = load_picture(inputs["image"])
    motions = set(values["motions"])
    motion = MotionSettings(
        camera=values["camera"], camera_strength=values["camera_strength"],
        breathing="breathing" in motions, sway="sway" in motions, blink="blink" in motions,
        strength=values["strength"], loop=values["loop"], max_side=values["max_side"])
    svd = SvdSettings(
        motion_bucket_id=values["motion_bucket_id"],
        noise_aug_strength=values["noise_aug_strength"], steps=values["steps"],
        decode_chunk_size=values["decode_chunk_size"], memory=values["memory"],
        fit=values["fit"], side=values["side"])
    dit = DitSettings(
        prompt=values["prompt"], negative_prompt=values["negative_prompt"],
        guidance=values["guidance"], steps=values["steps"], memory=values["memory"],
        fit=values["fit"], side=values["side"])
    request = AnimateRequest(rgb, values["frames"], values["fps"], seed, motion, svd, dit,
                             notes=tuple(notes))
    check_request(request)
    return request


def values_from(motion: MotionSettings | None = None, svd: SvdSettings | None = None,
                dit: DitSettings | None = None) -> dict[str, Any]:
    """Setting values from the per-backend dataclasses (callers that still build those)."""
    values: dict[str, Any] = {}
    if motion is not None:
        values.update(camera=motion.camera, camera_strength=motion.camera_strength,
                      strength=motion.strength, loop=motion.loop, max_side=motion.max_side,
                      motions=tuple(m for m in MOTIONS if getattr(motion, m)))
    if svd is not None:
        values.update(motion_bucket_id=svd.motion_bucket_id,
                      noise_aug_strength=svd.noise_aug_strength, steps=svd.steps,
                      decode_chunk_size=svd.decode_chunk_size, memory=svd.memory, fit=svd.fit,
                      side=svd.side)
    if dit is not None:
        values.update(prompt=dit.prompt, negative_prompt=dit.negative_prompt,
                      guidance=dit.guidance)
        if svd is None:
            values.update(steps=dit.steps, memory=dit.memory, fit=dit.fit, side=dit.side)
    return values


def job(ctx: JobContext, request: AnimateRequest) -> None:
    """Animate, then stream the frames once into the MP4, a small GIF and a preview strip."""
    with ctx.stage("animate", 0.5) as report:
        result = ctx.runner(request, report)
    count = len(result.frames)
    gif_step = max(1, int(np.ceil(result.fps / GIF_MAX_FPS)))
    previews = set(np.linspace(0, count - 1, min(STRIP_FRAMES, count)).round().astype(int))
    gif_frames, strip_frames = [], []

    def keep(index: int, frame: np.ndarray) -> None:
        if index % gif_step == 0:
            gif_frames.append(resize_max_side(frame, GIF_SIDE))
        if index in previews:
            strip_frames.append(resize_max_side(frame, STRIP_SIDE))

    with ctx.stage("render_and_encode", 0.45) as report:
        ctx.write_video("video", "portrait.mp4", result.frames, result.fps, count=count,
                        progress=report, each=keep)
    width, height = result.size
    if ctx.settings.get("smooth_fps"):
        from pipelines.interpolate.post import smooth

        smooth(ctx, "video", ctx.settings["smooth_fps"])
    with ctx.stage("gif", 0.05):
        write_gif(ctx.output("gif", "portrait.gif"), gif_frames, result.fps / gif_step)
        save_image(ctx.output("preview", "preview.png"), _strip(strip_frames))
    ctx.note(*request.notes, *result.notes)
    ctx.run.extra.update(backend_info=result.info,
                         backend_timings={k: round(v, 4) for k, v in result.timings.items()},
                         output={"frames": count, "size": [width, height], "fps": result.fps})
    ctx.run.params["input_size"] = [request.image.shape[1], request.image.shape[0]]
    # The per-backend group as one object too (the manifest's shape before the settings schema).
    group = ctx.task.group_of(ctx.spec)
    settings = {"classical": request.motion, "svd": request.svd, "dit": request.dit}[group]
    ctx.run.params[group] = dataclasses.asdict(settings)
    ctx.data.setdefault("frames", count)
    ctx.data.setdefault("fps", result.fps)
    ctx.data["size"] = (width, height)
    frames, fps = ctx.data["frames"], ctx.data["fps"]
    ctx.summary = f"{frames} frames, {width}x{height}, {fps:g} fps ({frames / fps:.2f} s)"


def finish(out: JobOutput) -> AnimateOutput:
    """The job's output in the shape the tab and the CLI show."""
    return AnimateOutput(out.run_dir, out.outputs["video"], out.outputs["gif"],
                         out.outputs["preview"], out.manifest, tuple(out.notes),
                         out.data["frames"], out.data["size"], out.data["fps"])


def animate(
    registry: Registry,
    spec_id: str,
    picture: str | os.PathLike[str] | np.ndarray | LoadedImage,
    *,
    frames: int,
    fps: float,
    seed: int = 0,
    motion: MotionSettings | None = None,
    svd: SvdSettings | None = None,
    dit: DitSettings | None = None,
    progress: Progress | None = None,
) -> AnimateOutput:
    """Animate ``picture`` with backend ``spec_id`` and write the run folder (the task's job
    with settings given as the per-backend dataclasses)."""
    from pipelines.portrait import TASK

    values = {"frames": frames, "fps": fps, **values_from(motion, svd, dit)}
    return finish(run_job(registry, TASK, spec_id, {"image": picture}, values, seed=seed,
                          progress=progress))
