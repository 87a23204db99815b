"""One portrait job, shared by the tab, ``cli.py animate`` and ``cli.py edit``.

Three kinds of job run through the one task (:data:`pipelines.portrait.TASK`):

- **image-to-video** (no driving video): the chosen backend animates the picture;
- **driven** (a driving video): the classical backend (:func:`pipelines.portrait.drive.drive`)
  or LivePortrait (its runner's ``animate``) makes the picture follow the driver's face; the
  clip has the driver's frame count, frame rate and audio and the picture's resolution;
- **still edit** (setting ``still``): the expression sliders edit the picture once
  (``edited.png``), with either backend.

:func:`prepare` turns the inputs and validated settings into an :class:`AnimateRequest` or a
:class:`DriveRequest` (every input check happens there, before any run folder exists); :func:`job`
streams the frames once into the MP4, a small GIF and a strip of preview frames, inside a run
folder whose manifest records the backend, parameters, seed, timings and measured peak memory.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError
from pipelines.media import LoadedImage, load_image, resize_max_side, save_image, write_gif
from pipelines.portrait.settings import EXPRESSION_NAMES, MOTIONS, group_of
from pipelines.portrait.specs import CACHES
from pipelines.portrait.types import (
    MAX_FRAMES,
    AnimateRequest,
    DitSettings,
    Keyframe,
    LoraChoice,
    MotionSettings,
    SvdSettings,
    check_request,
    flatten_alpha,
)
from pipelines.registry import PipelineSpec, Registry
from pipelines.task import JobContext, JobOutput, Progress, run_job

GIF_SIDE = 320
GIF_MAX_FPS = 15
STRIP_FRAMES = 6
STRIP_SIDE = 200
DRIVER_MAX_SIDE = 640  # driving frames are read at most this large (landmarks need no more)


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


@dataclass(frozen=True)
class EditOutput:
    """A finished still edit: the edited picture, its run folder and notes."""

    run_dir: Path
    image: Path
    manifest: Path
    notes: tuple[str, ...]
    size: tuple[int, int]


@dataclass(frozen=True)
class DriveRequest:
    """A driven clip or a still edit: the picture, the driving video (None for a still edit),
    which face, relative or absolute motion, and the expression sliders."""

    image: np.ndarray
    driving: Path | None
    fps: float  # the driver's frame rate (the clip's)
    frames: int  # the driver's frame count (from its headers; the clip has as many)
    audio: bool  # the driver has an audio track (carried over)
    relative: bool = True
    face_index: int = 0
    expression: dict[str, Any] = dataclasses.field(default_factory=dict)  # Expression fields
    still: bool = False
    notes: tuple[str, ...] = ()


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


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def parse_loras(text: str) -> tuple[LoraChoice, ...]:
    """LoRAs from the ``loras`` setting: entries separated by ';' or new lines, each
    ``SOURCE[:FILE][@STRENGTH][#EXPERT]`` (a Hub repo id with the file in it, or a local
    ``.safetensors`` path; strength -2..2, default 1; expert high, low or both, default both).
    Ranges and the count are checked with the request; this checks the syntax."""
    choices = []
    for raw in re.split(r"[;\n]", text or ""):
        entry = raw.strip()
        if not entry:
            continue
        expert = "both"
        if "#" in entry:
            entry, expert = (part.strip() for part in entry.rsplit("#", 1))
        strength = 1.0
        if "@" in entry:
            entry, amount = (part.strip() for part in entry.rsplit("@", 1))
            try:
                strength = float(amount)
            except ValueError:
                raise InputError(f"The LoRA '{raw.strip()}' has strength {amount!r}; write a "
                                 "number from -2 to 2 after '@', e.g. 'repo/id:file."
                                 "safetensors@0.8'.") from None
        source, weight_name = entry, None
        if not Path(entry).expanduser().is_file() and ":" in entry:
            source, weight_name = (part.strip() for part in entry.split(":", 1))
            if not weight_name.endswith(".safetensors"):
                raise InputError(f"The LoRA '{raw.strip()}' names the file {weight_name!r}; "
                                 "after ':' give the .safetensors file inside the repo.")
        if not source:
            raise InputError(f"The LoRA '{raw.strip()}' has no source; start it with a Hub "
                             "repo id or a local .safetensors path.")
        if source.endswith(".safetensors") and not Path(source).expanduser().is_file():
            raise InputError(f"The LoRA file '{source}' does not exist; give the path of a "
                             ".safetensors file on this machine, or a Hub repo id.")
        choices.append(LoraChoice(source, weight_name, strength, expert))
    return tuple(choices)


def parse_keyframes(items: Iterable[Any] | None) -> tuple[Keyframe, ...]:
    """Keyframes from ``IMAGE@FRAME[:STRENGTH]`` strings (the CLI's ``--keyframe``) or
    ``(picture, frame[, strength])`` tuples; pictures are paths or RGB arrays."""
    keys = []
    for item in items or ():
        if isinstance(item, Keyframe):
            keys.append(item)
            continue
        if isinstance(item, str):
            if "@" not in item:
                raise InputError(f"The keyframe '{item}' needs a frame: write IMAGE@FRAME, or "
                                 "IMAGE@FRAME:STRENGTH (e.g. end.png@48:0.9).")
            path, _, where = item.rpartition("@")
            frame_text, _, strength_text = where.partition(":")
            try:
                frame = int(frame_text)
                strength = float(strength_text) if strength_text else 1.0
            except ValueError:
                raise InputError(f"The keyframe '{item}': the frame after '@' must be a whole "
                                 "number and the strength after ':' a number from 0 to 1."
                                 ) from None
            item = (path, frame, strength)
        picture, frame, *rest = item
        rgb, _ = load_picture(picture)
        keys.append(Keyframe(rgb, int(frame), float(rest[0]) if rest else 1.0))
    return tuple(keys)


def _picture(inputs: Mapping[str, Any], key: str, what: str) -> tuple[np.ndarray, list[str]]:
    rgb, notes = load_picture(inputs[key])
    return rgb, [n.replace("The picture's", f"The {what}'s") for n in notes]


def prepare(inputs: Mapping[str, Any], values: Mapping[str, Any], seed: int,
            spec: PipelineSpec) -> AnimateRequest | DriveRequest:
    """The runner's request from the task's inputs and validated settings (checks included):
    an :class:`AnimateRequest` for image-to-video, a :class:`DriveRequest` for a driven clip or
    a still edit."""
    if not _given(inputs.get("image")):
        raise InputError("Upload a picture first, or pick one of the examples.")
    rgb, notes = load_picture(inputs["image"])
    group = group_of(spec)
    driving = inputs.get("driving")
    if _given(driving) or values["still"] or group == "driven":
        return _prepare_drive(rgb, notes, inputs, values, spec, group)
    if any(values[name] for name in EXPRESSION_NAMES):
        notes.append("The expression settings apply to a driven clip (add a driving video) or "
                     "to one edited picture (Edit picture); this clip does not use them.")
    last = None
    if _given(inputs.get("last")):
        last, more = _picture(inputs, "last", "end picture")
        notes += more
    keyframes = parse_keyframes(inputs.get("keyframes"))
    if group != "dit" and (last is not None or keyframes):
        if last is not None:
            raise InputError(f"An end picture steers the prompted video models only "
                             f"({spec.label} takes none); pick Wan 2.1 FLF2V, Wan 2.2 A14B or "
                             "LTX-Video 0.9.7, or remove it.")
        raise InputError(f"Keyframes steer the prompted video models only ({spec.label} takes "
                         "none); pick LTX-Video 0.9.7, or remove them.")
    cache = values["cache"]
    if group == "dit" and cache != "none" and cache not in CACHES.get(spec.id, ()):
        takes = ", ".join(CACHES.get(spec.id, ())) or "none"
        raise InputError(f"{spec.label} does not take the step cache '{cache}'; use one of: "
                         f"{takes} (or 'none').")
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
        fit=values["fit"], side=values["side"], cache=cache,
        loras=parse_loras(values["loras"]) if group == "dit" else ())
    request = AnimateRequest(rgb, values["frames"], values["fps"], seed, motion, svd, dit,
                             notes=tuple(notes), last_image=last, keyframes=keyframes)
    check_request(request)
    return request


def _prepare_drive(rgb: np.ndarray, notes: list[str], inputs: Mapping[str, Any],
                   values: Mapping[str, Any], spec: PipelineSpec, group: str) -> DriveRequest:
    from pipelines.media import probe_video
    from pipelines.portrait.expression import Expression

    still = bool(values["still"])
    driving = inputs.get("driving")
    if group not in ("classical", "driven"):
        what, tail = ("Editing a picture", "") if still else ("A driving video",
                                                              ", or remove the driving video")
        raise InputError(f"{what} needs the Face-aware motion (classical) or the LivePortrait "
                         f"backend; {spec.label} animates from the picture alone. Pick one of "
                         f"them{tail}.")
    for key, what in (("last", "end picture"), ("keyframes", "keyframes")):
        if _given(inputs.get(key)) and inputs.get(key) != ():
            raise InputError(f"A driven clip or an edit takes no {what}; remove it (it steers "
                             "the prompted video models).")
    expr = {name: values[name] for name in EXPRESSION_NAMES if not name.startswith("gaze")}
    expr["gaze"] = (values["gaze_x"], values["gaze_y"])
    Expression(**expr)  # the sliders' ranges, in the editors' own words
    common = dict(relative=values["relative"], face_index=values["face"], expression=expr,
                  notes=tuple(notes))
    if still:
        if _given(driving):
            notes.append("Editing a still picture: the driving video was not used.")
        return DriveRequest(rgb, None, 0.0, 1, False, still=True, **{**common,
                                                                       "notes": tuple(notes)})
    if not _given(driving):
        raise InputError(f"{spec.label} needs a driving video: upload one (or record one with "
                         "the webcam), or press 'Edit picture' (`python cli.py edit`) for a "
                         "still.")
    path = Path(driving)
    if not path.is_file():
        raise InputError(f"The driving video '{path}' does not exist; give the path of an MP4, "
                         "MOV or WebM file.")
    info = probe_video(path)  # unreadable files and the studio's size and length limits
    if info.frame_count > MAX_FRAMES:
        fps = info.fps or 25.0
        raise InputError(f"The driving video has {info.frame_count} frames ({info.duration:.1f} "
                         f"s at {fps:g} fps); a portrait clip has at most {MAX_FRAMES} frames. "
                         f"Trim the driver to {MAX_FRAMES / fps:.1f} s or less.")
    if min(rgb.shape[:2]) < 32:
        raise InputError(f"The picture is {rgb.shape[1]}x{rgb.shape[0]} pixels; use one at "
                         "least 32 pixels on each side.")
    return DriveRequest(rgb, path, float(info.fps or 25.0), int(info.frame_count),
                        bool(info.has_audio), **common)


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


def _write_clip(ctx: JobContext, frames: Iterable[np.ndarray], fps: float, count: int, *,
                audio: Path | None = None, span: float = 0.45) -> tuple[int, tuple[int, int]]:
    """Stream ``frames`` once into the MP4 (audio muxed when given), a small GIF and a preview
    strip; returns (frames written, (width, height))."""
    gif_step = max(1, int(np.ceil(fps / GIF_MAX_FPS)))
    previews = set(np.linspace(0, max(count - 1, 0), min(STRIP_FRAMES, max(count, 1)))
                   .round().astype(int))
    gif_frames, strip_frames, size = [], [], [0, 0]

    def keep(index: int, frame: np.ndarray) -> None:
        size[:] = frame.shape[1], frame.shape[0]
        if index % gif_step == 0:
            gif_frames.append(resize_max_side(frame, GIF_SIDE))
        if index in previews or (not strip_frames and index == 0):
            strip_frames.append(resize_max_side(frame, STRIP_SIDE))

    with ctx.stage("render_and_encode", span) as report:
        _, written = ctx.write_video("video", "portrait.mp4", frames, fps, audio=audio,
                                     count=count, progress=report, each=keep)
    if ctx.settings.get("smooth_fps"):
        from pipelines.interpolate.post import smooth

        smooth(ctx, "video", ctx.settings["smooth_fps"])
    with ctx.stage("gif", 0.05):
        write_gif(ctx.output("gif", "portrait.gif"), gif_frames, fps / gif_step)
        save_image(ctx.output("preview", "preview.png"), _strip(strip_frames[:STRIP_FRAMES]))
    return written, (size[0], size[1])


def _summarise(ctx: JobContext, count: int, fps: float, size: tuple[int, int]) -> None:
    width, height = size
    ctx.data.setdefault("frames", count)
    ctx.data.setdefault("fps", fps)
    ctx.data["size"] = (width, height)
    frames, fps = ctx.data["frames"], ctx.data["fps"]
    ctx.summary = f"{frames} frames, {width}x{height}, {fps:g} fps ({frames / fps:.2f} s)"


def job(ctx: JobContext, request: AnimateRequest | DriveRequest) -> None:
    """The task's job body: image-to-video, a driven clip or a still edit."""
    ctx.run.params["input_size"] = [request.image.shape[1], request.image.shape[0]]
    if isinstance(request, DriveRequest):
        if request.still:
            _edit_job(ctx, request)
        else:
            _drive_job(ctx, request)
        return
    with ctx.stage("animate", 0.5) as report:
        result = ctx.runner(request, report)
    count, size = _write_clip(ctx, result.frames, result.fps, len(result.frames))
    ctx.note(*request.notes, *result.notes)
    ctx.run.extra.update(backend_info=result.info,
                         backend_timings={k: round(v, 4) for k, v in result.timings.items()},
                         output={"frames": count, "size": list(size), "fps": result.fps})
    # The per-backend group as one object too (the manifest's shape before the settings schema).
    group = ctx.task.group_of(ctx.spec)
    settings = {"classical": request.motion, "svd": request.svd, "dit": request.dit}[group]
    ctx.run.params[group] = dataclasses.asdict(settings)
    if group == "dit":
        ctx.run.params["dit"].pop("loras", None)
        ctx.run.params["loras"] = [dataclasses.asdict(lora) for lora in request.dit.loras]
        ctx.run.params["end_picture"] = request.last_image is not None
        ctx.run.params["keyframes"] = [{"frame": k.frame, "strength": k.strength}
                                       for k in request.keyframes]
    _summarise(ctx, count, result.fps, size)


# -- driven clips and still edits ---------------------------------------------------------------


def _faces(ctx: JobContext, rgb: np.ndarray):
    """(landmarker or None, the picture's faces with landmarks, largest first)."""
    from pipelines import landmarks as lmk

    landmarker = lmk.load_landmarker(ctx.registry)
    return landmarker, lmk.find_landmarks(rgb, landmarker=landmarker, max_faces=None)


def _pick_face(faces: Sequence[Any], index: int, what: str = "picture") -> Any:
    if not faces:
        raise InputError(f"No face was found in the {what}. Use a picture with one face turned "
                         "towards the camera, at least 48 pixels wide and not cut by the "
                         "picture's edge.")
    if not 0 <= index < len(faces):
        raise InputError(f"Face {index} was asked for, but the {what} has {len(faces)} face(s), "
                         f"numbered from 0 (largest first). Pick a face below {len(faces)}.")
    return faces[index]


def _expression(request: DriveRequest):
    from pipelines.portrait.expression import Expression

    return Expression(**request.expression)


def _driver_frames(request: DriveRequest) -> Iterator[np.ndarray]:
    from pipelines.media import iter_frames

    return (frame for _, frame in iter_frames(request.driving, max_side=DRIVER_MAX_SIDE))


def _drive_job(ctx: JobContext, request: DriveRequest) -> None:
    """The picture follows the driving video: the driver's frames, fps and audio, the picture's
    resolution."""
    ctx.note(*request.notes)
    expr = _expression(request)
    with ctx.stage("drive_and_encode", 0.9) as report:
        if ctx.task.group_of(ctx.spec) == "driven":
            frames, stats = _liveportrait_frames(ctx, request, expr, report)
        else:
            from pipelines import landmarks as lmk
            from pipelines.portrait.drive import drive

            run = drive(request.image, _driver_frames(request),
                        landmarker=lmk.load_landmarker(ctx.registry), relative=request.relative,
                        face_index=request.face_index, expression=expr, fps=request.fps,
                        total=request.frames, progress=report)
            frames, stats = run, run.stats
        count, size = _write_clip(ctx, frames, request.fps, request.frames,
                                  audio=request.driving if request.audio else None, span=0.0)
    if isinstance(stats, dict):
        notes, lost, source = stats["notes"], stats["lost"], stats["landmarks"]
    else:
        notes, lost, source = stats.notes, stats.lost_frames, stats.landmarks
    ctx.note(*notes)
    if request.audio:
        ctx.note("The driving video's audio is carried over.")
    ctx.run.params["driving"] = {"frames": request.frames, "fps": request.fps,
                                 "audio": request.audio, "relative": request.relative,
                                 "face": request.face_index}
    ctx.run.extra.update(drive={"lost_frames": lost, "landmarks": source},
                         output={"frames": count, "size": list(size), "fps": request.fps})
    ctx.data.update(lost_frames=lost, landmarks=source)
    _summarise(ctx, count, request.fps, size)


def _liveportrait_frames(ctx: JobContext, request: DriveRequest, expr: Any, report: Any
                         ) -> tuple[Iterator[np.ndarray], dict[str, Any]]:
    """LivePortrait's frames, cropping the picture and the driver from the studio's landmarks
    (not InsightFace); ``stats`` fills in as the frames are read."""
    from pipelines import landmarks as lmk

    landmarker, faces = _faces(ctx, request.image)
    face = _pick_face(faces, request.face_index, "source picture")
    stats: dict[str, Any] = {"notes": [lmk.source_note(face.source)], "lost": 0,
                             "landmarks": face.source}
    if len(faces) > 1:
        b = face.box
        stats["notes"].append(f"The source picture has {len(faces)} faces; animating face "
                              f"{request.face_index} (at x={b.x}, y={b.y}, {b.w}x{b.h} pixels; "
                              "0 is the largest).")
    tracker = lmk.FaceTracker(landmarker, fps=request.fps)
    found = [0]

    def driver_box(rgb: np.ndarray):
        seen = tracker.update(rgb)
        if seen is None:
            return None
        found[0] += 1
        return seen.box

    runner = ctx.runner
    frames = runner.animate(
        request.image, _driver_frames(request), crop_box=face.box, driving_boxes=driver_box,
        relative=request.relative, expression=expr,
        landmarks=face if face.source == "mediapipe" else None,
        progress=lambda f, d="": report(f, d))

    def counted() -> Iterator[np.ndarray]:
        total = 0
        for frame in frames:
            total += 1
            yield frame
        if not found[0]:
            raise InputError(f"No face was found in any of the {total} driving frames. Use a "
                             "driving video where a face is visible and turned towards the "
                             "camera.")
        lost = int(runner.notes.get("lost_faces", 0))
        stats["lost"] = lost
        if tracker.faces_seen > 1:
            stats["notes"].append(f"The driving video shows {tracker.faces_seen} faces; the "
                                  "largest one drives.")
        if lost:
            stats["notes"].append(f"The driver's face was lost in {lost} of {total} frames; "
                                  "those frames hold the last good pose.")

    return counted(), stats


def _edit_job(ctx: JobContext, request: DriveRequest) -> None:
    """One picture with its expression edited (``edited.png``, the picture's size)."""
    from pipelines import landmarks as lmk

    expr = _expression(request)
    ctx.note(*request.notes)
    with ctx.stage("edit", 0.9):
        if ctx.task.group_of(ctx.spec) == "driven":
            _, faces = _faces(ctx, request.image)
            face = _pick_face(faces, request.face_index)
            edited = ctx.runner.edit(
                request.image, crop_box=face.box, eyes=expr.eyes, lips=expr.lips,
                smile=expr.smile, brow=expr.brow, yaw=expr.yaw, pitch=expr.pitch,
                roll=expr.roll, gaze=expr.gaze,
                landmarks=face if face.source == "mediapipe" else None)
            notes, source = [lmk.source_note(face.source)], face.source
        else:
            from pipelines.portrait.drive import prepare_source
            from pipelines.portrait.expression import edit_points

            face = prepare_source(request.image, lmk.load_landmarker(ctx.registry),
                                  request.face_index)
            edited = face.image.copy() if expr.is_neutral else \
                face.render(edit_points(face.points, expr), gaze=expr.gaze)
            notes, source = face.notes, face.source
        ctx.write_image("image", "edited.png", edited)
    ctx.note(*notes)
    if expr.is_neutral:
        ctx.note("Every expression slider is at 0, so the picture is unchanged; move a slider "
                 "to edit it.")
    height, width = edited.shape[:2]
    ctx.run.params["edit"] = {**request.expression, "face": request.face_index}
    ctx.run.extra.update(edit={"landmarks": source}, output={"size": [width, height]})
    ctx.data.update(size=(width, height), landmarks=source)
    ctx.summary = f"edited picture, {width}x{height}"


def finish(out: JobOutput) -> AnimateOutput:
    """The job's output in the shape the tab and the CLI show."""
    return AnimateOutput(out.run_dir, out.outputs["video"], out.outputs["gif"],
                         out.outputs["preview"], out.manifest, tuple(out.notes),
                         out.data["frames"], out.data["size"], out.data["fps"])


def finish_edit(out: JobOutput) -> EditOutput:
    """A still edit's output in the shape the tab and the CLI show."""
    return EditOutput(out.run_dir, out.outputs["image"], out.manifest, tuple(out.notes),
                      out.data["size"])


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
