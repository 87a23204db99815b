"""Run folders and their manifests.

Every job writes into a folder of its own, ``<outputs>/<task>/<timestamp>-<id>/``. The folder is
complete when, and only when, it holds ``manifest.json``: the manifest is written last and
atomically (temporary file, then ``os.replace``). A job that fails removes its folder, so nothing
half-written is left that looks like a result.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from metrics.timing import PeakMemory, StageTimer
from pipelines.registry import PipelineSpec

MANIFEST = "manifest.json"
LIBRARIES = ("torch", "diffusers", "transformers", "gradio", "huggingface-hub", "spandrel")


def outputs_dir() -> Path:
    """Where run folders go: ``STUDIO_OUTPUTS`` or ``./outputs``."""
    return Path(os.environ.get("STUDIO_OUTPUTS", "outputs")).expanduser().resolve()


def library_versions() -> dict[str, str | None]:
    """Installed versions, read from package metadata (importing nothing)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write JSON through a temporary file in the same folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, default=str)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass
class Run:
    """One job's folder, timings and record."""

    task: str
    path: Path
    spec: PipelineSpec | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    device: str | None = None
    dtype: str | None = None
    timer: StageTimer = field(default_factory=StageTimer)
    memory: PeakMemory = field(default_factory=PeakMemory)
    outputs: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        """A path inside the run folder (names may not climb out of it)."""
        target = (self.path / name).resolve()
        if self.path.resolve() not in target.parents:
            raise ValueError(f"output name '{name}' leaves the run folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def stage(self, name: str):
        return self.timer.stage(name)

    def add_output(self, label: str, path: str | Path) -> Path:
        """Record an output file that lies inside the run folder."""
        path = Path(path).resolve()
        self.outputs[label] = path.relative_to(self.path.resolve()).as_posix()
        return path

    def manifest(self, status: str = "complete") -> dict[str, Any]:
        spec = self.spec
        return {
            "run_id": self.id,
            "status": status,
            "task": self.task,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "spec_id": spec.id if spec else None,
            "kind": spec.kind if spec else None,
            "repo_id": spec.repo_id if spec else None,
            "revision": spec.revision if spec else None,
            "parameters": self.params,
            "seed": self.seed,
            "device": self.device,
            "dtype": self.dtype,
            "timings_seconds": {k: round(v, 4) for k, v in self.timer.seconds.items()},
            "memory": self.memory.as_dict(),
            "versions": library_versions(),
            "outputs": self.outputs,
            **self.extra,
        }

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST


def new_run_folder(task: str, root: Path | None = None) -> Path:
    # Microseconds keep names in start order (list_runs sorts by name) within one second.
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    folder = (root or outputs_dir()) / task / f"{stamp}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True, exist_ok=False)
    return folder


@contextmanager
def start_run(
    task: str,
    *,
    spec: PipelineSpec | None = None,
    params: dict[str, Any] | None = None,
    seed: int | None = None,
    root: Path | None = None,
) -> Iterator[Run]:
    """Open a run folder; on success write its manifest, on failure remove the folder."""
    run = Run(task, new_run_folder(task, root), spec, dict(params or {}), seed)
    run.memory.start()
    try:
        yield run
    except BaseException:
        run.memory.stop()
        shutil.rmtree(run.path, ignore_errors=True)
        raise
    run.memory.stop()
    write_json_atomic(run.manifest_path, run.manifest())


def run_max_age_hours() -> float:
    """How long run folders are kept: ``STUDIO_RUN_MAX_AGE_HOURS`` (0 keeps them forever)."""
    raw = os.environ.get("STUDIO_RUN_MAX_AGE_HOURS", "168")
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not hours >= 0:
        raise ValueError(f"STUDIO_RUN_MAX_AGE_HOURS={raw!r}: use a number of hours, 0 for never")
    return hours


def cleanup_runs(max_age_hours: float, root: Path | None = None, now: float | None = None) -> int:
    """Remove run folders (complete or left over by a crash) older than ``max_age_hours``.

    Only folders two levels under the outputs root (``<task>/<run>``) are considered; returns
    how many were removed. ``max_age_hours=0`` removes nothing.
    """
    if max_age_hours <= 0:
        return 0
    base = root or outputs_dir()
    cutoff = (time.time() if now is None else now) - max_age_hours * 3600
    removed = 0
    for folder in base.glob("*/*"):
        if folder.is_dir() and not folder.is_symlink() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def is_complete(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def list_runs(task: str | None = None, root: Path | None = None) -> list[Path]:
    """Complete run folders, newest first."""
    base = root or outputs_dir()
    pattern = f"{task}/*" if task else "*/*"
    runs = [p for p in base.glob(pattern) if p.is_dir() and is_complete(p)]
    return sorted(runs, key=lambda p: p.name, reverse=True)
