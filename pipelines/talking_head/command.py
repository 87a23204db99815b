"""``python cli.py talk IMAGE (AUDIO | --text "...") [--backend classical] -o OUT.mp4``.

The setting flags (``--voice``, ``--rate``, ``--no-blinks``, ``--head-motion``, ``--mouth``,
``--max-side``, ``--batch-size``, ``--chin-padding``, ``--sharpen``) come from the task's schema
(:mod:`pipelines.talking_head.settings`); a progress bar with the stage, percent and time left
is drawn on standard error.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.commands import add_task_arguments, apply_device, progress_bar
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine
from pipelines.talking_head import TASK
from pipelines.talking_head.job import finish


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        TASK.command_name,
        help="make a portrait (or face video) speak an audio file or typed text",
        description="A lip-synced MP4 (25 fps, audio muxed in) from a portrait image or a short "
                    "face video, and an audio file or text spoken with espeak-ng.",
    )
    parser.add_argument("face", metavar="IMAGE", help="portrait image, or a short face video")
    parser.add_argument("audio", metavar="AUDIO", nargs="?",
                        help="speech: wav, mp3, m4a, ogg or flac")
    parser.add_argument("--text", help="text to speak with espeak-ng instead of an audio file")
    parser.add_argument("-o", "--output", type=Path, help="also copy the MP4 here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar on standard error")
    add_task_arguments(parser, TASK, backend_default="classical")
    parser.set_defaults(handler=run)


def run(registry: Registry, args: argparse.Namespace) -> int:
    apply_device(args)
    inputs = {"face": args.face, "audio": args.audio, "text": args.text}
    with progress_bar(args.quiet) as report:
        job = finish(run_job_on_engine(registry, TASK, args.backend, inputs,
                                       TASK.settings.from_args(args), seed=args.seed,
                                       progress=report))
    for note in job.notes:
        print(f"note: {note}")
    result = job.result
    print(f"{result.frames} frames at {result.fps:g} fps for {result.audio_seconds:.2f} s of "
          f"audio -> {job.video}")
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(job.video, args.output)
        print(f"copied to {args.output}")
    print(f"manifest: {job.manifest}")
    return 0
