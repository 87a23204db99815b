"""``python cli.py upscale INPUT [--backend classical] [--scale 2] [--tile N] -o OUTPUT``."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.errors import InputError
from pipelines.media import IMAGE_SUFFIXES
from pipelines.registry import Registry
from pipelines.super_res.base import TASK
from pipelines.super_res.job import (
    DEFAULT_BACKEND,
    IMAGE_FORMATS,
    ImageJob,
    VideoJob,
    run_image,
    run_video,
)

# A GIF is upscaled as one still image (its first frame).
IMAGE_INPUTS = IMAGE_SUFFIXES | {".gif"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "upscale", help="upscale an image or a video (super-resolution)",
        description="Upscale an image or a video. Images keep their alpha channel; videos keep "
                    "their audio and come out as H.264 MP4.",
    )  # fmt: skip
    parser.add_argument("input", metavar="INPUT", help="an image or a video file")
    parser.add_argument("--backend", default=DEFAULT_BACKEND,
                        help=f"backend id or short name, e.g. classical, swin2sr-x2, "
                             f"realesrgan-x4plus (default: {DEFAULT_BACKEND})")
    parser.add_argument("--scale", type=float, default=2.0, help="output scale, 1 to 8")
    parser.add_argument("--tile", type=int, default=0,
                        help="tile side in input pixels (default 0: chosen from free memory)")
    parser.add_argument("-o", "--output", help="where to copy the result (the run folder under "
                                               "outputs/ keeps it and its manifest as well)")
    parser.add_argument("--format", choices=IMAGE_FORMATS,
                        help="image output format (default: the -o suffix, else png)")
    parser.add_argument("--reference", help="high-resolution original: report PSNR/SSIM/LPIPS")
    parser.add_argument("--self-check", action="store_true",
                        help="without a reference: downscale, upscale back and score that")
    parser.set_defaults(handler=handle)


def _progress(fraction: float, desc: str = "") -> None:
    print(f"\r[{fraction:6.1%}] {desc:<60}", end="", flush=True)


def handle(registry: Registry, args: argparse.Namespace) -> int:
    source = Path(args.input)
    output = Path(args.output) if args.output else None
    is_image = source.suffix.lower() in IMAGE_INPUTS
    if is_image:
        suffix = output.suffix.lower().lstrip(".").replace("jpeg", "jpg") if output else ""
        if args.format and suffix and suffix != args.format:
            raise InputError(f"--format {args.format} does not match the output name "
                             f"'{output.name}'; make them agree.")
        fmt = args.format or suffix or "png"
        result = run_image(registry, ImageJob(
            source, args.backend, args.scale, args.tile, fmt,
            args.reference, args.self_check,
        ), _progress)  # fmt: skip
        print()
        size = result.output_size
        print(f"{TASK}: {source.name} {result.input_size[0]}x{result.input_size[1]} -> "
              f"{size[0]}x{size[1]} on {result.device} ({result.dtype})")
        if result.metrics:
            m = result.metrics
            print(f"{m['mode']}: PSNR {m['psnr']} dB, SSIM {m['ssim']}, LPIPS {m['lpips']}"
                  + (f" ({m['lpips_note']})" if m["lpips_note"] else ""))
    else:
        if output is not None and output.suffix.lower() != ".mp4":
            raise InputError(f"Videos are written as MP4; name the output '{output.stem}.mp4'.")
        result = run_video(registry, VideoJob(source, args.backend, args.scale, args.tile),
                           _progress)
        print()
        print(f"{TASK}: {result.frames} frames at {result.fps:g} fps, "
              f"{result.output_size[0]}x{result.output_size[1]}, "
              f"{'audio kept' if result.has_audio else 'no audio'}, "
              f"{result.frames_per_second:.2f} frames/s on {result.device} ({result.dtype})")
    for note in result.notes:
        print(f"note: {note}")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.output, output)
        print(f"wrote {output}")
    print(f"run folder: {result.run_dir}")
    return 0
