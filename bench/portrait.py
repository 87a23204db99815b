"""Portrait animation speed: the classical backend on the CPU; SVD-XT on a GPU when there is one.

Classical (always): frames per second rendering 48 frames of the 512x512 astronaut portrait, per
camera preset, side by side with the floor of the method (one bare bicubic ``cv2.remap`` per
frame with a precomputed map), plus the whole job (render, H.264 encode, GIF, preview).

SVD-XT (only with CUDA): the full-size UNet, VAE and image encoder built from their published
configs with random weights (speed and memory do not depend on weight values), fp16, 25 frames
at 576x1024, 25 steps. Seconds and peak GPU memory of a plain diffusers call, then the studio's
runner in each memory mode, with ratios against the plain call. Targets: studio path at most
1.05x plain; lowest-memory mode under 8 GB; torch.compile at least 1.2x faster than plain.
``--svd-smoke`` runs the same comparison with tiny components on the CPU (numbers meaningless)
to check the harness. Run from the repository root:

    python bench/portrait.py [--runs 3] [--frames 48] [--svd-smoke]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from pipelines.portrait.classical import ClassicalAnimator  # noqa: E402
from pipelines.portrait.svd import SVD_SCHEDULER_CONFIG  # noqa: E402
from pipelines.portrait.types import AnimateRequest, MotionSettings, SvdSettings  # noqa: E402
from pipelines.registry import Registry  # noqa: E402

GIB = 1024**3


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Classical


def bench_classical(runs: int, frames: int) -> None:
    from skimage import data

    image = data.astronaut()
    height, width = image.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    maps = [(xs + np.float32(np.sin(i / 7)), ys + np.float32(np.cos(i / 5))) for i in range(frames)]

    def bare() -> None:
        for map_x, map_y in maps:
            cv2.remap(image, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)

    floor = median_seconds(bare, runs)
    rows = [["bare cv2.remap (floor)", "-", f"{floor:.3f}", f"{frames / floor:.1f}", "1.00"]]
    for camera in ("none", "zoom_in", "pan", "orbit"):
        request = AnimateRequest(image, frames=frames, fps=24, seed=0,
                                 motion=MotionSettings(camera=camera))
        analyse = median_seconds(lambda r=request: ClassicalAnimator()(r), runs)
        clip = ClassicalAnimator()(request).frames
        render = median_seconds(lambda c=clip: [c[i] for i in range(len(c))], runs)
        rows.append([f"classical, camera={camera}", f"{analyse:.3f}", f"{render:.3f}",
                     f"{frames / render:.1f}", f"{render / floor:.2f}"])
    print(f"Classical backend, {width}x{height} x {frames} frames, CPU, median of {runs} runs\n")
    print(table(["renderer", "analyse s", "render s", "render fps", "x floor"], rows))

    from pipelines.portrait.job import animate
    from pipelines.portrait.specs import SPECS

    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["STUDIO_OUTPUTS"] = tmp
        registry = Registry(SPECS[:1])
        job = median_seconds(lambda: animate(registry, "portrait.classical", image,
                                             frames=frames, fps=24), runs)
    print(f"\nWhole job (analyse, render, H.264 MP4, GIF, preview strip): {job:.2f} s, "
          f"{frames / job:.1f} frames/s end to end\n")


# --------------------------------------------------------------------------------------------
# SVD-XT on a GPU


def svd_components(full: bool):
    """SVD-XT's components from the published configs (random weights), or tiny ones."""
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    if full:
        # diffusers' defaults for this class are SVD's published UNet config (25 frames).
        unet = UNetSpatioTemporalConditionModel(sample_size=96, num_frames=25)
        vae = AutoencoderKLTemporalDecoder(
            block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
            layers_per_block=2, latent_channels=4, sample_size=768,
        )  # fmt: skip
        encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(  # OpenCLIP ViT-H/14
            hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
            num_attention_heads=16, patch_size=14, image_size=224, projection_dim=1024,
            hidden_act="gelu",
        ))  # fmt: skip
    else:
        unet = UNetSpatioTemporalConditionModel(
            block_out_channels=(32, 64), layers_per_block=1, sample_size=32,
            down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
            up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
            cross_attention_dim=32, num_attention_heads=8,
            projection_class_embeddings_input_dim=96, addition_time_embed_dim=32, num_frames=4,
        )  # fmt: skip
        vae = AutoencoderKLTemporalDecoder(
            block_out_channels=(32, 32, 32), down_block_types=("DownEncoderBlock2D",) * 3,
        )
        encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=32, projection_dim=32, num_hidden_layers=1, num_attention_heads=4,
            image_size=224, intermediate_size=37, patch_size=32,
        ))  # fmt: skip
    scheduler = EulerDiscreteScheduler(**SVD_SCHEDULER_CONFIG)
    return dict(unet=unet, vae=vae, image_encoder=encoder, scheduler=scheduler,
                feature_extractor=CLIPImageProcessor())


def bench_svd(runs: int, smoke: bool) -> None:
    import torch
    from diffusers import StableVideoDiffusionPipeline
    from PIL import Image
    from skimage import data

    from pipelines.portrait.svd import SvdAnimator

    cuda = torch.cuda.is_available()
    if not cuda and not smoke:
        print("SVD-XT on a GPU: not measured here (no CUDA device on this machine). Run this "
              "script on a machine with an NVIDIA GPU for seconds and peak memory per mode.")
        return
    if not cuda:
        torch.set_num_threads(1)  # tiny models are per-op overhead; avoid OpenMP spinning
    device = "cuda" if cuda else "cpu"
    dtype = torch.float16 if cuda else torch.float32
    frames, steps, (width, height) = (25, 25, (1024, 576)) if not smoke else (2, 2, (64, 64))
    pipe = StableVideoDiffusionPipeline(**svd_components(full=not smoke)).to(device, dtype)
    pipe.set_progress_bar_config(disable=True)
    image = np.asarray(Image.fromarray(data.astronaut()).resize((width, height)))
    side = int((width * height) ** 0.5)

    def peak(fn: Callable[[], object]) -> tuple[float, float]:
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        seconds = median_seconds(lambda: (fn(), cuda and torch.cuda.synchronize()), runs)
        return seconds, (torch.cuda.max_memory_allocated() / GIB if cuda else float("nan"))

    def plain() -> None:
        with torch.inference_mode():
            pipe(Image.fromarray(image), height=height, width=width, num_frames=frames,
                 num_inference_steps=steps, decode_chunk_size=8, output_type="np",
                 generator=torch.Generator("cpu").manual_seed(0))

    plain()  # warm-up (kernels, allocator)
    base_s, base_gb = peak(plain)
    rows = [["plain diffusers call", f"{base_s:.2f}", f"{base_gb:.2f}", "1.00"]]
    runner = SvdAnimator(pipe, device, "float16" if cuda else "float32")
    for mode, chunk in (("gpu", 8), ("offload", 8), ("chunked", 2), ("low", 1), ("compile", 8)):
        request = AnimateRequest(image, frames=frames, fps=7, seed=0, svd=SvdSettings(
            steps=steps, decode_chunk_size=chunk, memory=mode, side=side))
        runner(request)  # warm-up: the mode switch, and compilation for 'compile'
        seconds, gb = peak(lambda r=request: runner(r))
        rows.append([f"studio, {mode} (decode chunk {chunk})", f"{seconds:.2f}", f"{gb:.2f}",
                     f"{seconds / base_s:.2f}"])
    what = "tiny components on the CPU (harness check only)" if smoke else \
        f"SVD-XT random weights, fp16, {frames} frames at {height}x{width}, {steps} steps"
    print(f"{what}, median of {runs} runs\n")
    print(table(["path", "seconds", "peak GPU GB", "x plain"], rows))
    print("\nTargets: studio 'gpu' at most 1.05x plain; 'low' under 8 GB; 'compile' at most "
          "0.83x plain (1.2x faster).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--svd-smoke", action="store_true",
                        help="run the SVD comparison with tiny components on the CPU")
    args = parser.parse_args()
    bench_classical(args.runs, args.frames)
    bench_svd(args.runs, args.svd_smoke)


if __name__ == "__main__":
    main()
