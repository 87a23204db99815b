"""The keyframe job shared by the tab and the CLI: run folder, runner, outputs, manifest."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.errors import InputError
from pipelines.keyframes.outputs import Written, write_outputs
from pipelines.keyframes.runner import KeyframeRequest, KeyframeResult
from pipelines.keyframes.settings import CLIP_SPEC, SelectParams, Settings
from pipelines.manifest import start_run
from pipelines.registry import Registry

TASK = "keyframes"
Progress = Callable[[float, str], None]


@dataclass
class JobOutput:
    run_dir: Path
    result: KeyframeResult
    written: Written
    spec_id: str


def clip_on_disk(registry: Registry) -> bool:
    """Whether the CLIP encoder is registered and its weights are in the local cache."""
    return CLIP_SPEC in registry and registry.status(CLIP_SPEC).on_disk


def uses_clip(registry: Registry, select: SelectParams) -> bool:
    """Clustering runs on CLIP embeddings: asked for, or ``auto`` with the weights on disk."""
    if not select.k or select.features == "colour":
        return False
    return select.features == "clip" or clip_on_disk(registry)


def run_keyframes(registry: Registry, video: str | Path, settings: Settings | None = None, *,
                  spec_id: str | None = None, progress: Progress | None = None) -> JobOutput:
    """Detect shots, choose keyframes and write every output into a new run folder."""
    settings = settings or Settings()
    if not video:
        raise InputError("No video was given. Upload a video (MP4, MOV, WebM or MKV).")
    report = progress or (lambda fraction, desc: None)
    spec = registry.resolve(TASK, spec_id)
    clip = uses_clip(registry, settings.select)
    params = settings.as_dict()
    with start_run(TASK, spec=spec, params=params, seed=settings.select.seed) as run:
        with ExitStack() as stack:
            runner = stack.enter_context(registry.pinned(spec.id))
            embed = None
            if clip:
                encoder = stack.enter_context(registry.pinned(CLIP_SPEC))
                embed = _embedder(encoder)
                entry = registry.cache.entries_for(CLIP_SPEC)[0]
                run.extra["embeddings"] = {"spec_id": CLIP_SPEC, "device": entry.key[1],
                                           "dtype": entry.key[2]}  # fmt: skip
            request = KeyframeRequest(str(video), settings.detector, settings.select,
                                      settings.run.analysis_side, embed)  # fmt: skip
            with run.stage("analyse"):
                result = runner(request, lambda f, d: report(0.85 * f, d))
        with run.stage("write"):
            written = write_outputs(run.path, result, params, settings.run.image_format,
                                    lambda f, d: report(0.85 + 0.15 * f, d))  # fmt: skip
        for label, path in (("shots_json", written.shots_json), ("shots_csv", written.shots_csv),
                            ("contact_sheet", written.contact_sheet), ("plot", written.plot),
                            ("zip", written.zip)):  # fmt: skip
            if path is not None:
                run.add_output(label, path)
        run.device, run.dtype = "cpu", "float32"
        run.extra["summary"] = {
            "frames": result.frame_count, "shots": len(result.shots),
            "keyframes": len(result.keyframes), "flashes": len(result.flashes),
            "clustering_features": result.features or None,
            "analysis_fps": round(result.frame_count / max(1e-9, result.timings["analyse"]), 1),
        }  # fmt: skip
        for stage, seconds in result.timings.items():
            run.timer.seconds[f"runner.{stage}"] = seconds
    return JobOutput(run.path, result, written, spec.id)


def _embedder(encoder: Any) -> Callable[[list], Any]:
    from pipelines.features.clip import EmbedRequest

    def embed(frames: list) -> Any:
        return encoder(EmbedRequest(images=frames)).image_embeds

    return embed
