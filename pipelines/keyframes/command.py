"""``python cli.py keyframes VIDEO --out DIR``: shots, keyframes, contact sheet and shot list.

Every setting of the task's schema is a flag (``--min-score``, ``--k``, ...), grouped as in the
tab's accordion; ``--seed`` seeds the clustering. The job runs in a run folder with its
manifest, which is then copied into ``DIR``: ``DIR/shots.json``, ``DIR/shots.csv``,
``DIR/contact_sheet.jpg``, ``DIR/scores.png``, ``DIR/keyframes/*`` and ``DIR/keyframes.zip``.
Progress (stage, percent, time left) goes to standard error.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.commands import add_task_arguments, apply_device, progress_bar
from pipelines.errors import InputError
from pipelines.keyframes import TASK
from pipelines.keyframes.settings import SECTIONS
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine

SHARED = ("seed",)  # the common --seed flag sets the clustering seed


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        TASK.command_name,
        help="detect shots and write keyframes, a contact sheet and the shot list",
        description="Detect shots in VIDEO, choose keyframes and write them with a contact "
        "sheet, shots.json/shots.csv and a plot of the change score into --out.",
    )
    parser.add_argument("video", metavar="VIDEO", help="the video file")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar on standard error")
    names = TASK.settings.names
    add_task_arguments(parser, TASK, skip=names)  # --backend, --seed, --device
    for _, title, section in SECTIONS:
        group = parser.add_argument_group(title.lower())
        TASK.settings.add_arguments(group, skip=[n for n in names
                                                 if n not in section or n in SHARED])
    parser.set_defaults(handler=handler)


def handler(registry: Registry, args: argparse.Namespace) -> int:
    from pipelines.keyframes.job import finish

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder (it is created if missing).")
    apply_device(args)
    with progress_bar(args.quiet) as report:
        job = finish(run_job_on_engine(registry, TASK, args.backend, {"video": args.video},
                                       TASK.settings.from_args(args), seed=args.seed,
                                       progress=report))
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(job.run_dir, out, dirs_exist_ok=True)
    result = job.result
    features = f", clustered on {result.features} features" if result.features else ""
    print(f"{Path(args.video).name}: {result.frame_count} frames at {result.fps:.3f} fps, "
          f"{len(result.shots)} shots, {len(result.keyframes)} keyframes{features}")  # fmt: skip
    print(f"shot list: {out / 'shots.json'} (and shots.csv)")
    print(f"contact sheet: {out / 'contact_sheet.jpg'}; keyframes: {out / 'keyframes'}")
    print(f"run folder: {job.run_dir} ({TASK.id}, manifest.json)")
    return 0
