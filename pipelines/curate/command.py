"""``python cli.py curate INPUT... --out DIR [--engine local|ray] [--address ADDR] [--workers N]``.

Inputs are video files, folders (searched recursively) or text files listing video paths. Writes
``DIR/manifest.jsonl`` (one row per shot; one error row per unreadable file), ``DIR/summary.json``,
keyframes and a contact sheet per video under ``DIR/videos/``, and optionally clips
(``--clips``) and WebDataset tar shards (``--shards``). A rerun skips videos already done.
"""

from __future__ import annotations

import argparse
import sys

from pipelines.curate.settings import SETTINGS, SHOT_BACKENDS, CurateParams
from pipelines.registry import Registry


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
    SETTINGS.add_arguments(parser.add_argument_group("filters and analysis"))
    parser.add_argument("--shots", default="classical", choices=SHOT_BACKENDS,
                        help="what finds the shots: the classical detectors, or TransNetV2 "
                        "(keyframes.transnetv2; its weights must be fetched: python cli.py fetch "
                        "keyframes.transnetv2)")
    outputs = parser.add_argument_group("optional outputs")
    outputs.add_argument("--clips", action="store_true", help="write one MP4 per kept shot")
    outputs.add_argument("--shards", action="store_true", help="write WebDataset tar shards")
    outputs.add_argument("--no-contact-sheets", dest="contact_sheets", action="store_false",
                         help="skip the contact sheet per video")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handler)


def handler(registry: Registry, args: argparse.Namespace) -> int:
    from pipelines.curate.run import MANIFEST, curate, shot_weights  # only when curating

    params = CurateParams(**SETTINGS.from_args(args), clips=args.clips, shards=args.shards,
                          contact_sheets=args.contact_sheets, shot_backend=args.shots,
                          shot_weights=shot_weights(registry, args.shots))
    summary = curate(args.inputs, args.out, params, engine=args.engine, workers=args.workers,
                     address=args.address, show_bar=not args.quiet)  # fmt: skip
    print(summary.text())
    print(f"manifest: {args.out}/{MANIFEST}; summary: {args.out}/summary.json")
    if summary.errors:
        print(f"{summary.errors} file(s) could not be read; see the rows with reason 'error'.",
              file=sys.stderr)
    return 0
