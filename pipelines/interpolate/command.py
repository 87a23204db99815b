"""``python cli.py interpolate VIDEO (--factor N | --fps F) [--backend classical|rife] [--slowmo]
-o OUT.mp4``."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.commands import add_task_arguments, apply_device, progress_bar
from pipelines.errors import InputError
from pipelines.interpolate import TASK
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        TASK.command_name, help="make more frames: 2-8x the frame rate, a target fps, or slow "
                                "motion (scene-cut aware)",
        description="Frame interpolation (super-resolution in time). The classical backend "
                    "needs no downloads; rife needs its weights (`python cli.py fetch "
                    "interpolate.rife`).")
    p.add_argument("video", help="the video to interpolate")
    p.add_argument("-o", "--output", required=True, help="where to write the MP4")
    p.add_argument("--quiet", action="store_true", help="no progress bar on standard error")
    add_task_arguments(p, TASK, backend_default="classical")
    p.set_defaults(handler=run)


def run(registry: Registry, args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix.lower() != ".mp4":
        raise InputError(f"Write the interpolated video to a .mp4 file; got '{out.name}'.")
    if args.fps and args.factor:
        raise InputError("Give either --factor or --fps, not both.")
    apply_device(args)
    with progress_bar(args.quiet) as report:
        result = run_job_on_engine(registry, TASK, args.backend, {"video": args.video},
                                   TASK.settings.from_args(args), seed=args.seed, progress=report)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.outputs["video"], out)
    print(f"{out}: {result.summary}")
    for note in result.notes:
        print(f"note: {note}")
    print(f"run folder: {result.run_dir}")
    return 0
