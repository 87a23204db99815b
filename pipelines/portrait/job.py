"""One portrait animation as a studio job, shared by the tab and ``cli.py animate``.

Loads the picture through :mod:`pipelines.media`, runs the chosen backend pinned in the
registry, and streams its frames once into the MP4, a small GIF and a strip of preview frames,
all inside a run folder whose manifest records the backend, parameters, seed and timings.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.manifest import start_run
from pipelines.media import (
    LoadedImage,
    VideoWriter,
    load_image,
    resize_max_side,
    save_image,
    write_gif,
)
from pipelines.portrait.request import (
    AnimateRequest,
    DitSettings,
    MotionSettings,
    SvdSettings,
    check_request,
    flatten_alpha,
)
from pipelines.portrait.specs import controls_for
from pipelines.registry import Registry

TASK = "portrait"
GIF_SIDE = 320
GIF_MAX_FPS = 15
STRIP_FRAMES = 6
STRIP_SIDE = 200

Progress = Callable[[float, str], None]


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
    """Animate ``picture`` with backend ``spec_id`` and write the run folder."""
    report = progress or (lambda fraction, desc: None)
    spec = registry.resolve(TASK, spec_id)
    rgb, notes = load_picture(picture)
    request = AnimateRequest(rgb, int(frames), float(fps), int(seed), motion or MotionSettings(),
                             svd or SvdSettings(), dit or DitSettings())
    check_request(request)
    group = controls_for(spec)
    settings = {"classical": request.motion, "svd": request.svd, "dit": request.dit}[group]
    params = {
        "frames": request.frames, "fps": request.fps, "input_size": [rgb.shape[1], rgb.shape[0]],
        group: dataclasses.asdict(settings),
    }
    with start_run(TASK, spec=spec, params=params, seed=request.seed) as run:
        report(0.0, f"loading {spec.label}")
        with ExitStack() as pin:
            with run.stage("load"):
                runner = pin.enter_context(registry.pinned(spec.id))
            run.device, run.dtype = runner.device, runner.dtype
            with run.stage("animate"):
                result = runner(request, lambda f, d: report(0.5 * f, d))
            count = len(result.frames)
            video, gif, strip = run.file("portrait.mp4"), run.file("portrait.gif"), \
                run.file("preview.png")
            gif_step = max(1, int(np.ceil(result.fps / GIF_MAX_FPS)))
            previews = set(np.linspace(0, count - 1, min(STRIP_FRAMES, count)).round().astype(int))
            gif_frames, strip_frames = [], []
            with run.stage("render_and_encode"), VideoWriter(video, result.fps) as writer:
                for index, frame in enumerate(result.frames):
                    writer.write(frame)
                    if index % gif_step == 0:
                        gif_frames.append(resize_max_side(frame, GIF_SIDE))
                    if index in previews:
                        strip_frames.append(resize_max_side(frame, STRIP_SIDE))
                    report(0.5 + 0.45 * (index + 1) / count, f"frame {index + 1}/{count}")
            width, height = result.size
        with run.stage("gif"):
            write_gif(gif, gif_frames, result.fps / gif_step)
            save_image(strip, _strip(strip_frames))
        for label, path in (("video", video), ("gif", gif), ("preview", strip)):
            run.add_output(label, path)
        notes += result.notes
        run.extra.update(notes=notes, backend_info=result.info,
                         backend_timings={k: round(v, 4) for k, v in result.timings.items()},
                         output={"frames": count, "size": [width, height], "fps": result.fps})
    report(1.0, "done")
    return AnimateOutput(run.path, video, gif, strip, run.manifest_path, tuple(notes), count,
                         (width, height), result.fps)
