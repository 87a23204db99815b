"""``python cli.py keyframes VIDEO --out DIR``: shots, keyframes, contact sheet and shot list.

Every setting of the tab's accordion is a flag (``--min-score``, ``--k``, ...). The job runs in a
run folder with its manifest, which is then copied into ``DIR``: ``DIR/shots.json``,
``DIR/shots.csv``, ``DIR/contact_sheet.jpg``, ``DIR/scores.png``, ``DIR/keyframes/*`` and
``DIR/keyframes.zip``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.errors import InputError
from pipelines.keyframes.job import TASK, run_keyframes
from pipelines.keyframes.settings import KNOBS, settings_from
from pipelines.registry import Registry


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "keyframes",
        help="detect shots and write keyframes, a contact sheet and the shot list",
        description="Detect shots in VIDEO, choose keyframes and write them with a contact "
        "sheet, shots.json/shots.csv and a plot of the change score into --out.",
    )
    parser.add_argument("video", metavar="VIDEO", help="the video file")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs")
    parser.add_argument("--backend", default=None, metavar="ID",
                        help="keyframe backend id (default: keyframes.classical)")  # fmt: skip
    groups = {
        "detector": parser.add_argument_group("shot detection"),
        "weights": parser.add_argument_group("frame distance weights"),
        "select": parser.add_argument_group("keyframe selection"),
        "run": parser.add_argument_group("analysis and output"),
    }
    for knob in KNOBS:
        kind = str if knob.choices else int if knob.integer else float
        groups[knob.group].add_argument(
            _flag(knob.name), dest=knob.name, type=kind, default=None,
            choices=knob.choices or None, metavar=None if knob.choices else "N",
            help=f"{knob.help} (default: {knob.default})",
        )  # fmt: skip
    parser.set_defaults(handler=handler)


def handler(registry: Registry, args: argparse.Namespace) -> int:
    settings = settings_from({k.name: getattr(args, k.name) for k in KNOBS})
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder (it is created if missing).")
    job = run_keyframes(registry, args.video, settings, spec_id=args.backend, progress=None)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(job.run_dir, out, dirs_exist_ok=True)
    result = job.result
    features = f", clustered on {result.features} features" if result.features else ""
    print(f"{Path(args.video).name}: {result.frame_count} frames at {result.fps:.3f} fps, "
          f"{len(result.shots)} shots, {len(result.keyframes)} keyframes{features}")  # fmt: skip
    print(f"shot list: {out / 'shots.json'} (and shots.csv)")
    print(f"contact sheet: {out / 'contact_sheet.jpg'}; keyframes: {out / 'keyframes'}")
    print(f"run folder: {job.run_dir} ({TASK}, manifest.json)")
    return 0
