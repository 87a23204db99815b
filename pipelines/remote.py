"""A studio job run somewhere else: a local worker process or a Ray task on a cluster.

``STUDIO_ENGINE=ray`` (or ``python app.py --engine ray``) makes every tab's job run as a Ray
task with the backend's needs (one GPU for a model backend, CPUs for a classical one), so a thin
app server can share a pool of GPU machines. The job's input files travel to the worker as
bytes and its run folder comes back the same way (:func:`pipelines.engines.run_with_files`), so
the app and the workers need not share a disk. Results are those of the same job run here.
``STUDIO_ENGINE=inline`` (the default) runs jobs in the app's process.

The engine is chosen here, above the job skeleton: tabs and CLI commands call
:func:`run_job_on_engine`, which runs :func:`pipelines.task.run_job` in this process or sends it
to a worker, where it runs inline.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipelines.errors import InputError
from pipelines.registry import PipelineSpec, Registry
from pipelines.task import JobOutput, Progress, Task, run_job

ENGINES = ("inline", "local", "ray")


def job_engine() -> str:
    """The engine for app jobs: ``STUDIO_ENGINE`` (inline, local or ray)."""
    engine = os.environ.get("STUDIO_ENGINE", "inline").strip().lower() or "inline"
    if engine not in ENGINES:
        raise InputError(f"STUDIO_ENGINE={engine!r} is not an engine; use one of "
                         f"{', '.join(ENGINES)}.")
    return engine


def _worker(files: list[Path], out: Path, task_id: str, backend: str | None,
            names: dict[str, str], absent: list[str], settings: dict[str, Any],
            seed: int) -> dict[str, Any]:
    """Worker side: the studio's registry, the job run into ``out``, what the caller needs."""
    from pipelines.catalog import build_registry
    from pipelines.tasks import task_by_id

    by_name = {path.name: path for path in files}
    inputs: dict[str, Any] = {key: by_name[name] for key, name in names.items()}
    inputs.update(dict.fromkeys(absent))
    done = run_job(build_registry(), task_by_id(task_id), backend, inputs, settings, seed=seed,
                   root=out)
    return {"run": done.run_dir.relative_to(out).as_posix(), "spec_id": done.spec_id,
            "outputs": {k: p.relative_to(out).as_posix() for k, p in done.outputs.items()},
            "manifest": done.manifest.relative_to(out).as_posix(), "notes": done.notes,
            "summary": done.summary, "data": done.data}


def run_job_on_engine(registry: Registry, task: Task, backend: str | None,
                      inputs: Mapping[str, Any], settings: Mapping[str, Any] | None = None, *,
                      seed: int = 0, progress: Progress | None = None, root: Path | None = None,
                      fetch: Callable[[PipelineSpec, Progress], None] | None = None,
                      engine: str | None = None) -> JobOutput:
    """:func:`pipelines.task.run_job` on ``engine`` (default ``STUDIO_ENGINE``, else inline): in
    this process, or in a worker process or as a Ray task with its files moved as bytes
    (:func:`run_job_remote`; ``fetch`` applies to jobs run here)."""
    engine = engine or job_engine()
    if engine == "inline":
        return run_job(registry, task, backend, inputs, settings, seed=seed, progress=progress,
                       root=root, fetch=fetch)
    return run_job_remote(registry, task, backend, inputs, dict(settings or {}), seed=seed,
                          engine=engine, progress=progress, root=root)


def run_job_remote(registry: Registry, task: Task, backend: str | None,
                   inputs: Mapping[str, Any], settings: Mapping[str, Any], *, seed: int,
                   engine: str, progress: Progress | None = None,
                   root: Path | None = None) -> JobOutput:
    """Run the job on ``engine`` (``local`` or ``ray``); its run folder lands under ``root``
    (the outputs folder) exactly as a job run here would leave it."""
    from pipelines.engines import run_with_files
    from pipelines.manifest import outputs_dir

    spec = registry.resolve(task.id, backend)
    files, names, absent = [], {}, []
    for key, value in inputs.items():
        if value is None or (isinstance(value, str) and not value):
            absent.append(key)
        elif isinstance(value, (str, os.PathLike)) and Path(value).is_file():
            names[key] = f"{key}{Path(value).suffix}"  # one name per input, whatever the upload's
            files.append((Path(value), names[key]))
        else:
            raise InputError(f"The input '{key}' is not a file on this server; a job on the "
                             f"{engine} engine takes its inputs as files.")
    report = progress or (lambda fraction, desc="": None)
    report(0.0, f"sending the job to the {engine} engine")
    gpus = 1.0 if spec.kind != "classical" and spec.needs_gpu else 0.0
    folder = root or outputs_dir()
    with tempfile.TemporaryDirectory(prefix="studio-send-") as staging:
        sent = []
        for path, name in files:  # each input under its own name (hard link, else a copy)
            target = Path(staging) / name
            try:
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)
            sent.append(target)
        _, result = run_with_files(_worker, sent, folder, task.id, spec.id, names, absent,
                                   dict(settings), int(seed), engine=engine, num_gpus=gpus)
    report(1.0, "done")
    return JobOutput(task.id, result["spec_id"], folder / result["run"],
                     folder / result["manifest"],
                     {k: folder / rel for k, rel in result["outputs"].items()},
                     list(result["notes"]), result["summary"], dict(result["data"]))
