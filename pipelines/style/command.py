"""``python cli.py style CONTENT STYLE [--backend classical] [--strength 0.8]
[--consistent] -o OUT``: one style job from the command line.

The setting flags come from the task's schema (:mod:`pipelines.style.settings`); the image
format comes from the output's suffix (``--format``, when given, must agree). A progress bar
with the stage, percent and time left is drawn on standard error (a long video is never
silent).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.commands import add_task_arguments, apply_device, progress_bar
from pipelines.errors import InputError
from pipelines.media import VIDEO_SUFFIXES
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine
from pipelines.style import TASK
from pipelines.style.job import DEFAULT_BACKEND, IMAGE_FORMATS, finish


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        TASK.command_name, help="transfer the style of an image onto an image or a video",
        description="Stylise CONTENT (image or video) after STYLE (an image). Videos keep their "
                    "audio; --consistent removes flicker with optical flow.",
    )
    parser.add_argument("content", help="content image or video")
    parser.add_argument("style", help="style image")
    parser.add_argument("-o", "--output", required=True,
                        help="output file (.png/.jpg/.webp for images, .mp4 for videos)")
    parser.add_argument("--style2", help="a second style image to interpolate with")
    parser.add_argument("--quiet", action="store_true", help="no progress bar on standard error")
    add_task_arguments(parser, TASK, backend_default=DEFAULT_BACKEND)
    parser.set_defaults(handler=handler)


def image_format(output: Path, content: str, asked: str | None = None) -> str | None:
    """The image format for ``output`` (None for a video), or InputError when the suffix does
    not fit the content or disagrees with the ``--format`` asked for."""
    fmt = output.suffix.lower().lstrip(".")
    is_video = Path(content).suffix.lower() in VIDEO_SUFFIXES
    if is_video != (fmt == "mp4") or (not is_video and fmt not in (*IMAGE_FORMATS, "jpeg")):
        raise InputError(f"Name the output '{output.name}' with .mp4 for a video content, or "
                         ".png, .jpg or .webp for an image.")
    if is_video:
        if asked is not None:
            raise InputError("Videos are written as MP4; leave out --format.")
        return None
    fmt = "jpg" if fmt == "jpeg" else fmt
    if asked is not None and asked != fmt:
        raise InputError(f"The output '{output.name}' is a .{fmt} file but --format is "
                         f"{asked}; name the output with .{asked} or leave out --format.")
    return fmt


def handler(registry: Registry, args: argparse.Namespace) -> int:
    out = Path(args.output)
    values = TASK.settings.from_args(args)
    fmt = image_format(out, args.content, values.pop("fmt", None))
    apply_device(args)
    if fmt is not None:
        values["fmt"] = fmt
    inputs = {"content": args.content, "style": args.style, "style2": args.style2}
    with progress_bar(args.quiet) as report:
        job = run_job_on_engine(registry, TASK, args.backend, inputs, values, seed=args.seed,
                                progress=report)
    result = finish(job)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.output, out)
    print(f"wrote {out} ({result.width}x{result.height}"
          + (f", {result.frames} frames" if result.is_video else "") + f"); run {job.run_dir}")
    if result.is_video and result.before:
        print(f"warping error {result.before['warping_error']:.5f} -> "
              f"{result.after['warping_error']:.5f}; flicker {result.before['flicker']:.5f} -> "
              f"{result.after['flicker']:.5f}; cuts at {result.cuts or 'none'}")
    for note in result.notes:
        print(f"note: {note}")
    return 0
