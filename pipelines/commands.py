"""What every task's CLI command shares: flags from the settings schema, a progress bar on
standard error, ``--device``, and a generic command for tasks that declare none.

A task's own command module (``Task.command``) adds its positional inputs and output options
and calls :func:`add_task_arguments` for the rest; a task without one is served by
:func:`register_generic` from its :class:`~pipelines.task.Task` alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from pipelines.errors import InputError
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine
from pipelines.task import Progress, Task, argparse_help

DEVICES_HELP = ("run model backends on this device: auto (cuda, then mps, then cpu), cuda, "
                "cuda:N, mps or cpu; an explicit cpu runs GPU models too, slowly")


def add_task_arguments(parser: argparse.ArgumentParser, task: Task, *,
                       skip: tuple[str, ...] = (), backend_default: str | None = None) -> None:
    """``--backend``, ``--seed``, ``--device`` and one flag per setting of ``task``."""
    names = ", ".join(s.id.split(".", 1)[1] for s in task.spec_list())
    parser.add_argument("--backend", default=backend_default,
                        help=f"backend id or its short name ({names}; default: classical)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--device", default=None, help=DEVICES_HELP)
    task.settings.add_arguments(parser.add_argument_group(f"{task.title} settings"), skip=skip)


def apply_device(args: argparse.Namespace) -> None:
    """``--device`` sets ``STUDIO_DEVICE`` for this process (the registry reads it)."""
    device = getattr(args, "device", None)
    if device:
        os.environ["STUDIO_DEVICE"] = device


class ProgressBar:
    """A one-line progress bar on standard error: stage, percent, elapsed and time left.

    On a terminal the line is redrawn in place; otherwise (a log file, CI) a line is printed at
    most every ``every`` seconds and at each new stage, so long jobs never go silent.
    """

    def __init__(self, stream: TextIO | None = None, every: float = 5.0, width: int = 24):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.every = every
        self.width = width
        self.start = time.monotonic()
        self._last_print = -1e9
        self._last_desc = ""
        self._drawn = False

    def line(self, fraction: float, desc: str) -> str:
        fraction = max(0.0, min(1.0, fraction))
        elapsed = time.monotonic() - self.start
        left = elapsed * (1 - fraction) / fraction if fraction > 0.02 else None
        filled = round(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        eta = f"{_clock(left)} left" if left is not None else "estimating"
        return f"[{bar}] {fraction:4.0%} {_clock(elapsed)} elapsed, {eta}  {desc}"

    def __call__(self, fraction: float, desc: str = "") -> None:
        now = time.monotonic()
        stage = desc.split(" ", 1)[0]
        new_stage = stage != self._last_desc.split(" ", 1)[0]
        if self.live:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            print(f"\r{self.line(fraction, desc)[:width]:<{width}}", end="", file=self.stream,
                  flush=True)
            self._drawn = True
        elif new_stage or now - self._last_print >= self.every or fraction >= 1.0:
            print(self.line(fraction, desc), file=self.stream, flush=True)
            self._last_print = now
        self._last_desc = desc

    def close(self) -> None:
        if self._drawn:
            print(file=self.stream, flush=True)
            self._drawn = False


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else \
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@contextmanager
def progress_bar(quiet: bool = False) -> Iterator[Progress]:
    """A :data:`Progress` drawing on standard error (nothing with ``quiet``)."""
    if quiet:
        yield lambda fraction, desc="": None
        return
    bar = ProgressBar()
    try:
        yield bar
    finally:
        bar.close()


# --------------------------------------------------------------------------------------------
# A command for a task that declares none


def register_generic(subparsers: argparse._SubParsersAction, task: Task) -> None:
    """``python cli.py <task> INPUT... [--backend B] [--<setting> V ...] --out DIR``."""
    parser = subparsers.add_parser(task.command_name, help=argparse_help(task.title),
                                   description=f"{task.title} (settings from the task schema).")
    for item in task.inputs:
        if item.optional:
            parser.add_argument(f"--{item.name.replace('_', '-')}", dest=item.name,
                                help=argparse_help(f"{item.label} ({item.kind}, optional)"))
        else:
            parser.add_argument(item.name, help=argparse_help(f"{item.label} ({item.kind})"))
    parser.add_argument("--out", required=True, help="folder to copy the outputs into")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_task_arguments(parser, task)
    parser.set_defaults(handler=lambda registry, args: run_generic(registry, args, task))


def run_generic(registry: Registry, args: argparse.Namespace, task: Task) -> int:
    apply_device(args)
    inputs: dict[str, Any] = {i.name: getattr(args, i.name, None) for i in task.inputs}
    for item in task.inputs:
        value = inputs[item.name]
        if value and item.kind != "text" and not Path(value).is_file():
            raise InputError(f"{item.label}: no file at '{value}'. Check the path.")
    with progress_bar(args.quiet) as report:
        out = run_job_on_engine(registry, task, args.backend, inputs, task.settings.from_args(args),
                                seed=args.seed, progress=report)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    for label, path in out.outputs.items():
        target = folder / path.name
        shutil.copyfile(path, target)
        print(f"{label}: {target}")
    if out.summary:
        print(out.summary)
    for note in out.notes:
        print(f"note: {note}")
    print(f"run folder: {out.run_dir}")
    return 0
