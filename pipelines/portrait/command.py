"""``python cli.py animate IMAGE [--backend classical] [--frames 48] [--fps 24] ... -o OUT.mp4``.

The setting flags come from the task's schema (:mod:`pipelines.portrait.settings`); a flag left
out takes the chosen backend's default (SVD starts at 14 frames and 7 fps, for example).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.commands import add_task_arguments, apply_device, progress_bar
from pipelines.errors import InputError
from pipelines.portrait import TASK
from pipelines.portrait.job import finish
from pipelines.registry import Registry
from pipelines.task import run_job


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        TASK.command_name, help="animate a portrait: one picture in, a short video out",
        description="Animate a still picture. The classical backend needs no downloads; the "
                    "model backends need their weights (`python cli.py fetch ID`) and a GPU "
                    "(or --device cpu, slowly).",
    )
    p.add_argument("image", help="PNG, JPEG or WebP picture")
    p.add_argument("-o", "--output", required=True, help="where to write the video (.mp4 or .gif)")
    p.add_argument("--quiet", action="store_true", help="no progress bar on standard error")
    add_task_arguments(p, TASK, backend_default="classical")
    p.set_defaults(handler=run)


def run(registry: Registry, args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix.lower() not in (".mp4", ".gif"):
        raise InputError(f"Write the video to a .mp4 or .gif file; got '{out.name}'.")
    apply_device(args)
    with progress_bar(args.quiet) as report:
        result = finish(run_job(registry, TASK, args.backend, {"image": args.image},
                                TASK.settings.from_args(args), seed=args.seed, progress=report))
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.video if out.suffix.lower() == ".mp4" else result.gif, out)
    width, height = result.size
    print(f"{out}: {result.frames} frames, {width}x{height}, {result.fps:g} fps")
    for note in result.notes:
        print(f"note: {note}")
    print(f"run folder: {result.run_dir}")
    return 0
