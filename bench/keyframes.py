"""Keyframe extraction: shot-detection speed and accuracy against PySceneDetect, and memory.

Run from the repository root:

    python bench/keyframes.py [--seconds 75] [--repeats 3] [--skip-memory]

On a generated 1280x720 H.264 video (camera motion, moving objects, hard cuts, fades through
black and white, one- and two-frame flashes, static shots; known boundaries) it prints, side by
side: the bare decode rate of the file (the limit: every frame decoded to an RGB array by the
media layer, iter_frames with PyAV; decord, OpenCV's read loop and decoding with no pixel
conversion at all are shown too), this project's shot detection (``keyframes.classical``:
decode, analysis, detection, keyframe choice), and PySceneDetect's ContentDetector and
AdaptiveDetector at their defaults; frames per second (median of the repeats, runs interleaved)
and boundary F1, with the ratios the issue asks for. Then it runs the whole job (with every
output) on a generated 10-minute 720p video in a fresh process and prints its peak resident
memory and F1 there.

PySceneDetect depends on opencv-python, a second OpenCV build that must not enter the studio's
environment, so it runs in its own virtual environment, created on first use with:

    python3 -m venv /tmp/scenedetect-venv
    /tmp/scenedetect-venv/bin/pip install scenedetect==0.7.2

Videos are generated once into /tmp/spacetime-keyframes-bench (KEYFRAMES_BENCH_DIR overrides).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.keyframes.evaluate import score_boundaries  # noqa: E402
from pipelines.keyframes.runner import KeyframeRequest, KeyframeRunner  # noqa: E402
from pipelines.media import iter_frames  # noqa: E402
from tests.keyframes_fixtures import (  # noqa: E402
    VERSION,
    Timeline,
    fitted_timeline,
    write_timeline,
)

WORK = Path(os.environ.get("KEYFRAMES_BENCH_DIR", "/tmp/spacetime-keyframes-bench"))
PSD_VENV = Path("/tmp/scenedetect-venv")
PSD_REQUIREMENT = "scenedetect==0.7.2"
FPS = 30
SEED = 7  # a timeline with two fades through black, two through white and seven flashes
TOLERANCE = 2
BARE = "bare decode (iter_frames, PyAV, RGB)"

# Runs inside PySceneDetect's environment: time one detector (or bare OpenCV decoding).
PSD_SCRIPT = r"""
import json, sys, time
import cv2
path, mode = sys.argv[1], sys.argv[2]
if mode == "decode":
    start = time.perf_counter()
    capture = cv2.VideoCapture(path)
    frames = 0
    while capture.grab():
        capture.retrieve()
        frames += 1
    seconds = time.perf_counter() - start
    cuts = []
else:
    import scenedetect
    from scenedetect import AdaptiveDetector, ContentDetector, detect
    detector = ContentDetector() if mode == "content" else AdaptiveDetector()
    start = time.perf_counter()
    scenes = detect(path, detector, show_progress=False)
    seconds = time.perf_counter() - start
    frames = scenes[-1][1].frame_num if scenes else 0
    cuts = [scene[0].frame_num for scene in scenes[1:]]
print(json.dumps({"seconds": seconds, "frames": frames, "cuts": cuts,
                  "opencv": cv2.__version__}))
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


def make_video(name: str, frames: int, preset: str) -> tuple[Path, Timeline]:
    timeline = fitted_timeline(frames, SEED, FPS)
    path = WORK / f"{name}_v{VERSION}.mp4"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({frames} frames, 1280x720, x264 {preset}) ...", flush=True)
        start = time.perf_counter()
        write_timeline(timeline, path, 1280, 720, fps=FPS, preset=preset, crf=20)
        print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
    return path, timeline


def psd_python() -> Path:
    python = PSD_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PSD_VENV} with {PSD_REQUIREMENT} ...", flush=True)
        subprocess.run(["python3", "-m", "venv", str(PSD_VENV)], check=True)
        subprocess.run([str(PSD_VENV / "bin" / "pip"), "install", "-q", PSD_REQUIREMENT],
                       check=True)  # fmt: skip
    return python


def run_psd(python: Path, path: Path, mode: str) -> dict:
    out = subprocess.run([str(python), "-c", PSD_SCRIPT, str(path), mode], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_bare(path: Path, backend: str) -> dict:
    start = time.perf_counter()
    frames = sum(1 for _ in iter_frames(path, backend=backend))
    return {"seconds": time.perf_counter() - start, "frames": frames, "cuts": []}


def run_raw(path: Path) -> dict:
    """Decoding alone: PyAV frames in the decoder's own format, no pixels converted."""
    import av

    start = time.perf_counter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames = sum(1 for _ in container.decode(stream))
    return {"seconds": time.perf_counter() - start, "frames": frames, "cuts": []}


def run_ours(path: Path) -> dict:
    start = time.perf_counter()
    result = KeyframeRunner()(KeyframeRequest(str(path)))
    return {"seconds": time.perf_counter() - start, "frames": result.frame_count,
            "cuts": [c.frame for c in result.cuts]}  # fmt: skip


def speed_and_accuracy(seconds: float, repeats: int, skip_psd: bool) -> dict:
    path, timeline = make_video(f"accuracy_{seconds:g}s", round(seconds * FPS), "medium")
    runs: dict[str, list[dict]] = {}
    contenders = {
        BARE: lambda p: run_bare(p, "pyav"),
        "bare decode (iter_frames, decord, RGB)": lambda p: run_bare(p, "decord"),
        "decode only (PyAV, no pixel conversion)": run_raw,
        "this project (keyframes.classical)": run_ours,
    }
    if not skip_psd:
        python = psd_python()
        contenders |= {
            "bare decode (OpenCV read, PySceneDetect's)": lambda p: run_psd(python, p, "decode"),
            "PySceneDetect ContentDetector": lambda p: run_psd(python, p, "content"),
            "PySceneDetect AdaptiveDetector": lambda p: run_psd(python, p, "adaptive"),
        }
    for repeat in range(repeats):
        for name, run in contenders.items():  # interleaved, so load changes hit all alike
            runs.setdefault(name, []).append(run(path))
        print(f"  repeat {repeat + 1}/{repeats} done", flush=True)
    points = [(b.frame, b.frame, b.frame) for b in timeline.boundaries]
    spans = [(b.frame, b.start, b.end) for b in timeline.boundaries]
    rows = {}
    for name, results in runs.items():
        fps = statistics.median(timeline.frame_count / r["seconds"] for r in results)
        row = {"fps": fps, "frames": results[0]["frames"]}
        if "decode" not in name:
            cuts = results[0]["cuts"]
            point, span = score_boundaries(cuts, points, TOLERANCE), score_boundaries(cuts, spans,
                                                                                   TOLERANCE)
            row |= {"f1": point.f1, "precision": point.precision, "recall": point.recall,
                    "f1_span": span.f1, "cuts": len(cuts)}  # fmt: skip
        rows[name] = row
    kinds = [b.kind for b in timeline.boundaries]
    return {
        "video": str(path), "frames": timeline.frame_count, "fps": FPS,
        "boundaries": len(kinds), "cuts": kinds.count("cut"), "black": kinds.count("black"),
        "white": kinds.count("white"), "flashes": sum(len(s.flashes) for s in timeline.shots),
        "repeats": repeats, "rows": rows,
    }  # fmt: skip


def memory(minutes: float) -> dict:
    frames = round(minutes * 60 * FPS) - FPS  # stay under the default 600-second limit
    path, timeline = make_video(f"memory_{minutes:g}min", frames, "veryfast")
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path)], cwd=ROOT,
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    report = json.loads(out.stdout.strip().splitlines()[-1])
    truth = [(b.frame, b.frame, b.frame) for b in timeline.boundaries]
    score = score_boundaries(report.pop("cuts"), truth, TOLERANCE)
    return {"video": str(path), "boundaries": len(truth), "f1": score.f1, **report}


def print_report(report: dict) -> None:
    acc = report["accuracy"]
    print(f"\nvideo: {acc['video']}\n  1280x720, {acc['frames']} frames at {acc['fps']} fps; "
          f"{acc['boundaries']} boundaries ({acc['cuts']} cuts, {acc['black']} fades through "
          f"black, {acc['white']} through white), {acc['flashes']} flashes; median of "
          f"{acc['repeats']} interleaved runs\n")  # fmt: skip
    rows = acc["rows"]
    bare = rows[BARE]["fps"]
    content = rows.get("PySceneDetect ContentDetector", {}).get("fps")
    header = (f"{'':46} {'frames/s':>9} {'F1':>6} {'P':>6} {'R':>6} {'F1 span':>8} "
              f"{'x Content':>10} {'x bare':>7}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        ratio_content = f"{row['fps'] / content:.2f}" if content else "-"
        cells = (f"{row['f1']:6.3f} {row['precision']:6.3f} {row['recall']:6.3f} "
                 f"{row['f1_span']:8.3f}" if "f1" in row else f"{'':6} {'':6} {'':6} {'':8}")
        print(f"{name:46} {row['fps']:9.1f} {cells} {ratio_content:>10} "
              f"{row['fps'] / bare:7.2f}")  # fmt: skip
    print(f"\nF1: boundaries within {TOLERANCE} frames of the true frame (a fade's middle); "
          f"F1 span: anywhere in a fade's transition counts.")
    print("Targets: F1 >= 0.95, frames/s >= 1.3 x ContentDetector and >= 0.9 x bare decode.")
    if "memory" in report:
        mem = report["memory"]
        print(f"\nmemory: whole job (every output) on {mem['video']}: {mem['frames']} frames, "
              f"{mem['shots']} shots (F1 {mem['f1']:.3f} on {mem['boundaries']} boundaries), "
              f"{mem['seconds']:.0f} s "
              f"({mem['frames'] / mem['analyse']:.0f} frames/s analysed); peak RSS "
              f"{mem['peak_rss'] / 2**20:.0f} MiB (target: under 1024 MiB)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=75, help="length of the test video")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=10, help="length of the memory video")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-psd", action="store_true", help="leave PySceneDetect out")
    args = parser.parse_args()
    report = {"accuracy": speed_and_accuracy(args.seconds, args.repeats, args.skip_psd)}
    if not args.skip_memory:
        report["memory"] = memory(args.minutes)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "results.json").write_text(json.dumps(report, indent=2))
    print_report(report)


if __name__ == "__main__":
    main()
