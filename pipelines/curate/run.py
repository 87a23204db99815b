"""A whole curation run: videos through an engine, duplicates, filters, manifest, clips, shards.

1. Every input video is one job (:func:`~pipelines.curate.video.curate_video`) run on the chosen
   engine (:mod:`pipelines.engines`: in-process, local process pool or Ray). A video whose record
   is already in ``out`` (same file size, time and analysis settings) is not analysed again, so
   an interrupted run continues where it stopped. A file that cannot be read becomes one error
   row; the run goes on.
2. Rows are formed in input order (video, then shot); duplicates (keyframe or mid-shot hash
   within ``dedupe_bits``) are found across all of them
   (:mod:`~pipelines.curate.dedupe`), then every filter is applied: ``keep`` is true when no
   filter failed, ``reason`` lists the failed ones (comma-separated, in
   :data:`~pipelines.curate.settings.REASONS` order).
3. Optional clips (one job per video with kept shots, same engine) and shards; then
   ``manifest.jsonl`` (one row per shot), ``summary.json`` and the returned :class:`Summary`.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.curate.clips import ClipJob, export_clips
from pipelines.curate.dedupe import find_duplicates
from pipelines.curate.inputs import gather_videos
from pipelines.curate.settings import REASONS, CurateParams
from pipelines.curate.shards import write_shards
from pipelines.curate.video import VideoJob, curate_video, make_job
from pipelines.engines import engine_session, run_jobs
from pipelines.errors import InputError, WeightsUnavailable
from pipelines.manifest import write_json_atomic
from pipelines.registry import Registry, verify_weights

MANIFEST = "manifest.jsonl"
ROW_FIELDS = ("video", "shot", "start_frame", "end_frame", "start_time", "end_time", "duration",
              "keyframe", "keyframe_frame", "motion", "sharpness", "brightness", "phash",
              "mid_phash", "duplicate_of", "keep", "reason", "clip", "clip_method",
              "error")  # fmt: skip
CountProgress = Callable[[int, int, str], None]  # (done, total, what): jobs, not fractions


@dataclass
class Summary:
    videos: int = 0
    analysed: int = 0  # videos analysed in this run (the rest came from earlier records)
    resumed: int = 0
    errors: int = 0
    shots: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # by reason (a shot may count twice)
    seconds: float = 0.0
    engine: str = "local"
    workers: int | None = None
    clips: int = 0
    shards: int = 0
    video_seconds: float = 0.0  # summed per-video job time of the videos analysed now

    def text(self) -> str:
        dropped = ", ".join(f"{k} {v}" for k, v in self.dropped.items()) or "none"
        return (f"{self.videos} videos ({self.analysed} analysed, {self.resumed} already done, "
                f"{self.errors} errors), {self.shots} shots, {self.kept} kept; dropped: "
                f"{dropped}; {self.seconds:.1f} s on the {self.engine} engine")  # fmt: skip


def _reasons(shot: dict, params: CurateParams) -> list[str]:
    failed = set()
    if shot["duration"] < params.min_duration:
        failed.add("short")
    if shot["brightness"] < params.min_brightness:
        failed.add("dark")
    if shot["brightness"] > params.max_brightness:
        failed.add("bright")
    if shot["sharpness"] < params.min_sharpness:
        failed.add("blurry")
    motion = shot["motion"]
    if params.min_motion > 0 and (motion is None or motion < params.min_motion):
        failed.add("static")
    if params.max_motion > 0 and motion is not None and motion > params.max_motion:
        failed.add("shaky")
    if shot.get("duplicate_of"):
        failed.add("duplicate")
    return [r for r in REASONS if r in failed]


def error_row(video: str, err: BaseException) -> dict:
    return {**dict.fromkeys(ROW_FIELDS), "video": video, "keep": False, "reason": "error",
            "error": str(err)}  # fmt: skip


def build_rows(records: Sequence[tuple[str, dict | BaseException]],
               params: CurateParams) -> list[dict]:  # fmt: skip
    """Manifest rows, in the order of ``records`` (one per video: its record or its error)."""
    rows: list[dict] = []
    for video, record in records:
        if isinstance(record, BaseException):
            rows.append(error_row(video, record))
            continue
        for shot in record["shots"]:
            rows.append({**dict.fromkeys(ROW_FIELDS), "video": video, **{
                k: v for k, v in shot.items() if k in ROW_FIELDS}, "_key": record["key"]})
    hashes = [[int(r[name], 16) if r.get(name) else None for r in rows]
              for name in ("phash", "mid_phash")]
    for row, original in zip(rows, find_duplicates(hashes, params.dedupe_bits), strict=True):
        if original is not None:
            first = rows[original]
            row["duplicate_of"] = f"{first['video']}#{first['shot']}"
    for row in rows:
        if row["error"] is None:
            reasons = _reasons(row, params)
            row["keep"], row["reason"] = not reasons, ",".join(reasons)
    return rows


def _bar(total: int, description: str) -> Callable[[int, int, str], None]:
    """A progress bar on stderr (tqdm)."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=description, unit="video", leave=True, dynamic_ncols=True)

    def update(done: int, total_: int, what: str) -> None:
        bar.n = done
        bar.set_postfix_str(Path(what).name[:30], refresh=False)
        bar.refresh()
        if done >= total_:
            bar.close()

    return update


def shot_weights(registry: Registry, backend: str) -> str:
    """The weights file of the keyframe backend ``backend`` that finds the shots ("" for the
    classical detectors): from the local cache, checked against its sha256 (downloaded first
    only where loads may fetch by themselves, as in a Space); WeightsUnavailable otherwise."""
    if backend == "classical":
        return ""
    from pipelines.keyframes.specs import TRANSNET_WEIGHTS
    from pipelines.registry import auto_fetch_enabled, cached_weights, fetch_weights

    spec = registry.get(f"keyframes.{backend}")
    folder = cached_weights(spec)
    if folder is None:
        if not auto_fetch_enabled():
            raise WeightsUnavailable(spec.id, spec.repo_id or "", "not in the local cache")
        folder = fetch_weights(spec)
    verify_weights(spec, folder)
    return str(folder / TRANSNET_WEIGHTS)


def curate(inputs: Iterable[str | Path], out: str | Path, params: CurateParams | None = None, *,
           engine: str = "local", workers: int | None = None, address: str | None = None,
           progress: CountProgress | None = None, show_bar: bool = False) -> Summary:  # fmt: skip
    """Curate every video in ``inputs`` into ``out``; see the module docstring."""
    params = (params or CurateParams()).validate()
    started = time.perf_counter()
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder (it is created if missing).")
    out.mkdir(parents=True, exist_ok=True)
    videos = gather_videos(inputs)
    # On the pool and Ray, parallelism comes from workers, one video each, so each job runs on
    # one thread (decoder included: FFmpeg would start one per core in every worker) and a
    # worker is one core, as a Ray task's num_cpus=1 promises.
    # In-process, or for a single video, the decoder keeps its threads.
    side_by_side = engine != "inline" and len(videos) > 1
    jobs = [make_job(path, out, params, 1 if side_by_side else 0) for path in videos]
    pending = [job for job in jobs if job.done() is None]
    records: dict[str, dict | BaseException] = {job.path: r for job in jobs
                                                if (r := job.done()) is not None}  # fmt: skip
    summary = Summary(videos=len(jobs), resumed=len(records), engine=engine, workers=workers)
    report = progress or (_bar(len(pending), "curating") if show_bar and pending else None)

    def tick(done: int, total: int, job: VideoJob) -> None:
        if report is not None:
            report(done, total, job.path)

    with engine_session(engine, workers, address):
        for job, outcome in run_jobs(curate_video, pending, engine=engine, workers=workers,
                                     address=address, progress=tick):  # fmt: skip
            records[job.path] = outcome
            if isinstance(outcome, BaseException):
                summary.errors += 1
            else:
                summary.analysed += 1
                summary.video_seconds += outcome.get("seconds", 0.0)
        ordered = [(job.path, records[job.path]) for job in jobs]
        rows = build_rows(ordered, params)
        if params.clips:
            summary.clips = _clips(rows, ordered, out, engine, workers, address)
    kept = [r for r in rows if r["keep"]]
    for row in kept:
        row["sample"] = f"{row['_key']}_{row['shot']:04d}"
    if params.shards:
        summary.shards = len(write_shards(out, [_public(r) | {"sample": r["sample"]}
                                                for r in kept], params.shard_size))
    _write_manifest(out / MANIFEST, [_public(r) for r in rows])
    summary.shots = sum(1 for r in rows if r["error"] is None)
    summary.kept = len(kept)
    counts = Counter(reason for r in rows if r["reason"] for reason in r["reason"].split(","))
    summary.dropped = {r: counts[r] for r in REASONS if counts[r]}
    summary.seconds = round(time.perf_counter() - started, 3)
    write_json_atomic(out / "summary.json", {**summary.__dict__, "settings": params.as_dict()})
    return summary


def _public(row: dict) -> dict:
    return {k: row[k] for k in ROW_FIELDS}


def _clips(rows: list[dict], ordered: list, out: Path, engine: str, workers: int | None,
           address: str | None) -> int:  # fmt: skip
    wanted: dict[str, list[dict]] = {}
    for row in rows:
        if row["keep"]:
            wanted.setdefault(row["video"], []).append(row)
    jobs = []
    for video, record in ordered:
        if video in wanted and not isinstance(record, BaseException):
            shots = tuple((r["shot"], r["start_frame"], r["end_frame"]) for r in wanted[video])
            jobs.append(ClipJob(video, record["key"], str(out), shots,
                                tuple(record["key_frames"]), record["frames"], record["fps"]))
    count = 0
    for job, outcome in run_jobs(export_clips, jobs, engine=engine, workers=workers,
                                 address=address):  # fmt: skip
        for row in wanted[job.path]:
            if isinstance(outcome, BaseException):
                row["error"] = f"clip not written: {outcome}"
            elif row["shot"] in outcome:
                row["clip"] = outcome[row["shot"]]["clip"]
                row["clip_method"] = outcome[row["shot"]]["clip_method"]
                count += 1
    return count


def _write_manifest(path: Path, rows: list[dict]) -> Path:
    tmp = path.with_suffix(".jsonl.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def read_manifest(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
