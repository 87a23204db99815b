"""``python cli.py style CONTENT STYLE [--backend classical] [--strength 0.8]
[--consistent] -o OUT``: one style job from the command line."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.errors import InputError
from pipelines.media import VIDEO_SUFFIXES
from pipelines.registry import Registry
from pipelines.style.job import DEFAULT_BACKEND, IMAGE_FORMATS, StyleJob, run_job
from pipelines.style.types import CLASSICAL_METHODS


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "style", help="transfer the style of an image onto an image or a video",
        description="Stylise CONTENT (image or video) after STYLE (an image). Videos keep their "
                    "audio; --consistent removes flicker with optical flow.",
    )
    parser.add_argument("content", help="content image or video")
    parser.add_argument("style", help="style image")
    parser.add_argument("-o", "--output", required=True,
                        help="output file (.png/.jpg/.webp for images, .mp4 for videos)")
    parser.add_argument("--backend", default=DEFAULT_BACKEND,
                        help="backend id or short name: classical (default), adain")
    parser.add_argument("--method", default="reinhard", choices=CLASSICAL_METHODS,
                        help="classical method (default reinhard)")
    parser.add_argument("--strength", type=float, default=0.8,
                        help="0 keeps the content, 1 is full style (AdaIN: alpha); default 0.8")
    parser.add_argument("--style2", help="a second style image to interpolate with")
    parser.add_argument("--mix", type=float, default=0.5, help="weight of --style2 (0..1)")
    parser.add_argument("--keep-colours", action="store_true",
                        help="keep the content's colours, take only tone and texture")
    parser.add_argument("--consistent", action=argparse.BooleanOptionalAction, default=True,
                        help="video: flow-based temporal consistency (default on)")
    parser.add_argument("--blend", type=float, default=0.7,
                        help="video: weight of the warped previous frame (0..0.95)")
    parser.add_argument("--max-side", type=int, default=1024,
                        help="longest side processed, in pixels (default 1024)")
    parser.add_argument("--no-metrics", action="store_true",
                        help="video: skip the warping-error and flicker measurements")
    parser.set_defaults(handler=handler)


def handler(registry: Registry, args: argparse.Namespace) -> int:
    out = Path(args.output)
    fmt = out.suffix.lower().lstrip(".")
    is_video = Path(args.content).suffix.lower() in VIDEO_SUFFIXES
    if is_video != (fmt == "mp4") or (not is_video and fmt not in (*IMAGE_FORMATS, "jpeg")):
        raise InputError(f"Name the output '{out.name}' with .mp4 for a video content, or "
                         ".png, .jpg or .webp for an image.")
    job = StyleJob(
        content=args.content, style=args.style, backend=args.backend, style2=args.style2,
        mix=args.mix, method=args.method, strength=args.strength, keep_colours=args.keep_colours,
        consistent=args.consistent, blend=args.blend, max_side=args.max_side,
        fmt="jpg" if fmt == "jpeg" else (fmt if fmt in IMAGE_FORMATS else "png"),
        measure=not args.no_metrics,
    )
    run, result = run_job(registry, job)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.output, out)
    print(f"wrote {out} ({result.width}x{result.height}"
          + (f", {result.frames} frames" if result.is_video else "") + f"); run {run.path}")
    if result.is_video and result.before:
        print(f"warping error {result.before['warping_error']:.5f} -> "
              f"{result.after['warping_error']:.5f}; flicker {result.before['flicker']:.5f} -> "
              f"{result.after['flicker']:.5f}; cuts at {result.cuts or 'none'}")
    for note in result.notes:
        print(f"note: {note}")
    return 0
