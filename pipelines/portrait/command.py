"""``python cli.py animate IMAGE [--backend classical] [--frames 48] [--fps 24] ... -o OUT.mp4``."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from pipelines.errors import InputError
from pipelines.portrait.job import animate
from pipelines.portrait.request import (
    CAMERA_PRESETS,
    FITS,
    MEMORY_MODES,
    DitSettings,
    MotionSettings,
    SvdSettings,
)
from pipelines.portrait.specs import DEFAULTS
from pipelines.registry import Registry

MOTIONS = ("breathing", "sway", "blink")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "animate", help="animate a portrait: one picture in, a short video out",
        description="Animate a still picture. The classical backend needs no downloads; the "
                    "model backends need their weights (`python cli.py fetch ID`) and a GPU.",
    )
    p.add_argument("image", help="PNG, JPEG or WebP picture")
    p.add_argument("-o", "--output", required=True, help="where to write the video (.mp4 or .gif)")
    p.add_argument("--backend", default="classical",
                   help="backend id or its short name: classical, svd, svd-xt, ltx-video")
    p.add_argument("--frames", type=int, help="number of frames (default: the backend's)")
    p.add_argument("--fps", type=float, help="frames per second (default: the backend's)")
    p.add_argument("--seed", type=int, default=0)
    classical = p.add_argument_group("classical backend")
    classical.add_argument("--motion", default=",".join(MOTIONS),
                           help=f"comma-separated motions from {', '.join(MOTIONS)}, or 'none'")
    classical.add_argument("--camera", choices=CAMERA_PRESETS, default=MotionSettings.camera)
    classical.add_argument("--strength", type=float, default=1.0, help="motion strength, 0-3")
    classical.add_argument("--camera-strength", type=float, default=1.0, help="0-3")
    classical.add_argument("--loop", action=argparse.BooleanOptionalAction, default=True,
                           help="make the clip loop seamlessly (default: on)")
    classical.add_argument("--max-side", type=int, default=MotionSettings.max_side,
                           help="animate larger pictures at this size (longer side)")
    models = p.add_argument_group("model backends (SVD, LTX-Video)")
    models.add_argument("--steps", type=int, help="sampling steps")
    models.add_argument("--memory", choices=MEMORY_MODES, default="gpu")
    models.add_argument("--fit", choices=FITS, default="crop",
                        help="fit the picture to the model's size by cropping or padding")
    models.add_argument("--side", type=int, help="model resolution, about SIDE x SIDE pixels")
    models.add_argument("--motion-bucket", type=int, default=SvdSettings.motion_bucket_id)
    models.add_argument("--noise-aug", type=float, default=SvdSettings.noise_aug_strength)
    models.add_argument("--decode-chunk", type=int, default=SvdSettings.decode_chunk_size)
    models.add_argument("--prompt", default=DitSettings.prompt)
    models.add_argument("--negative-prompt", default=DitSettings.negative_prompt)
    models.add_argument("--guidance", type=float, default=DitSettings.guidance)
    p.set_defaults(handler=run)


def _motion(args: argparse.Namespace) -> MotionSettings:
    chosen = {m.strip() for m in args.motion.split(",") if m.strip()} - {"none"}
    unknown = chosen - set(MOTIONS)
    if unknown:
        raise InputError(f"Unknown motion(s) {', '.join(sorted(unknown))}; use "
                         f"{', '.join(MOTIONS)} or none.")
    return MotionSettings(camera=args.camera, camera_strength=args.camera_strength,
                          breathing="breathing" in chosen, sway="sway" in chosen,
                          blink="blink" in chosen, strength=args.strength, loop=args.loop,
                          max_side=args.max_side)


def run(registry: Registry, args: argparse.Namespace) -> int:
    spec_id = args.backend if "." in args.backend else f"portrait.{args.backend}"
    out = Path(args.output)
    if out.suffix.lower() not in (".mp4", ".gif"):
        raise InputError(f"Write the video to a .mp4 or .gif file; got '{out.name}'.")
    defaults = DEFAULTS.get(spec_id, DEFAULTS["portrait.classical"])
    svd = SvdSettings(motion_bucket_id=args.motion_bucket, noise_aug_strength=args.noise_aug,
                      steps=args.steps or SvdSettings.steps, decode_chunk_size=args.decode_chunk,
                      memory=args.memory, fit=args.fit, side=args.side or SvdSettings.side)
    dit = DitSettings(prompt=args.prompt, negative_prompt=args.negative_prompt,
                      guidance=args.guidance, steps=args.steps or DitSettings.steps,
                      memory=args.memory, fit=args.fit, side=args.side or DitSettings.side)

    live = sys.stderr.isatty()

    def progress(fraction: float, desc: str) -> None:
        if live:
            print(f"\r{fraction:4.0%} {desc:<60}", end="", file=sys.stderr, flush=True)

    try:
        result = animate(
            registry, spec_id, args.image,
            frames=args.frames or int(defaults["frames"]), fps=args.fps or defaults["fps"],
            seed=args.seed, motion=_motion(args), svd=svd, dit=dit, progress=progress,
        )
    finally:
        if live:
            print(file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.video if out.suffix.lower() == ".mp4" else result.gif, out)
    width, height = result.size
    print(f"{out}: {result.frames} frames, {width}x{height}, {result.fps:g} fps")
    for note in result.notes:
        print(f"note: {note}")
    print(f"run folder: {result.run_dir}")
    return 0
