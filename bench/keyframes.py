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
    rows = list(csv.reader(lines[1:] if lines[0].startswith("Timecode List") else lines))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of each test video")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="720p,1080p", help="comma-separated: 720p, 1080p")
    parser.add_argument("--before", default=BEFORE,
                        help="git revision to compare with ('' to skip)")  # fmt: skip
    parser.add_argument("--minutes", type=float, default=10, help="length of the memory video")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
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
