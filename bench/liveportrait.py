"""LivePortrait speed: full-size networks with random weights, per stage and per frame.

Speed does not depend on weight values, so the five networks are built at the published sizes
(seeded random weights), saved as the Hub repo's five .pth files in a temporary folder and
loaded through the registry exactly as the real download would be. Then:

- parameters per network (and float32 megabytes: the published files' sizes);
- each stage on one 256x256 crop: motion extractor, appearance extractor (once per source),
  warping module, SPADE generator, stitching MLP (median of ``--runs``);
- whole frames through ``runner.animate`` on scikit-image's astronaut (512x512) driven by shifted
  copies of itself: crop, motion, warp, decode, stitch and feathered paste-back (median of
  ``--frames`` after one warm-up frame), and the share of that spent outside the networks.

The authors document about 12.8 ms per frame on an RTX 4090 (warping + decoding with
torch.compile, fp16; README of KwaiVGI/LivePortrait). It is printed beside our figure labelled
documented-by-authors; the ratio means something only when this runs on a comparable GPU.

Run from the repository root:

    python bench/liveportrait.py [--runs 3] [--frames 3] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tables import text_table as table  # noqa: E402

PUBLISHED_MS_PER_FRAME = 12.8  # RTX 4090, documented-by-authors (LivePortrait README)


def load_average() -> str:
    """The 1-minute load average over the core count: other work sharing the CPU slows ours."""
    try:
        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return "unknown"


def median_seconds(fn: Callable[[], object], runs: int, sync: Callable[[], None]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def save_full_size(folder: Path) -> dict[str, int]:
    """Seeded full-size networks saved as the five published files; parameters per network."""
    import torch

    from pipelines.portrait.liveportrait.config import RETARGETING_KEYS, merged
    from pipelines.portrait.liveportrait.networks import NETWORK_FILES, build_networks

    torch.manual_seed(0)
    nets = build_networks(merged())
    for name, rel in NETWORK_FILES.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        if name in nets:
            torch.save(nets[name].state_dict(), folder / rel)
    bundle = {entry: nets[key].state_dict() for key, entry in RETARGETING_KEYS.items()}
    torch.save(bundle, folder / NETWORK_FILES["stitching_retargeting_module"])
    return {name: sum(p.numel() for p in net.parameters()) for name, net in nets.items()}


def stage_flops() -> dict[str, float]:
    """Floating-point operations (multiply and add counted apart) of each network on one 256x256
    crop, counted by torch's FlopCounterMode on the meta device: exact and load-independent."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from pipelines.portrait.liveportrait.config import merged
    from pipelines.portrait.liveportrait.networks import build_networks

    with torch.device("meta"):
        nets = build_networks(merged())
        x, kp = torch.empty(1, 3, 256, 256), torch.empty(1, 21, 3)
        volume, warped = torch.empty(1, 32, 16, 64, 64), torch.empty(1, 256, 64, 64)
    calls = {
        "motion": lambda: nets["motion_extractor"](x),
        "appearance": lambda: nets["appearance_feature_extractor"](x),
        "warping": lambda: nets["warping_module"](volume, kp, kp),
        "spade": lambda: nets["spade_generator"](warped),
    }
    out = {}
    for name, call in calls.items():
        with FlopCounterMode(display=False) as counter, torch.inference_mode():
            call()
        out[name] = counter.get_total_flops()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per stage")
    parser.add_argument("--frames", type=int, default=3, help="timed whole frames")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: the best)")
    args = parser.parse_args()

    import torch
    from skimage import data

    from pipelines.portrait.liveportrait import motion as mo
    from pipelines.portrait.liveportrait.crop import Crop, PasteBack
    from pipelines.portrait.liveportrait.specs import SPECS
    from pipelines.registry import Registry

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "LivePortrait"
        params = save_full_size(folder)
        registry = Registry(SPECS)
        registry.replace("portrait.liveportrait", repo_id=str(folder))
        start = time.perf_counter()
        runner = registry.load("portrait.liveportrait", device=args.device)
        load_s = time.perf_counter() - start

    device, dtype = runner.device, runner.dtype
    flops = stage_flops()
    cuda = device.startswith("cuda")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    print(f"LivePortrait, full size, random weights: device {device}, {dtype}, "
          f"torch threads {torch.get_num_threads()}, load through the registry "
          f"{load_s:.1f} s, load average {load_average()}\n")  # fmt: skip
    rows = [[name, f"{n / 1e6:.2f} M", f"{n * 4 / 2**20:.1f} MB"] for name, n in params.items()]
    rows.append(["total", f"{sum(params.values()) / 1e6:.2f} M",
                 f"{sum(params.values()) * 4 / 2**20:.1f} MB"])  # fmt: skip
    print(table(["network", "parameters", "float32"], rows), "\n")

    nets = runner.modules()
    crop = np.ascontiguousarray(data.astronaut()[::2, ::2])  # 256x256
    with torch.inference_mode():
        x = runner._tensor(crop)
        info = runner._keypoints(x)
        f_s = runner._appearance(x)
        x_s = mo.source_keypoints(info)
        x_d = x_s + 0.01
        warped = runner._nets["warping_module"](f_s, kp_driving=x_d, kp_source=x_s)["out"]

        def stage(fn):
            def run():
                with runner._autocast():
                    fn()

            run()  # warm-up (cuDNN autotuning, allocator)
            sync()
            return median_seconds(run, args.runs, sync)

        stages = {
            "motion": stage(lambda: nets["motion_extractor"](x)),
            "appearance": stage(lambda: nets["appearance_feature_extractor"](x)),
            "warping": stage(lambda: nets["warping_module"](f_s, kp_driving=x_d, kp_source=x_s)),
            "spade": stage(lambda: nets["spade_generator"](warped)),
            "stitching": stage(lambda: runner._stitch(x_s, x_d)),
        }
    source = np.ascontiguousarray(data.astronaut())  # 512x512
    render = np.ascontiguousarray(data.astronaut())  # stands in for a 512x512 render
    square = Crop.around((175, 45, 130, 150))

    def crop_and_paste() -> None:
        square.cut(source)
        PasteBack(source, square, 512)(render)

    stages["crop + paste-back"] = median_seconds(crop_and_paste, args.runs, sync)
    labels = {
        "motion": "motion extractor (per driving frame)",
        "appearance": "appearance extractor (once per source)",
        "warping": "warping module",
        "spade": "SPADE generator (512x512 out)",
        "stitching": "stitching MLP",
        "crop + paste-back": "crop + feathered paste-back (512x512)",
    }
    rows = []
    for key, seconds in stages.items():
        gflop = flops.get(key)
        rows.append([labels[key], f"{seconds * 1000:.1f}",
                     f"{gflop / 1e9:.1f}" if gflop else "-",
                     f"{gflop / 1e9 / seconds:.1f}" if gflop else "-"])  # fmt: skip
    print(table(["stage (256x256 crop)", "median ms", "GFLOP", "GFLOP/s"], rows), "\n")

    driving = [np.roll(source, 3 * i, axis=1) for i in range(args.frames + 1)]
    times = []
    last = time.perf_counter()
    for frame in runner.animate(source, driving):  # the face from the Haar fallback
        assert frame.shape == source.shape
        sync()
        now = time.perf_counter()
        times.append(now - last)
        last = now
    per_frame = statistics.median(times[1:])  # the first frame also prepares the source
    per_stage = sum(v for k, v in stages.items() if k != "appearance")
    frame_flops = sum(v for k, v in flops.items() if k != "appearance")
    rows = [
        ["whole frame, 512x512 source (ours, measured)", f"{per_frame * 1000:.1f}",
         f"{1 / per_frame:.3f}"],
        ["sum of the per-frame stages above", f"{per_stage * 1000:.1f}",
         f"{1 / per_stage:.3f}"],
        ["RTX 4090, documented-by-authors", f"{PUBLISHED_MS_PER_FRAME:.1f}",
         f"{1000 / PUBLISHED_MS_PER_FRAME:.1f}"],
    ]  # fmt: skip
    print(table(["per frame", "ms", "fps"], rows))
    print(
        f"\nper driving frame: {frame_flops / 1e9:.0f} GFLOP; whole frame / sum of stages "
        f"{per_frame / per_stage:.2f}; crop + paste-back share of the frame "
        f"{stages['crop + paste-back'] / per_frame:.4f}; load average now {load_average()}"
    )
    ratio = per_frame * 1000 / PUBLISHED_MS_PER_FRAME
    where = "a GPU: comparable" if cuda else "the CPU: not comparable with the GPU figure"
    print(f"\nours / documented: {ratio:.1f}x (measured on {where})")


if __name__ == "__main__":
    main()
