"""``python cli.py curate INPUT... --out DIR [--engine local|ray] [--address ADDR] [--workers N]``.

Inputs are video files, folders (searched recursively) or text files listing video paths. Writes
``DIR/manifest.jsonl`` (one row per shot; one error row per unreadable file), ``DIR/summary.json``,
keyframes and a contact sheet per video under ``DIR/videos/``, and optionally clips
(``--clips``) and WebDataset tar shards (``--shards``). A rerun skips videos already done.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from pipelines.curate.settings import CurateParams
from pipelines.registry import Registry

_FILTERS = (
    ("min_duration", "shots shorter than this many seconds are dropped as 'short'"),
    ("min_brightness", "shots with mean luma (0-255) below this are 'dark'"),
    ("max_brightness", "shots with mean luma above this are 'bright'"),
    ("min_sharpness", "shots whose median Laplacian variance is below this are 'blurry'"),
    ("min_motion", "shots with mean optical flow (%% of width per frame) below this are "
                   "'static' (0: off)"),
    ("max_motion", "shots with mean optical flow above this are 'shaky' (0: off)"),
    ("dedupe_bits", "keyframe perceptual hashes this many bits apart or closer are duplicates"),
    ("motion_pairs_per_second", "frame pairs per second whose optical flow is measured"),
    ("analysis_side", "longer side of the analysis frames, pixels"),
    ("shard_size", "samples per tar shard"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "curate", help="curate many videos: shots, filters, duplicates, manifest, clips, shards",
        description="Split every video into shots and write one manifest row per shot with its "
        "keyframe, motion, sharpness, brightness, duplicate and keep/reason into --out.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="video files, folders (recursive) or text files listing paths")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs")
    parser.add_argument("--engine", default="local", choices=("local", "ray", "inline"),
                        help="local: a process pool over the cores; ray: Ray tasks (a local "
                        "Ray unless --address or RAY_ADDRESS); inline: in this process")
    parser.add_argument("--address", default=None, metavar="ADDR",
                        help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="parallel workers (default: every core)")
    defaults = CurateParams()
    filters = parser.add_argument_group("filters and analysis")
    for name, help_text in _FILTERS:
        value = getattr(defaults, name)
        filters.add_argument("--" + name.replace("_", "-"), dest=name, type=type(value),
                             default=value, metavar="N",
                             help=f"{help_text} (default: {value})")  # fmt: skip
    outputs = parser.add_argument_group("optional outputs")
    outputs.add_argument("--clips", action="store_true", help="write one MP4 per kept shot")
    outputs.add_argument("--shards", action="store_true", help="write WebDataset tar shards")
    outputs.add_argument("--no-contact-sheets", dest="contact_sheets", action="store_false",
                         help="skip the contact sheet per video")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handler)


def handler(registry: Registry, args: argparse.Namespace) -> int:
    from pipelines.curate.run import MANIFEST, curate  # imported only when curating

    names = {f.name for f in dataclasses.fields(CurateParams)}
    params = CurateParams(**{k: v for k, v in vars(args).items() if k in names})
    summary = curate(args.inputs, args.out, params, engine=args.engine, workers=args.workers,
                     address=args.address, show_bar=not args.quiet)  # fmt: skip
    print(summary.text())
    print(f"manifest: {args.out}/{MANIFEST}; summary: {args.out}/summary.json")
    if summary.errors:
        print(f"{summary.errors} file(s) could not be read; see the rows with reason 'error'.",
              file=sys.stderr)
    return 0
