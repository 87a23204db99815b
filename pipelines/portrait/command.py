"""``python cli.py animate IMAGE ... -o OUT.mp4`` and ``python cli.py edit IMAGE ... -o OUT.png``.

``animate`` animates a picture (image-to-video), or, with ``--driving VIDEO``, makes it follow a
driving video (``--backend classical`` or ``liveportrait``; ``--relative``/``--absolute``;
``--face N``). ``--last IMAGE`` gives an end picture and ``--keyframe IMAGE@FRAME[:STRENGTH]``
(repeatable) keyframes to the models that take them. ``edit`` edits one picture's expression
(``--eyes``, ``--lips``, ``--smile``, ``--brow``, ``--yaw``, ``--pitch``, ``--roll``,
``--gaze-x``, ``--gaze-y``) into a still. The setting flags come from the task's schema
(:mod:`pipelines.portrait.settings`); a flag left out takes the chosen backend's default (SVD
starts at 14 frames and 7 fps, for example).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pipelines.commands import DEVICES_HELP, add_task_arguments, apply_device, progress_bar
from pipelines.errors import InputError
from pipelines.portrait import TASK
from pipelines.portrait.job import finish, finish_edit
from pipelines.portrait.settings import EXPRESSION_NAMES
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine

EDIT_COMMAND = "edit"
STILL_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
# Settings the edit command takes (the rest belong to clips).
EDIT_SETTINGS = ("face", *EXPRESSION_NAMES)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        TASK.command_name, help="animate a portrait: one picture in, a short video out",
        description="Animate a still picture, or make it follow a driving video (--driving). "
                    "The classical backend needs no downloads beyond the face landmark model; "
                    "the model backends need their weights (`python cli.py fetch ID`) and a GPU "
                    "(or --device cpu, slowly).",
    )
    p.add_argument("image", help="PNG, JPEG or WebP picture")
    p.add_argument("-o", "--output", required=True,
                   help="where to write the video (.mp4 or .gif; with --still a picture)")
    p.add_argument("--quiet", action="store_true", help="no progress bar on standard error")
    p.add_argument("--driving", metavar="VIDEO", default=None,
                   help="a driving video: the picture's face follows its head, eyes, mouth and "
                        "brows (backends classical and liveportrait); the clip takes its frame "
                        "count, frame rate and audio")
    p.add_argument("--last", metavar="IMAGE", default=None,
                   help="an end picture, the same size as IMAGE (required by Wan 2.1 FLF2V, "
                        "taken by Wan 2.2 A14B and LTX-Video 0.9.7)")
    p.add_argument("--keyframe", metavar="IMAGE@FRAME[:STRENGTH]", action="append", default=[],
                   help="a picture the clip shows at FRAME (0-based), strength 0 to 1 (default "
                        "1); repeatable (LTX-Video 0.9.7)")
    add_task_arguments(p, TASK, backend_default="classical")
    p.add_argument("--absolute", dest="relative", action="store_false", default=None,
                   help="with --driving: copy the driver's own head pose and expression (the "
                        "same as --no-relative)")
    p.set_defaults(handler=run)

    e = subparsers.add_parser(
        EDIT_COMMAND, help="edit a portrait's expression: one picture in, one picture out",
        description="Edit one picture's face: eyes, lips, smile, brows, head turn and gaze "
                    "(backends classical and liveportrait).",
    )
    e.add_argument("image", help="PNG, JPEG or WebP picture")
    e.add_argument("-o", "--output", required=True, help="where to write the picture (.png, "
                   ".jpg or .webp)")
    e.add_argument("--quiet", action="store_true", help="no progress bar on standard error")
    names = ", ".join(s.id.split(".", 1)[1] for s in TASK.spec_list()
                      if TASK.group_of(s) in ("classical", "driven"))
    e.add_argument("--backend", default="classical", help=f"{names} (default: classical)")
    e.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    e.add_argument("--device", default=None, help=DEVICES_HELP)
    TASK.settings.add_arguments(e.add_argument_group("Expression settings"),
                                skip=[n for n in TASK.settings.names if n not in EDIT_SETTINGS])
    e.set_defaults(handler=run_edit)


def _inputs(args: argparse.Namespace) -> dict:
    inputs: dict = {"image": args.image}
    for key in ("driving", "last"):
        if getattr(args, key, None):
            inputs[key] = getattr(args, key)
    if getattr(args, "keyframe", None):
        inputs["keyframes"] = tuple(args.keyframe)
    return inputs


def run(registry: Registry, args: argparse.Namespace) -> int:
    out = Path(args.output)
    settings = TASK.settings.from_args(args)
    if settings.get("still"):
        return _edit(registry, args, settings)
    if out.suffix.lower() not in (".mp4", ".gif"):
        raise InputError(f"Write the video to a .mp4 or .gif file; got '{out.name}'.")
    apply_device(args)
    with progress_bar(args.quiet) as report:
        result = finish(run_job_on_engine(registry, TASK, args.backend, _inputs(args), settings,
                                          seed=args.seed, progress=report))
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.video if out.suffix.lower() == ".mp4" else result.gif, out)
    width, height = result.size
    print(f"{out}: {result.frames} frames, {width}x{height}, {result.fps:g} fps")
    for note in result.notes:
        print(f"note: {note}")
    print(f"run folder: {result.run_dir}")
    return 0


def run_edit(registry: Registry, args: argparse.Namespace) -> int:
    return _edit(registry, args, {**TASK.settings.from_args(args), "still": True})


def _edit(registry: Registry, args: argparse.Namespace, settings: dict) -> int:
    out = Path(args.output)
    if out.suffix.lower() not in STILL_SUFFIXES:
        raise InputError(f"Write the edited picture to a .png, .jpg or .webp file; got "
                         f"'{out.name}'.")
    apply_device(args)
    with progress_bar(args.quiet) as report:
        result = finish_edit(run_job_on_engine(registry, TASK, args.backend, _inputs(args),
                                               settings, seed=args.seed, progress=report))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".png":
        shutil.copyfile(result.image, out)
    else:
        from pipelines.media import load_image, save_image

        save_image(out, load_image(result.image).rgb)
    width, height = result.size
    print(f"{out}: edited picture, {width}x{height}")
    for note in result.notes:
        print(f"note: {note}")
    print(f"run folder: {result.run_dir}")
    return 0
