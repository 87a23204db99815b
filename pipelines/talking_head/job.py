"""The talking-head job on the task contract, shared by the tab, ``cli.py talk`` and the benchmark.

:func:`prepare` checks the inputs (a face, and either an audio file or text to speak) before any
folder exists; :func:`job` speaks typed text with espeak-ng when no audio file is given, pins the
optional super-resolution backend that sharpens Wav2Lip's mouth crops, renders the video into the
run folder and records what the manifest shows. :func:`talk` is the older entry point, a thin
wrapper over :func:`pipelines.task.run_job`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError, StudioError
from pipelines.registry import PipelineSpec, Registry
from pipelines.talking_head import TASK, speech
from pipelines.talking_head.common import check_request
from pipelines.talking_head.settings import SETTINGS
from pipelines.talking_head.types import FPS, Enhancer, TalkRequest, TalkResult
from pipelines.task import JobContext, JobOutput, Progress, run_job

VIDEO_NAME = "talking_head.mp4"
SPEECH_NAME = "speech.wav"
_DEFAULTS = SETTINGS.defaults()


@dataclass(frozen=True)
class TalkOptions:
    """Everything a user chooses besides the inputs (defaults from the task's schema)."""

    backend: str | None = None  # spec id or short name ("classical", "wav2lip"); None: default
    voice: str = _DEFAULTS["voice"]
    rate: int = _DEFAULTS["rate"]
    blinks: bool = _DEFAULTS["blinks"]
    head_motion: float = _DEFAULTS["head_motion"]
    mouth_strength: float = _DEFAULTS["mouth_strength"]
    seed: int = 0
    max_side: int = _DEFAULTS["max_side"]
    batch_size: int = _DEFAULTS["batch_size"]
    chin_padding: float = _DEFAULTS["chin_padding"]
    sharpen: str | None = None  # a super_res spec id (Wav2Lip backends only)

    def values(self) -> dict[str, Any]:
        """The settings, by the schema's names."""
        values = {name: getattr(self, name) for name in SETTINGS.names}
        values["sharpen"] = self.sharpen or ""
        return values


@dataclass(frozen=True)
class TalkPlan:
    """A checked job: the runner's request (its audio and output are set inside the run folder)
    and what the job does around it."""

    request: TalkRequest
    text: str = ""  # typed text to speak instead of an audio file
    voice: str = _DEFAULTS["voice"]
    rate: int = _DEFAULTS["rate"]
    sharpen: str = ""  # a super_res spec id (Wav2Lip backends only)
    notes: tuple[str, ...] = field(default_factory=tuple)


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
        from pipelines.super_res.types import UpscaleRequest
    except ImportError as err:
        raise StudioError(f"The super-resolution backend '{spec.label}' cannot be used for "
                          "sharpening here; turn sharpening off.") from err

    def sharpen(crops: list[np.ndarray], scale: float) -> list[np.ndarray]:
        return list(runner(UpscaleRequest(frames=crops, scale=scale)).frames)

    return sharpen


def prepare(inputs: Mapping[str, Any], values: Mapping[str, Any], seed: int,
            spec: PipelineSpec) -> TalkPlan:
    """The job's plan from its inputs (``face``; ``audio`` or ``text``) and validated settings."""
    face, audio = inputs.get("face"), inputs.get("audio")
    text = (inputs.get("text") or "").strip()
    if not face:
        raise InputError("Upload a portrait image (or a short video of a face).")
    if audio and text:
        raise InputError("Give either an audio file or text to speak, not both: clear one.")
    if not audio and not text:
        raise InputError("Upload an audio file (WAV, MP3, M4A, OGG or FLAC) or type text to speak.")
    if text and speech.espeak_path() is None:
        raise StudioError(f"Typed text needs espeak-ng, which is not installed. "
                          f"{speech.INSTALL_HINT}")
    notes: list[str] = []
    sharpen = values["sharpen"].strip()
    if sharpen and not SETTINGS["sharpen"].applies_to(TASK.group_of(spec)):
        notes.append("Sharpening applies to the Wav2Lip backends only; it was skipped.")
        sharpen = ""
    request = TalkRequest(
        face=Path(face), audio=Path(audio) if audio else Path(SPEECH_NAME),
        output=Path(VIDEO_NAME), blinks=values["blinks"], head_motion=values["head_motion"],
        mouth_strength=values["mouth_strength"], seed=seed, max_side=values["max_side"],
        batch_size=values["batch_size"], chin_padding=values["chin_padding"],
    )
    check_request(request)
    return TalkPlan(request, text, values["voice"], values["rate"], sharpen, tuple(notes))


def job(ctx: JobContext, plan: TalkPlan) -> None:
    """Speak the text (if any), render the talking head and record its summary."""
    sharpen = None
    if plan.sharpen:
        if ctx.registry is None:
            raise StudioError("Sharpening needs the studio's registry; run the job through "
                              "pipelines.task.run_job.")
        sharpen = ctx.registry.get(plan.sharpen)
        if sharpen.task != "super_res":
            raise InputError(f"'{sharpen.id}' is not a super-resolution backend; pick one of "
                             f"{', '.join(s.id for s in sharpen_choices(ctx.registry))} "
                             "or turn sharpening off.")
    request = plan.request
    speech_path = None
    if plan.text:
        with ctx.stage("speech", 0.05):
            speech_path = speech.synthesize(plan.text, ctx.output("speech", SPEECH_NAME),
                                            plan.voice, plan.rate)
        request = dataclasses.replace(request, audio=speech_path)
    request = dataclasses.replace(request, output=ctx.output("video", VIDEO_NAME))
    with ctx.stage("generate", 0.95 if plan.text else 1.0) as report, ExitStack() as stack:
        if sharpen is not None:
            upscaler = stack.enter_context(ctx.registry.pinned(sharpen.id))
            request = dataclasses.replace(request, enhancer=enhancer_from(upscaler, sharpen))
        result = ctx.runner(request, report)
    ctx.note(*plan.notes, *result.notes)
    ctx.run.params.update(face=plan.request.face.name,
                          audio=None if plan.text else plan.request.audio.name,
                          text=plan.text or None, fps=FPS, seed=request.seed)
    ctx.run.extra.update(_summary(result, ctx.notes, sharpen))
    ctx.data.update(result=result, speech=speech_path)
    ctx.summary = (f"{result.frames} frames at {result.fps:g} fps for "
                   f"{result.audio_seconds:.2f} s of audio")


def finish(out: JobOutput) -> TalkJob:
    """The job's output in the shape the tab and the CLI show."""
    result: TalkResult = out.data["result"]
    return TalkJob(out.run_dir, out.outputs["video"], out.manifest, out.data["speech"], result,
                   list(out.notes))


def talk(
    registry: Registry,
    face: str | Path | None,
    audio: str | Path | None = None,
    text: str | None = None,
    options: TalkOptions | None = None,
    progress: Progress | None = None,
) -> TalkJob:
    """Render a talking head from ``face`` and either ``audio`` or ``text`` into a run folder."""
    options = options or TalkOptions()
    inputs = {"face": face, "audio": audio, "text": text}
    return finish(run_job(registry, TASK, options.backend, inputs, options.values(),
                          seed=options.seed, progress=progress))


def _summary(result: TalkResult, notes: list[str], sharpen: PipelineSpec | None) -> dict:
    box = result.face_box
    summary: dict[str, Any] = {
        "frames": result.frames,
        "fps": result.fps,
        "audio_seconds": round(result.audio_seconds, 3),
        "face_box": {"x": box.x, "y": box.y, "w": box.w, "h": box.h},
        "faces_found": result.faces_found,
        "face_finder": result.face_finder,  # which face finder found it (landmark model or Haar)
        "runner_timings_seconds": {k: round(v, 4) for k, v in result.timings.items()},
        "notes": list(notes),
        "sharpened_with": sharpen.id if sharpen else None,
    }
    if result.mouth_open is not None and len(result.mouth_open):
        track = np.asarray(result.mouth_open)
        summary["mouth_open"] = {"mean": round(float(track.mean()), 3),
                                 "open_fraction": round(float((track > 0.2).mean()), 3)}
    return summary
