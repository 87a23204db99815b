"""Style jobs, shared by the tab and ``cli.py style``: check the inputs before any model loads,
open a run folder, run the backend pinned in the registry, record outputs and the manifest."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.errors import InputError
from pipelines.manifest import Run, start_run
from pipelines.media import get_limits, load_image, probe_video
from pipelines.registry import Registry
from pipelines.style.types import TASK, Progress, StyleRequest, StyleResult

DEFAULT_BACKEND = f"{TASK}.classical"
IMAGE_FORMATS = ("png", "jpg", "webp")


@dataclass(frozen=True)
class StyleJob:
    """Everything a user chooses; paths are the uploaded or given files."""

    content: str | Path
    style: str | Path
    backend: str = DEFAULT_BACKEND
    style2: str | Path | None = None
    mix: float = 0.5
    method: str = "reinhard"
    strength: float = 0.8
    keep_colours: bool = False
    consistent: bool = True
    blend: float = 0.7
    max_side: int | None = 1024
    fmt: str = "png"
    measure: bool = True


def _check_inputs(job: StyleJob, is_video: bool) -> None:
    if job.fmt not in IMAGE_FORMATS:
        raise InputError(f"Unknown image format '{job.fmt}'; use one of "
                         f"{', '.join(IMAGE_FORMATS)}.")
    for path, what in ((job.content, "content"), (job.style, "style image"),
                       (job.style2, "second style image")):
        if path is None:
            continue
        if not Path(path).is_file():
            raise InputError(f"The {what} '{Path(path).name}' was not found. Upload it again.")
        get_limits().check_file(path)
    if is_video:
        probe_video(job.content)
    else:
        load_image(job.content)


def run_job(registry: Registry, job: StyleJob, progress: Progress | None = None,
            root: Path | None = None) -> tuple[Run, StyleResult]:
    """Run one style job into a new run folder; returns the run and the runner's result."""
    spec = registry.resolve(TASK, job.backend)
    probe = StyleRequest(job.content, job.style, "x", method=job.method, strength=job.strength,
                         mix=job.mix, blend=job.blend, max_side=job.max_side).validate()
    _check_inputs(job, probe.is_video)
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(job).items()}
    with start_run(TASK, spec=spec, params=params, root=root) as run:
        name = "stylised.mp4" if probe.is_video else f"stylised.{job.fmt}"
        request = StyleRequest(
            content=job.content, style=job.style, output=run.file(name), style2=job.style2,
            mix=job.mix, method=job.method, strength=job.strength, keep_colours=job.keep_colours,
            consistent=job.consistent, blend=job.blend, max_side=job.max_side,
            measure=job.measure,
        )
        with ExitStack() as stack:
            with run.stage("load"):
                runner = stack.enter_context(registry.pinned(spec.id))
            with run.stage("stylise"):
                result = runner(request, progress)
        run.add_output("video" if result.is_video else "image", result.output)
        run.device = getattr(runner, "device", "cpu")
        run.dtype = str(getattr(runner, "dtype", "float32")).removeprefix("torch.")
        run.extra.update({
            "size": [result.width, result.height], "frames": result.frames, "fps": result.fps,
            "cuts": result.cuts, "temporal_before": result.before,
            "temporal_after": result.after, "stage_seconds": result.timings,
            "notes": result.notes,
        })
    return run, result
