"""The talking-head job the tab and the CLI share: inputs in, a run folder with an MP4 out.

A job speaks typed text with espeak-ng when no audio file is given, loads the chosen backend
(and, for Wav2Lip, an optional super-resolution backend that sharpens each generated mouth
crop), renders the video into its run folder and writes the manifest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError, StudioError
from pipelines.manifest import start_run
from pipelines.registry import PipelineSpec, Registry
from pipelines.talking_head import speech
from pipelines.talking_head.types import FPS, Enhancer, TalkRequest, TalkResult

TASK = "talking_head"
VIDEO_NAME = "talking_head.mp4"
SPEECH_NAME = "speech.wav"


@dataclass(frozen=True)
class TalkOptions:
    """Everything a user chooses besides the inputs."""

    backend: str | None = None  # spec id or short name ("classical", "wav2lip"); None: default
    voice: str = "en"
    rate: int = speech.DEFAULT_RATE
    blinks: bool = True
    head_motion: float = 1.0
    mouth_strength: float = 1.0
    seed: int = 0
    max_side: int = 1280
    batch_size: int = 16
    chin_padding: float = 0.2
    sharpen: str | None = None  # a super_res spec id (Wav2Lip backends only)


@dataclass
class TalkJob:
    run_dir: Path
    video: Path
    manifest: Path
    speech: Path | None
    result: TalkResult
    notes: list[str]  # sentences the user should read (several faces, silence, scaling, ...)


def sharpen_choices(registry: Registry) -> list[PipelineSpec]:
    """Super-resolution backends that can sharpen Wav2Lip's mouth crops (none if that task has
    no backends registered yet)."""
    return registry.by_task("super_res")


def enhancer_from(runner: Any, spec: PipelineSpec) -> Enhancer:
    """Sharpen batches of crops with a loaded super-resolution runner.

    The super_res task's request type is imported here, at run time, only when a user picked
    one of its backends: the talking-head package works without that task.
    """
    try:
        from pipelines.super_res.base import UpscaleRequest
    except ImportError as err:
        raise StudioError(f"The super-resolution backend '{spec.label}' cannot be used for "
                          "sharpening here; turn sharpening off.") from err

    def sharpen(crops: list[np.ndarray], scale: float) -> list[np.ndarray]:
        return list(runner(UpscaleRequest(frames=crops, scale=scale)).frames)

    return sharpen


def talk(
    registry: Registry,
    face: str | Path | None,
    audio: str | Path | None = None,
    text: str | None = None,
    options: TalkOptions | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> TalkJob:
    """Render a talking head from ``face`` and either ``audio`` or ``text`` into a run folder."""
    options = options or TalkOptions()
    if not face:
        raise InputError("Upload a portrait image (or a short video of a face).")
    text = (text or "").strip()
    if audio and text:
        raise InputError("Give either an audio file or text to speak, not both: clear one.")
    if not audio and not text:
        raise InputError("Upload an audio file (WAV, MP3, M4A, OGG or FLAC) or type text to speak.")
    spec = registry.resolve(TASK, options.backend)
    sharpen = registry.get(options.sharpen) if options.sharpen else None
    if sharpen is not None and sharpen.task != "super_res":
        raise InputError(f"'{sharpen.id}' is not a super-resolution backend.")
    notes: list[str] = []
    if sharpen is not None and spec.kind == "classical":
        notes.append("Sharpening applies to the Wav2Lip backends only; it was skipped.")
        sharpen = None
    params = {k: v for k, v in vars(options).items() if k != "backend"}
    params.update(face=Path(face).name, audio=Path(audio).name if audio else None,
                  text=text or None, fps=FPS)
    with start_run(TASK, spec=spec, params=params, seed=options.seed) as run:
        speech_path = None
        if text:
            if progress:
                progress(0.0, "speaking the text with espeak-ng")
            with run.stage("speech"):
                speech_path = speech.synthesize(text, run.file(SPEECH_NAME), options.voice,
                                                options.rate)
            run.add_output("speech", speech_path)
        request = TalkRequest(
            face=Path(face), audio=Path(audio) if audio else speech_path,
            output=run.file(VIDEO_NAME), blinks=options.blinks, head_motion=options.head_motion,
            mouth_strength=options.mouth_strength, seed=options.seed, max_side=options.max_side,
            batch_size=options.batch_size, chin_padding=options.chin_padding,
        )
        with run.stage("generate"):
            result, runner = _render(registry, spec, sharpen, request, progress)
        run.device = getattr(runner, "device", "cpu")
        run.dtype = getattr(runner, "dtype", "float32")
        run.add_output("video", result.video)
        notes = notes + result.notes
        run.extra.update(_summary(result, notes, sharpen))
    return TalkJob(run.path, result.video, run.manifest_path, speech_path, result, notes)


def _render(registry: Registry, spec: PipelineSpec, sharpen: PipelineSpec | None,
            request: TalkRequest, progress) -> tuple[TalkResult, Any]:
    if sharpen is None:
        with registry.pinned(spec.id) as runner:
            return runner(request, progress), runner
    with registry.pinned(sharpen.id) as upscaler, registry.pinned(spec.id) as runner:
        sharpened = dataclasses.replace(request, enhancer=enhancer_from(upscaler, sharpen))
        return runner(sharpened, progress), runner


def _summary(result: TalkResult, notes: list[str], sharpen: PipelineSpec | None) -> dict:
    box = result.face_box
    summary: dict[str, Any] = {
        "frames": result.frames,
        "fps": result.fps,
        "audio_seconds": round(result.audio_seconds, 3),
        "face_box": {"x": box.x, "y": box.y, "w": box.w, "h": box.h},
        "faces_found": result.faces_found,
        "runner_timings_seconds": {k: round(v, 4) for k, v in result.timings.items()},
        "notes": notes,
        "sharpened_with": sharpen.id if sharpen else None,
    }
    if result.mouth_open is not None and len(result.mouth_open):
        track = np.asarray(result.mouth_open)
        summary["mouth_open"] = {"mean": round(float(track.mean()), 3),
                                 "open_fraction": round(float((track > 0.2).mean()), 3)}
    return summary
