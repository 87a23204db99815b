"""``python cli.py upscale INPUT [--backend classical] [--scale 2] [--tile N] -o OUTPUT``.

The setting flags (``--scale``, ``--tile``, ``--format``, ``--self-check``) come from the task's
schema (:mod:`pipelines.super_res.settings`); progress goes to standard error.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.commands import add_task_arguments, apply_device, progress_bar
from pipelines.errors import InputError
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine
from pipelines.super_res import TASK
from pipelines.super_res.job import (
    DEFAULT_BACKEND,
    IMAGE_INPUTS,
    image_format,
    image_result,
    video_result,
)

__all__ = ["IMAGE_INPUTS", "handle", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        TASK.command_name, help="upscale an image or a video (super-resolution)",
        description="Upscale an image or a video. Images keep their alpha channel; videos keep "
                    "their audio and come out as H.264 MP4.",
    )  # fmt: skip
    parser.add_argument("input", metavar="INPUT", help="an image or a video file")
    parser.add_argument("-o", "--output", help="where to copy the result (the run folder under "
                                               "outputs/ keeps it and its manifest as well)")
    parser.add_argument("--reference", help="high-resolution original: report PSNR/SSIM/LPIPS")
    parser.add_argument("--quiet", action="store_true", help="no progress bar on standard error")
    add_task_arguments(parser, TASK, backend_default=DEFAULT_BACKEND)
    parser.set_defaults(handler=handle)


def handle(registry: Registry, args: argparse.Namespace) -> int:
    source = Path(args.input)
    output = Path(args.output) if args.output else None
    settings = TASK.settings.from_args(args)
    is_image = source.suffix.lower() in IMAGE_INPUTS
    if is_image:
        suffix = image_format(output.suffix) if output and output.suffix else ""
        if args.format and suffix and suffix != args.format:
            raise InputError(f"--format {args.format} does not match the output name "
                             f"'{output.name}'; make them agree.")
        settings["format"] = args.format or suffix or "png"
        inputs = {"image": str(source), "reference": args.reference}
    else:
        if output is not None and output.suffix.lower() != ".mp4":
            raise InputError(f"Videos are written as MP4; name the output '{output.stem}.mp4'.")
        if args.reference:
            raise InputError("--reference compares images; leave it out for a video.")
        inputs = {"video": str(source)}
    apply_device(args)
    with progress_bar(args.quiet) as report:
        out = run_job_on_engine(registry, TASK, args.backend, inputs, settings, seed=args.seed,
                                progress=report)
    if is_image:
        result = image_result(out)
        size = result.output_size
        print(f"{TASK.id}: {source.name} {result.input_size[0]}x{result.input_size[1]} -> "
              f"{size[0]}x{size[1]} on {result.device} ({result.dtype})")
        if result.metrics:
            m = result.metrics
            print(f"{m['mode']}: PSNR {m['psnr']} dB, SSIM {m['ssim']}, LPIPS {m['lpips']}"
                  + (f" ({m['lpips_note']})" if m["lpips_note"] else ""))
    else:
        result = video_result(out)
        print(f"{TASK.id}: {result.frames} frames at {result.fps:g} fps, "
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
