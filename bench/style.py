"""Style transfer on a real video, the whole process as a user runs it, against an older revision.

    python bench/style.py [--frames 100] [--methods reinhard,painting] [--repeats 3]
                          [--before REV] [--no-metrics]
    python bench/style.py --synthetic [--frames 48] [--methods reinhard,cartoon,painting]

The clip is the first ``--frames`` frames (0: all 795) of OpenCV's ``vtest.avi`` (768x576,
10 fps, people walking past a static camera; MS-MPEG4), read out of Debian's ``opencv-doc``
package (``apt-get download opencv-doc``, ``dpkg -x``) into ~/.cache/spacetime/media once and cut
without re-encoding. The style image is scikit-image's coffee photo at 256x256.

Each run is its own process, ``python cli.py style CLIP STYLE -o OUT.mp4 --method M --quiet``
(defaults otherwise: consistency on, metrics on, max side 1024), timed by wall clock from start
to exit, with its CPU seconds (user + system, children's rusage) and the 1-minute load average
just before it. This revision and the one at ``--before`` (exported with ``git archive``; default:
the commit before the pipelined video path) run interleaved, median of ``--repeats``.
``--no-metrics`` adds the same runs with ``--no-metrics``.

Quality, from the files each revision wrote (first repeat), the same code for both: the warping
error and flicker of ``metrics/video.py`` over *every* consecutive pair, flow from the content
(DIS medium at 480 pixels, occlusion-masked), and the PSNR of this revision's frames against the
older revision's. The figures each run printed itself (its manifest's temporal figures) are shown
too. Targets (issue 22): reinhard >= 25 fps and painting >= 10 fps, warping error no worse.

``--synthetic`` keeps the older in-process comparison (issue 7): a generated 854x480 panning
video with a hard cut, each method per-frame and with consistency, warping error reduction and
cost ratio. Results go to bench/results/style.json (style_synthetic.json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from metrics.video import flicker_index, pair_flow, warping_error  # noqa: E402
from pipelines.media import iter_frames  # noqa: E402
from tests.style_fixtures import style_image  # noqa: E402

BEFORE = "7a12e73"  # the last revision with the one-frame-at-a-time video path
RESULTS = ROOT / "bench" / "results"
TARGET_FPS = {"reinhard": 25.0, "painting": 10.0}


# -- the clip ------------------------------------------------------------------------------


def vtest_video() -> Path:
    """OpenCV's vtest.avi from Debian's opencv-doc package, fetched once into the media cache."""
    from tests.media_real import Unavailable, fetch_opencv_doc

    try:
        return fetch_opencv_doc("vtest.avi")
    except Unavailable as err:
        sys.exit(f"cannot fetch vtest.avi: {err}")


def cut_clip(source: Path, frames: int) -> Path:
    """The first ``frames`` frames of ``source`` (0: all), packets copied, not re-encoded."""
    if frames <= 0:
        return source
    import av

    target = source.with_name(f"{source.stem}_{frames}f{source.suffix}")
    if target.is_file():
        return target
    part = target.with_name(target.name + ".part.avi")
    with av.open(str(source)) as src, av.open(str(part), "w", format="avi") as dst:
        stream = src.streams.video[0]
        out = dst.add_stream_from_template(stream)
        count = 0
        for packet in src.demux(stream):
            if packet.dts is None:
                continue
            if count >= frames:
                break
            packet.stream = out
            dst.mux(packet)
            count += 1
    part.replace(target)
    return target


# -- runs ----------------------------------------------------------------------------------


def export_revision(rev: str) -> tuple[Path | None, str]:
    """The repository at ``rev`` in a temporary folder (git archive), or None and why not."""
    folder = Path(tempfile.mkdtemp(prefix="style-before-"))
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"git archive {rev} failed: {err}"
    return folder, ""


def run_cli(root: Path, clip: Path, style: Path, out: Path, method: str,
            extra: list[str]) -> dict:
    """One ``cli.py style`` process: wall and CPU seconds, load before, its manifest."""
    runs = out.parent / f"runs-{out.stem}"
    env = {**os.environ, "STUDIO_OUTPUTS": str(runs), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(root)}
    command = [sys.executable, "cli.py", "style", str(clip), str(style), "-o", str(out),
               "--method", method, "--quiet", *extra]
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[1:4])} in {root} failed: {done.stderr[-800:]}")
    run_dir = Path(re.search(r"; run (\S+)", done.stdout).group(1))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    shutil.rmtree(runs, ignore_errors=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "load": load, "frames": manifest["frames"],
            "temporal_before": manifest.get("temporal_before", {}),
            "temporal_after": manifest.get("temporal_after", {}),
            "stage_seconds": manifest.get("stage_seconds", {}),
            "stage_busy_seconds": manifest.get("stage_busy_seconds", {})}


# -- quality -------------------------------------------------------------------------------


def content_flows(clip: Path) -> list:
    """Every consecutive pair's flow and visibility mask on the content (metrics/video.py)."""
    flows, prev = [], None
    for _, frame in iter_frames(clip, max_side=1024):
        if prev is not None:
            flows.append(pair_flow(prev, frame, preset="medium", max_side=480))
        prev = frame
    return flows


def file_quality(video: Path, flows: list) -> dict:
    """Mean warping error and flicker of ``video`` over every pair, on the content's flow."""
    errors, flickers, prev = [], [], None
    for index, (_, frame) in enumerate(iter_frames(video)):
        if prev is not None:
            pair = flows[index - 1]
            errors.append(warping_error(prev, frame, pair.backward, pair.mask))
            flickers.append(flicker_index(prev, frame, pair.backward, pair.mask))
        prev = frame
    return {"warping_error": float(np.mean(errors)), "flicker": float(np.mean(flickers)),
            "pairs": len(errors)}


def psnr(a: Path, b: Path) -> float:
    """Mean PSNR (dB) of two videos' frames, frame by frame."""
    values = [cv2.PSNR(x, y) for (_, x), (_, y) in zip(iter_frames(a), iter_frames(b),
                                                          strict=True)]
    return float(np.mean(values))


# -- the whole-process comparison ----------------------------------------------------------


def whole(args: argparse.Namespace) -> None:
    clip = cut_clip(vtest_video(), args.frames)
    folder = Path(tempfile.mkdtemp(prefix="style-bench-"))
    style = style_image(folder / "style.png", which=1, size=256)
    contenders = {"this revision": ROOT}
    skipped = {}
    if args.before:
        old, why = export_revision(args.before)
        if old is not None:
            contenders[f"at {args.before}"] = old
        else:
            skipped[f"at {args.before}"] = why
    variants = {"": []}
    if args.no_metrics:
        variants["--no-metrics"] = ["--no-metrics"]
    methods = args.methods.split(",")
    runs: dict[tuple[str, str, str], list[dict]] = {}
    outputs: dict[tuple[str, str], Path] = {}
    print(f"clip {clip.name}; {len(contenders)} revisions x {len(methods)} methods x "
          f"{len(variants)} variants x {args.repeats} repeats, interleaved", flush=True)
    for repeat in range(args.repeats):
        for method in methods:
            for variant, extra in variants.items():
                for name, root in contenders.items():  # interleaved: load drifts hit all alike
                    tag = f"{len(runs)}-{repeat}"
                    out = folder / f"{tag}.mp4"
                    run = run_cli(root, clip, style, out, method, extra)
                    runs.setdefault((name, method, variant), []).append(run)
                    if repeat == 0 and not variant:
                        outputs[(name, method)] = out
                    else:
                        out.unlink(missing_ok=True)
                    print(f"  {repeat + 1}/{args.repeats} {method:9} {variant or 'default':13}"
                          f" {name:20} {run['wall']:7.2f} s  cpu {run['cpu']:6.2f} s  "
                          f"load {run['load']:.2f}", flush=True)
    print("quality: warping error over every pair of each file ...", flush=True)
    flows = content_flows(clip)
    quality = {key: file_quality(path, flows) for key, path in outputs.items()}
    names = list(contenders)
    similarity = {m: psnr(outputs[(names[0], m)], outputs[(names[1], m)])
                  for m in methods if len(names) > 1}
    rows = []
    for (name, method, variant), got in runs.items():
        wall = statistics.median(r["wall"] for r in got)
        frames = got[0]["frames"]
        row = {"revision": name, "method": method, "variant": variant or "default",
               "seconds": round(wall, 3), "fps": round(frames / wall, 2),
               "cpu_seconds": round(statistics.median(r["cpu"] for r in got), 2),
               "loads": [round(r["load"], 2) for r in got], "frames": frames,
               "walls": [round(r["wall"], 3) for r in got],
               "reported_before": got[0]["temporal_before"],
               "reported_after": got[0]["temporal_after"],
               "stage_seconds": got[0]["stage_seconds"],
               "stage_busy_seconds": got[0]["stage_busy_seconds"]}
        if not variant:
            row["file_quality"] = quality[(name, method)]
        rows.append(row)
    report = {"clip": str(clip), "frames": rows[0]["frames"], "repeats": args.repeats,
              "before": args.before, "rows": rows, "psnr_vs_before": similarity,
              "skipped": skipped}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "style.json").write_text(json.dumps(report, indent=2) + "\n")
    for root in [folder, *(r for r in contenders.values() if r != ROOT)]:
        shutil.rmtree(root, ignore_errors=True)
    print_whole(report, names)


def print_whole(report: dict, names: list[str]) -> None:
    print(f"\n{report['clip']}: {report['frames']} frames of 768x576; whole `cli.py style` "
          f"process, median of {report['repeats']} interleaved runs")
    header = (f"{'method':9} {'variant':12} {'revision':18} {'seconds':>8} {'fps':>7} "
              f"{'cpu s':>7} {'load':>12} {'warp err (all pairs)':>21} {'flicker':>8} "
              f"{'printed warp err':>20}")
    print(header)
    print("-" * len(header))
    by_key = {(r["method"], r["variant"], r["revision"]): r for r in report["rows"]}
    for row in report["rows"]:
        quality = row.get("file_quality")
        q = (f"{quality['warping_error']:21.6f} {quality['flicker']:8.5f}" if quality
             else f"{'':21} {'':8}")
        printed = row["reported_before"].get("warping_error"), row["reported_after"].get(
            "warping_error")
        p = (f"{printed[0]:.5f} -> {printed[1]:.5f}" if None not in printed else "")
        loads = "/".join(f"{x:.1f}" for x in row["loads"])
        print(f"{row['method']:9} {row['variant']:12} {row['revision']:18} "
              f"{row['seconds']:8.2f} {row['fps']:7.2f} {row['cpu_seconds']:7.2f} "
              f"{loads:>12} {q} {p:>20}")
    for name, why in report["skipped"].items():
        print(f"{name}: skipped: {why}")
    if len(names) < 2:
        return
    for (method, variant, revision), row in by_key.items():
        if revision != names[0]:
            continue
        old = by_key.get((method, variant, names[1]))
        if old is None:
            continue
        line = (f"{method} {variant}: {row['fps']:.2f} fps vs {old['fps']:.2f} "
                f"(x{old['seconds'] / row['seconds']:.2f})")
        if variant == "default":
            new_q, old_q = row["file_quality"], old["file_quality"]
            ratio = new_q["warping_error"] / old_q["warping_error"]
            line += (f"; warping error {new_q['warping_error']:.6f} vs "
                     f"{old_q['warping_error']:.6f} (x{ratio:.2f}); frames "
                     f"{report['psnr_vs_before'][method]:.1f} dB PSNR from the older "
                     f"revision's")
            target = TARGET_FPS.get(method)
            if target:
                verdict = "met" if row["fps"] >= target else "NOT met"
                line += f"; target >= {target:g} fps: {verdict}"
        print(line)


# -- the synthetic per-frame vs consistent comparison (issue 7) ----------------------------


def synthetic(args: argparse.Namespace) -> None:
    from pipelines.style.classical import ClassicalStyle
    from pipelines.style.types import StyleRequest
    from tests.style_fixtures import write_panning_video

    def run_once(video, style, out, method, consistent, measure):
        """One in-process run; seconds of the video path (style preparation left out)."""
        request = StyleRequest(video, style, out, method=method, consistent=consistent,
                               blend=args.blend, max_side=None, measure=measure)
        start = time.perf_counter()
        result = ClassicalStyle()(request)
        return result, time.perf_counter() - start - result.timings.get("prepare_style", 0.0)

    frames = args.frames or 48
    load_start = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="style-bench-"))
    video = write_panning_video(folder / "pan480.mp4", frames=frames, fps=24.0, width=854,
                                height=480, cut_at=frames // 2, noise=4.0)
    style = style_image(folder / "style.png", which=1, size=256)
    rows = []
    for method in args.methods.split(","):
        row = {"method": method}
        modes = (("per_frame", False), ("consistent", True))
        measured = {mode: run_once(video, style, folder / f"{method}-{mode}.mp4", method,
                                   consistent, True)[0] for mode, consistent in modes}
        times: dict[str, list[float]] = {mode: [] for mode, _ in modes}
        for i in range(args.repeats):  # interleaved, so drifting load hits both alike
            for mode, consistent in modes:
                _, seconds = run_once(video, style, folder / f"{method}-{mode}-{i}.mp4",
                                      method, consistent, False)
                times[mode].append(seconds)
        for mode, _ in modes:
            result, seconds = measured[mode], statistics.median(times[mode])
            row[mode] = {"warping_error": result.after["warping_error"],
                         "flicker": result.after["flicker"],
                         "fps": round(result.frames / seconds, 2),
                         "seconds": round(seconds, 3), "cuts": result.cuts}
        per, con = row["per_frame"], row["consistent"]
        row["warping_error_reduction"] = round(1 - con["warping_error"] / per["warping_error"], 3)
        row["cost_ratio"] = round(con["seconds"] / per["seconds"], 3)
        rows.append(row)
    print(f"480p video: {frames} frames, cut at {frames // 2}, blend {args.blend}, "
          f"median of {args.repeats}; load {load_start:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end")
    header = f"{'method':<10} {'mode':<11} {'warp err':>10} {'flicker':>9} {'fps':>7}"
    print(header + "   reduction / cost")
    print("-" * (len(header) + 20))
    for row in rows:
        for mode in ("per_frame", "consistent"):
            r = row[mode]
            tail = (f"   {row['warping_error_reduction']:.0%} lower, x{row['cost_ratio']:.2f} time"
                    if mode == "consistent" else "")
            print(f"{row['method']:<10} {mode:<11} {r['warping_error']:>10.6f} "
                  f"{r['flicker']:>9.5f} {r['fps']:>7.2f}{tail}")
    print("target: warping error at least 50% lower at no more than x1.5 the per-frame time")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "style_synthetic.json").write_text(
        json.dumps({"frames": frames, "blend": args.blend, "rows": rows}, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=None,
                        help="frames of the clip (default 100; 0: all of vtest.avi)")
    parser.add_argument("--methods", default=None,
                        help="comma-separated classical methods (default reinhard,painting)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", default=BEFORE,
                        help="git revision to compare with ('' to skip)")
    parser.add_argument("--no-metrics", action="store_true",
                        help="also time runs with --no-metrics")
    parser.add_argument("--synthetic", action="store_true",
                        help="the in-process per-frame vs consistent comparison instead")
    parser.add_argument("--blend", type=float, default=0.7, help="(--synthetic) blend weight")
    args = parser.parse_args()
    if args.synthetic:
        args.methods = args.methods or "reinhard,cartoon,painting"
        synthetic(args)
    else:
        args.frames = 100 if args.frames is None else args.frames
        args.methods = args.methods or "reinhard,painting"
        whole(args)


if __name__ == "__main__":
    main()
