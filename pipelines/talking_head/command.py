"""``python cli.py talk IMAGE (AUDIO | --text "...") [--backend classical] -o OUT.mp4``."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.registry import Registry
from pipelines.talking_head import speech
from pipelines.talking_head.job import TalkOptions, talk


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "talk", help="make a portrait (or face video) speak an audio file or typed text",
        description="A lip-synced MP4 (25 fps, audio muxed in) from a portrait image or a short "
                    "face video, and an audio file or text spoken with espeak-ng.",
    )
    parser.add_argument("face", metavar="IMAGE", help="portrait image, or a short face video")
    parser.add_argument("audio", metavar="AUDIO", nargs="?",
                        help="speech: wav, mp3, m4a, ogg or flac")
    parser.add_argument("--text", help="text to speak with espeak-ng instead of an audio file")
    parser.add_argument("--voice", default="en", help="espeak-ng voice (default: en)")
    parser.add_argument("--rate", type=int, default=speech.DEFAULT_RATE,
                        help=f"speaking rate in words per minute (default: {speech.DEFAULT_RATE})")
    parser.add_argument("--backend", default="classical",
                        help="classical (default), wav2lip-gan, wav2lip, or a full backend id")
    parser.add_argument("-o", "--output", type=Path, help="also copy the MP4 here")
    parser.add_argument("--seed", type=int, default=0, help="blink and head-motion seed")
    parser.add_argument("--no-blinks", action="store_true", help="keep the eyes open")
    parser.add_argument("--head-motion", type=float, default=1.0,
                        help="head motion amount, 0 (still) to 3 (default: 1)")
    parser.add_argument("--mouth", type=float, default=1.0,
                        help="classical: how far the mouth opens, 0 to 2 (default: 1)")
    parser.add_argument("--max-side", type=int, default=1280,
                        help="scale larger inputs down to this longer side (default: 1280)")
    parser.add_argument("--batch-size", type=int, default=16, help="Wav2Lip crops per pass")
    parser.add_argument("--chin-padding", type=float, default=0.2,
                        help="Wav2Lip: extend the face crop down by this fraction (default: 0.2)")
    parser.add_argument("--sharpen", metavar="SUPER_RES_ID",
                        help="Wav2Lip: sharpen mouth crops with this super-resolution backend")
    parser.set_defaults(handler=run)


def run(registry: Registry, args: argparse.Namespace) -> int:
    options = TalkOptions(
        backend=args.backend, voice=args.voice, rate=args.rate, blinks=not args.no_blinks,
        head_motion=args.head_motion, mouth_strength=args.mouth, seed=args.seed,
        max_side=args.max_side, batch_size=args.batch_size, chin_padding=args.chin_padding,
        sharpen=args.sharpen,
    )

    def report(fraction: float, desc: str) -> None:
        print(f"\r{desc}: {fraction:4.0%}", end="", flush=True)

    job = talk(registry, args.face, args.audio, args.text, options, progress=report)
    print()
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
