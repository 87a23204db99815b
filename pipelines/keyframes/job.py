"""The keyframe job on the task contract, shared by the tab, the CLI and the benchmark.

:func:`prepare` checks the video and the settings before any folder exists; :func:`job` runs
inside :func:`pipelines.task.run_job` (backend, run folder, pinned runner, manifest with the
runner's device and dtype): one streaming pass over the video, optionally with the CLIP encoder
pinned beside the runner, then every output written into the run folder. :func:`run_keyframes`
is the older entry point, a thin wrapper over :func:`~pipelines.task.run_job`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipelines.errors import InputError
from pipelines.keyframes.classical import KeyframeRequest, KeyframeResult
from pipelines.keyframes.outputs import Written, write_outputs
from pipelines.keyframes.settings import CLIP_SPEC, SelectParams, Settings, settings_of
from pipelines.media import probe_video
from pipelines.registry import PipelineSpec, Registry, describe
from pipelines.task import JobContext, Progress, run_job

TASK = "keyframes"
OUTPUT_LABELS = ("shots_json", "shots_csv", "contact_sheet", "plot", "zip")


@dataclass
class JobOutput:
    run_dir: Path
    result: KeyframeResult
    written: Written
    spec_id: str


@dataclass(frozen=True)
class KeyframePlan:
    """A checked keyframe job: the runner's request (without an embedder: the job adds CLIP
    when clustering uses it) and every setting."""

    request: KeyframeRequest
    settings: Settings


def clip_on_disk(registry: Registry) -> bool:
    """Whether the CLIP encoder is registered and its weights are in the local cache."""
    return CLIP_SPEC in registry and registry.status(CLIP_SPEC).on_disk


def uses_clip(registry: Registry | None, select: SelectParams) -> bool:
    """Clustering runs on CLIP embeddings: asked for, or ``auto`` with the weights on disk."""
    if not select.k or select.features == "colour":
        return False
    return select.features == "clip" or (registry is not None and clip_on_disk(registry))


def prepare(inputs: Mapping[str, Any], values: Mapping[str, Any], seed: int,
            spec: PipelineSpec) -> KeyframePlan:
    """The job's plan from its video and validated settings; the video is probed here, so an
    unreadable file is refused before any run folder exists."""
    video = inputs.get("video")
    if not video:
        raise InputError("No video was given. Upload a video (MP4, MOV, WebM or MKV).")
    settings = settings_of(values)
    probe_video(video)
    request = KeyframeRequest(str(video), settings.detector, settings.select,
                              settings.run.analysis_side)
    return KeyframePlan(request, settings)


def job(ctx: JobContext, plan: KeyframePlan) -> None:
    """Detect shots and choose keyframes (one pass), then write every output."""
    settings, request, run = plan.settings, plan.request, ctx.run
    with ExitStack() as stack:
        if uses_clip(ctx.registry, settings.select):
            encoder = stack.enter_context(ctx.registry.pinned(CLIP_SPEC))
            info = describe(encoder)
            run.extra["embeddings"] = {"spec_id": CLIP_SPEC, "device": info.device,
                                       "dtype": info.dtype}  # fmt: skip
            request = replace(request, embed=_embedder(encoder))
        with ctx.stage("analyse", 0.85) as report:
            result = ctx.runner(request, report)
    with ctx.stage("write", 0.15) as report:
        written = write_outputs(run.path, result, settings.as_dict(),
                                settings.run.image_format, report)  # fmt: skip
    for label in OUTPUT_LABELS:
        path = getattr(written, label)
        if path is not None:
            ctx.record(label, path)
    # A dict, not ctx.summary (a sentence): the manifest's "summary" has always been this.
    run.extra["summary"] = {
        "frames": result.frame_count, "shots": len(result.shots),
        "keyframes": len(result.keyframes), "flashes": len(result.flashes),
        "clustering_features": result.features or None,
        "analysis_fps": round(result.frame_count / max(1e-9, result.timings["analyse"]), 1),
    }  # fmt: skip
    for stage, seconds in result.timings.items():
        run.timer.seconds[f"runner.{stage}"] = seconds
    ctx.data.update(result=result, written=written)


def run_keyframes(registry: Registry, video: str | Path, settings: Settings | None = None, *,
                  spec_id: str | None = None, progress: Progress | None = None) -> JobOutput:
    """Detect shots, choose keyframes and write every output into a new run folder."""
    values = (settings or Settings()).as_dict()
    out = run_job(registry, _task(), spec_id, {"video": video}, values, seed=values["seed"],
                  progress=progress)
    return finish(out)


def finish(out: Any) -> JobOutput:
    """The job's output in the shape the tab and the CLI show."""
    return JobOutput(out.run_dir, out.data["result"], out.data["written"], out.spec_id)


def _task() -> Any:
    from pipelines.keyframes import TASK as KEYFRAMES

    return KEYFRAMES


def _embedder(encoder: Any) -> Callable[[list], Any]:
    from pipelines.networks.clip import EmbedRequest

    def embed(frames: list) -> Any:
        return encoder(EmbedRequest(images=frames)).image_embeds

    return embed
