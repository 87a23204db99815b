"""Several talking-head backends on the same face and speech, side by side with measured figures.

:func:`compare` runs the task's own job (:func:`pipelines.remote.run_job_on_engine`, so each
backend gets its run folder and manifest as a single run would) once per backend, times it, and
measures the output's lip sync (:mod:`pipelines.talking_head.sync`) with the face landmark model
when its files are on disk. A backend that fails (missing weights, no face, no GPU) keeps its
one-sentence error in its row; the others still run. The videos that were made are composed
into one side-by-side MP4 with the speech (:func:`side_by_side`), written with a
``comparison.json`` into a folder of its own under the outputs folder.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import landmarks, media
from pipelines.errors import InputError, StudioError
from pipelines.manifest import new_run_folder, write_json_atomic
from pipelines.progress import Progress, no_progress, scaled
from pipelines.registry import PipelineSpec, Registry
from pipelines.remote import run_job_on_engine
from pipelines.talking_head import TASK
from pipelines.talking_head.job import finish
from pipelines.talking_head.sync import SyncFigures, measure, rest_opening, speech_loudness

log = logging.getLogger("studio")

FOLDER = "talking_head-compare"  # run folders of comparisons, beside the task's own
VIDEO_NAME = "side_by_side.mp4"
TABLE_NAME = "comparison.json"
MAX_HEIGHT = 512  # each panel of the side-by-side video is at most this tall
LABEL_BAND = 28  # pixels above each panel for its backend's name
RUN_SHARE = 0.85  # of the progress bar: the backends' jobs and measurements; the rest composes
NO_MESH = ("Lip-sync figures need the face landmark model's files, which are not on this "
           f"machine: `python cli.py fetch {landmarks.SPEC_ID}` (or the Models tab). Only wall "
           "times are shown.")

Fetch = Callable[[PipelineSpec, Progress], None]


@dataclass
class Row:
    """One backend's run: its video and figures, or the sentence saying why it failed."""

    backend: str  # spec id
    label: str
    seconds: float  # wall time of the backend's job (loading and encoding included)
    video: Path | None = None
    run_dir: Path | None = None
    frames: int = 0
    sync: SyncFigures | None = None  # None: failed, or no face landmark model here
    error: str = ""  # one sentence when the backend failed

    @property
    def ok(self) -> bool:
        return not self.error

    def as_dict(self) -> dict[str, Any]:
        out = {"backend": self.backend, "label": self.label, "seconds": round(self.seconds, 3),
               "video": str(self.video) if self.video else None,
               "run_dir": str(self.run_dir) if self.run_dir else None,
               "frames": self.frames, "error": self.error or None}
        out["sync"] = ({k: (None if isinstance(v, float) and math.isnan(v) else v)
                        for k, v in asdict(self.sync).items()} if self.sync else None)
        return out


HEADERS = ("backend", "result", "wall time (s)", "frames", "r (lag 0)", "best lag",
           "r (best lag)", "pause frames", "at rest", "face found")


def _number(value: float, digits: int = 3) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), digits)


def cells(row: Row) -> list[Any]:
    """One row of the figures table (:data:`HEADERS`): None where a figure has no value."""
    figures: list[Any] = [None] * 6
    if row.sync is not None:
        s = row.sync
        figures = [_number(s.r), s.best_lag, _number(s.r_best), s.pause_frames,
                   _number(s.at_rest), _number(s.found)]
    return [row.label, "ok" if row.ok else row.error, round(row.seconds, 2),
            row.frames if row.ok else None, *figures]


@dataclass
class Comparison:
    rows: list[Row]
    folder: Path  # holds the side-by-side video and comparison.json
    video: Path | None  # the side-by-side MP4 (None when no backend made a video)
    audio: Path | None  # the speech every backend spoke
    table: Path
    notes: list[str] = field(default_factory=list)


def available_backends(registry: Registry) -> list[PipelineSpec]:
    """The task's backends that can run here: the weight-free ones always, model backends when
    their files are on disk (the registry's check, as the Models tab shows it)."""
    return [s for s in registry.by_task(TASK.id)
            if not s.needs_weights or registry.status(s.id).on_disk]


def _error_sentence(spec_id: str, err: Exception) -> str:
    if isinstance(err, StudioError):
        return str(err)
    if isinstance(err, MemoryError):
        return "The machine ran out of memory; try a smaller input or free loaded models."
    log.exception("comparison: backend %s failed", spec_id)
    return (f"Something went wrong inside the studio ({type(err).__name__}); the details are "
            "in the server log.")


def compare(registry: Registry, backends: Sequence[str], inputs: Mapping[str, Any],
            settings: Mapping[str, Any] | None = None, *, seed: int = 0,
            progress: Progress | None = None, fetch: Fetch | None = None,
            root: Path | None = None, mesh: Any = None) -> Comparison:
    """Run each of ``backends`` (ids or short names) on the same ``inputs`` and settings.

    ``mesh`` is the face landmark runner used for the sync figures (default: the registry's,
    when its files are on disk). Raises :class:`InputError` for fewer than two backends, and
    the shared sentence when every backend failed with the same one (a bad input).
    """
    report = progress or no_progress
    specs = list(dict.fromkeys(registry.resolve(TASK.id, name).id for name in backends))
    if len(specs) < 2:
        raise InputError("Pick at least two backends to compare (the classical one and a model "
                         "backend whose files are on disk).")
    if mesh is None:
        mesh = landmarks.load_landmarker(registry)
    notes = [] if mesh is not None else [NO_MESH]
    rows: list[Row] = []
    audio: Path | None = Path(inputs["audio"]) if inputs.get("audio") else None
    loudness = rest = None
    share = RUN_SHARE / len(specs)
    for i, spec_id in enumerate(specs):
        spec = registry.get(spec_id)
        part = scaled(report, i * share, share)
        start = time.perf_counter()
        try:
            job = finish(run_job_on_engine(
                registry, TASK, spec_id, inputs, settings, seed=seed,
                progress=lambda f, d="", p=part, s=spec: p(0.8 * f, f"{s.label}: {d}"),
                fetch=fetch))
        except Exception as err:  # this row says why; the other backends still run
            rows.append(Row(spec_id, spec.label, time.perf_counter() - start,
                            error=_error_sentence(spec_id, err)))
            continue
        row = Row(spec_id, spec.label, time.perf_counter() - start, job.video, job.run_dir,
                  job.result.frames)
        audio = audio or job.speech
        if mesh is not None and audio is not None:
            part(0.8, f"{spec.label}: measuring lip sync")
            if loudness is None:
                loudness = speech_loudness(audio, job.result.fps)
                rest = rest_opening(inputs["face"], mesh)
            row.sync = measure(job.video, loudness, rest, mesh)
        rows.append(row)
    errors = {r.error for r in rows}
    if all(not r.ok for r in rows) and len(errors) == 1:
        raise StudioError(errors.pop())
    folder = new_run_folder(FOLDER, root)
    made = [(r.label, r.video) for r in rows if r.ok and r.video is not None]
    video = None
    if made:
        video = side_by_side(made, folder / VIDEO_NAME, audio,
                             scaled(report, RUN_SHARE, 1 - RUN_SHARE))
    table = write_json_atomic(folder / TABLE_NAME, {
        "task": TASK.id, "inputs": {k: (Path(v).name if k != "text" and v else v)
                                    for k, v in inputs.items()},
        "settings": {k: v for k, v in (settings or {}).items()}, "seed": seed,
        "rows": [r.as_dict() for r in rows], "notes": notes})
    report(1.0, "done")
    return Comparison(rows, folder, video, audio, table, notes)


# --------------------------------------------------------------------------------------------
# The side-by-side video


def _panel_size(info: media.VideoInfo, height: int) -> tuple[int, int]:
    width = max(2, round(info.width * height / info.height / 2) * 2)
    return width, height


def _label(panel: np.ndarray, text: str) -> np.ndarray:
    """``panel`` under a dark band with ``text`` in it."""
    import cv2

    band = np.full((LABEL_BAND, panel.shape[1], 3), 24, np.uint8)
    scale = 0.5
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    if w > panel.shape[1] - 8:  # shrink long names to the panel's width
        scale *= (panel.shape[1] - 8) / w
        (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.putText(band, text, ((panel.shape[1] - w) // 2, (LABEL_BAND + h) // 2),
                cv2.FONT_HERSHEY_SIMPLEX, scale, (240, 240, 240), 1, cv2.LINE_AA)
    return np.concatenate([band, panel])


def side_by_side(videos: Sequence[tuple[str, Path]], output: Path, audio: Path | None,
                 progress: Progress | None = None) -> Path:
    """One MP4 with ``videos`` (label, path) next to each other, each scaled to the same height
    (the smallest input's, at most :data:`MAX_HEIGHT`) under its label, and ``audio`` muxed in.

    The videos are read one frame at a time; a shorter one holds its last frame. The frame rate
    is the first video's.
    """
    import cv2

    report = progress or no_progress
    infos = [media.probe_video(path) for _, path in videos]
    height = min(MAX_HEIGHT, *(i.height for i in infos)) // 2 * 2
    sizes = [_panel_size(info, height) for info in infos]
    total = max(i.frame_count for i in infos)
    streams = [media.iter_frames(path) for _, path in videos]
    # Until a video's first frame arrives (never, for a readable video) its panel is black.
    last = [np.zeros((height + LABEL_BAND, w, 3), np.uint8) for w, _ in sizes]
    with media.VideoWriter(output, infos[0].fps, audio=audio) as writer:
        while True:
            alive = False
            for k, stream in enumerate(streams):
                got = next(stream, None)
                if got is not None:
                    alive = True
                    last[k] = _label(cv2.resize(got[1], sizes[k], interpolation=cv2.INTER_AREA),
                                     videos[k][0])
            if not alive:
                break
            writer.write(np.concatenate(last, axis=1))
            if writer.frames_written % 10 == 0:
                report(min(1.0, writer.frames_written / max(total, 1)), "side-by-side video")
    return output
