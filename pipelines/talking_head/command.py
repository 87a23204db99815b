"""``python cli.py talk IMAGE (AUDIO | --text "...") [--backend classical] -o OUT.mp4``.

``--compare classical,liveportrait`` runs several backends on the same inputs instead
(:func:`pipelines.talking_head.compare.compare`), prints each one's figures and writes the
side-by-side MP4 (copied to ``-o``).

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
from pipelines.talking_head.compare import HEADERS, cells, compare
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
    parser.add_argument("--compare", metavar="A,B[,...]",
                        help="run these backends (ids or short names) on the same inputs and "
                             "print their measured figures; -o gets the side-by-side MP4")
    add_task_arguments(parser, TASK, backend_default="classical")
    parser.set_defaults(handler=run)


def run(registry: Registry, args: argparse.Namespace) -> int:
    apply_device(args)
    inputs = {"face": args.face, "audio": args.audio, "text": args.text}
    if args.compare:
        return run_compare(registry, args, inputs)
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


def run_compare(registry: Registry, args: argparse.Namespace, inputs: dict) -> int:
    names = [n for n in args.compare.split(",") if n.strip()]
    with progress_bar(args.quiet) as report:
        result = compare(registry, names, inputs, TASK.settings.from_args(args), seed=args.seed,
                         progress=report)
    for note in result.notes:
        print(f"note: {note}")
    for row in result.rows:
        values = dict(zip(HEADERS, cells(row), strict=True))
        if not row.ok:
            print(f"{row.backend}: failed: {row.error}")
            continue
        figures = ", ".join(f"{k} {'n/a' if v is None else v}" for k, v in values.items()
                            if k not in ("backend", "result"))
        print(f"{row.backend}: {figures} -> {row.video}")
    if result.video is not None:
        print(f"side by side: {result.video}")
        if args.output is not None:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(result.video, args.output)
            print(f"copied to {args.output}")
    print(f"figures: {result.table}")
    return 0 if any(r.ok for r in result.rows) else 1
