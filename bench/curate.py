"""Curation throughput: videos per minute and shots per second for 1, 2 and N workers, on the
local process pool and on Ray, over a folder of generated 720p videos.

Run from the repository root:

    python bench/curate.py [--videos 8] [--seconds 12] [--workers 1,2] [--skip-ray]

Each configuration runs ``curate()`` (the engine behind ``python cli.py curate``) into a fresh
output folder, so no video is skipped as already done; the wall clock covers the whole run
(for Ray, the start of a local Ray is timed separately and left out of the throughput, as a
cluster would already be up). A pure-CPU control job through the same pool shows what scaling
the machine itself allows at the time (others' work shares the cores). Printed: seconds,
videos/min, shots/s, the 1 -> 2 worker scaling (target >= 1.6x on these 2 cores) and a paper
estimate, from the measured per-video cost of one
worker, of the workers a one-million-video corpus needs for a one-day turnaround.

Videos (generated once into /tmp/spacetime-curate-bench, CURATE_BENCH_DIR overrides) are
``--seconds`` long at 1280x720, 30 fps, with cuts, fades and flashes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import engines  # noqa: E402
from pipelines.curate.run import curate  # noqa: E402
from pipelines.curate.settings import CurateParams  # noqa: E402
from tests.keyframes_fixtures import VERSION, fitted_timeline, write_timeline  # noqa: E402

WORK = Path(os.environ.get("CURATE_BENCH_DIR", "/tmp/spacetime-curate-bench"))
FPS = 30
CORPUS = 1_000_000
DAY = 86_400.0


def make_corpus(count: int, seconds: float) -> Path:
    folder = WORK / f"videos_{count}x{seconds:g}s_v{VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        path = folder / f"video{number:03d}.mp4"
        if not path.exists():
            print(f"generating {path} ...", flush=True)
            timeline = fitted_timeline(round(seconds * FPS), seed=100 + number, fps=FPS)
            write_timeline(timeline, path, 1280, 720, fps=FPS, preset="veryfast", crf=22)
    return folder


def burn(_: int) -> int:
    """A pure-CPU control job (no I/O, no native threads)."""
    total = 0
    for i in range(4_000_000):
        total += i
    return total


def control(workers: list[int]) -> dict[int, float]:
    """Seconds for 8 control jobs through the same local pool: what the machine itself allows
    (on a machine shared with other work, a second worker may find no free core)."""
    seconds = {}
    for w in workers:
        start = time.perf_counter()
        list(engines.run_jobs(burn, range(8), engine="local", workers=w))
        seconds[w] = time.perf_counter() - start
    return seconds


def run(folder: Path, engine: str, workers: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"curate-bench-{engine}{workers}-"))
    try:
        start = time.perf_counter()
        summary = curate([folder], out, CurateParams(), engine=engine, workers=workers)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"engine": engine, "workers": workers, "seconds": seconds, "videos": summary.videos,
            "shots": summary.shots, "errors": summary.errors,
            "video_seconds": summary.video_seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each video")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    folder = make_corpus(args.videos, args.seconds)
    counts = [int(w) for w in args.workers.split(",")]
    results = [run(folder, "local", w) for w in counts]
    baseline = control(counts)
    ray_note = ""
    if args.skip_ray:
        ray_note = "skipped (--skip-ray)"
    elif not engines.ray_available():
        ray_note = "skipped: ray is not installed"
    else:
        for w in counts:
            start = time.perf_counter()
            with engines.engine_session("ray", workers=w):
                started = time.perf_counter() - start
                results.append(run(folder, "ray", w) | {"startup": started})
    print(f"\n{args.videos} generated 1280x720 videos of {args.seconds:g} s "
          f"({args.videos * args.seconds * FPS:.0f} frames) in {folder}; {os.cpu_count()} cores")
    header = f"{'engine':8} {'workers':>7} {'seconds':>8} {'videos/min':>11} {'shots/s':>8}"
    print(header + "  ray start")
    print("-" * (len(header) + 11))
    for r in results:
        start = f"{r['startup']:8.1f} s" if "startup" in r else ""
        print(f"{r['engine']:8} {r['workers']:7d} {r['seconds']:8.2f} "
              f"{60 * r['videos'] / r['seconds']:11.1f} {r['shots'] / r['seconds']:8.2f}  {start}")
    if ray_note:
        print(f"ray: {ray_note}")
    for engine in ("local", "ray"):
        by = {r["workers"]: r for r in results if r["engine"] == engine}
        if 1 in by and 2 in by:
            print(f"{engine}: 1 -> 2 workers: {by[1]['seconds'] / by[2]['seconds']:.2f}x "
                  f"(target >= 1.6)")  # fmt: skip
    if 1 in baseline and 2 in baseline:
        print(f"control (pure-CPU jobs, same pool, same run): 1 -> 2 workers: "
              f"{baseline[1] / baseline[2]:.2f}x; the machine's own limit at the time")
    one = next((r for r in results if r["engine"] == "local" and r["workers"] == 1), None)
    if one:
        per_video = one["seconds"] / one["videos"]
        per_minute = per_video / (args.seconds / 60)
        workers = math.ceil(CORPUS * per_video / DAY)
        print(f"\npaper estimate: one worker (one core) spends {per_video:.2f} s per "
              f"{args.seconds:g}-second 720p video ({per_minute:.1f} s per minute of video); "
              f"{CORPUS:,} such videos in one day need {workers:,} workers; at 5 minutes a "
              f"video, {math.ceil(CORPUS * per_minute * 5 / DAY):,} workers (I/O and stragglers "
              f"not counted).")  # fmt: skip
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
