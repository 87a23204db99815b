"""The style job on the task contract, shared by the tab, ``cli.py style`` and the benchmark.

:func:`prepare` checks the settings and the inputs (the content image or video and the style
images exist, are within the limits and can be read) before any model loads or folder exists;
:func:`job` runs the backend pinned in the registry into the run folder and records what the
manifest shows. :func:`run_job` is the older entry point taking a :class:`StyleJob`, a thin
wrapper over :func:`pipelines.task.run_job`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines import task as contract
from pipelines.errors import InputError
from pipelines.media import get_limits, load_image, probe_video
from pipelines.registry import PipelineSpec, Registry
from pipelines.style import TASK
from pipelines.style.settings import IMAGE_FORMATS, SETTINGS
from pipelines.style.types import StyleRequest, StyleResult
from pipelines.task import JobContext, JobOutput, Progress

__all__ = ["DEFAULT_BACKEND", "IMAGE_FORMATS", "StyleJob", "finish", "job", "prepare", "run_job"]

DEFAULT_BACKEND = f"{TASK.id}.classical"
_DEFAULTS = SETTINGS.defaults()


@dataclass(frozen=True)
class StyleJob:
    """Everything a user chooses; paths are the uploaded or given files (setting defaults from
    the task's schema)."""

    content: str | Path
    style: str | Path
    backend: str = DEFAULT_BACKEND
    style2: str | Path | None = None
    mix: float = _DEFAULTS["mix"]
    method: str = _DEFAULTS["method"]
    strength: float = _DEFAULTS["strength"]
    keep_colours: bool = _DEFAULTS["keep_colours"]
    consistent: bool = _DEFAULTS["consistent"]
    blend: float = _DEFAULTS["blend"]
    max_side: int = _DEFAULTS["max_side"]
    fmt: str = _DEFAULTS["fmt"]
    measure: bool = _DEFAULTS["measure"]

    def inputs(self) -> dict[str, Any]:
        return {"content": self.content, "style": self.style, "style2": self.style2}

    def values(self) -> dict[str, Any]:
        """The settings, by the schema's names."""
        return {name: getattr(self, name) for name in SETTINGS.names}


def _check_inputs(content: Any, style: Any, style2: Any, is_video: bool) -> None:
    for path, what in ((content, "content"), (style, "style image"),
                       (style2, "second style image")):
        if path is None:
            continue
        if not Path(path).is_file():
            raise InputError(f"The {what} '{Path(path).name}' was not found. Upload it again.")
        get_limits().check_file(path)
    if is_video:
        probe_video(content)
    else:
        load_image(content)


def output_name(request: StyleRequest, fmt: str) -> str:
    """The result's file name in the run folder: ``stylised.mp4`` or ``stylised.<fmt>``."""
    return "stylised.mp4" if request.is_video else f"stylised.{fmt}"


def prepare(inputs: Mapping[str, Any], values: Mapping[str, Any], seed: int,
            spec: PipelineSpec) -> tuple[StyleRequest, str]:
    """The runner's request (its output is set inside the run folder) and the image format,
    from the inputs (``content``, ``style``, optional ``style2``) and validated settings."""
    content, style = inputs.get("content"), inputs.get("style")
    style2 = inputs.get("style2") or None
    if not content:
        raise InputError("Upload a content image or video first.")
    if not style:
        raise InputError("Upload a style image first.")
    request = StyleRequest(
        content=content, style=style, output=Path("stylised"), style2=style2,
        mix=values["mix"], method=values["method"], strength=values["strength"],
        keep_colours=values["keep_colours"], consistent=values["consistent"],
        blend=values["blend"], max_side=values["max_side"], measure=values["measure"],
    ).validate()
    _check_inputs(content, style, style2, request.is_video)
    return request, values["fmt"]


def job(ctx: JobContext, prepared: tuple[StyleRequest, str]) -> None:
    """Stylise the image or video into the run folder and record its measurements."""
    request, fmt = prepared
    label = "video" if request.is_video else "image"
    request = dataclasses.replace(request, output=ctx.output(label, output_name(request, fmt)))
    with ctx.stage("stylise", 1.0) as report:
        result = ctx.runner(request, report)
    ctx.note(*result.notes)
    ctx.run.params.update(content=str(request.content), style=str(request.style),
                          style2=str(request.style2) if request.style2 else None,
                          backend=ctx.spec.id)
    ctx.run.extra.update({
        "size": [result.width, result.height], "frames": result.frames, "fps": result.fps,
        "cuts": result.cuts, "temporal_before": result.before,
        "temporal_after": result.after, "stage_seconds": result.timings,
        "stage_busy_seconds": result.busy,
    })
    ctx.data["result"] = result
    what = f"{result.frames} frames at {result.fps:g} fps" if result.is_video else "image"
    ctx.summary = f"{result.width}x{result.height} {what}"


def finish(out: JobOutput) -> StyleResult:
    """The runner's result of a finished job (its output path inside the run folder)."""
    return out.data["result"]


def run_job(registry: Registry, job: StyleJob, progress: Progress | None = None,
            root: Path | None = None) -> tuple[JobOutput, StyleResult]:
    """Run one style job into a new run folder; returns the job's output (``run_dir``,
    ``manifest``, ``outputs``) and the runner's result."""
    out = contract.run_job(registry, TASK, job.backend, job.inputs(), job.values(),
                           progress=progress, root=root)
    return out, finish(out)
