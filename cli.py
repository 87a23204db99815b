"""Headless entry point: ``python cli.py <command> ...``.

Commands: ``models`` (every backend and its status), ``fetch ID...`` (download just the files a
backend needs), one command per task of :data:`pipelines.tasks.TASKS` (the task's own command
module when it declares one, else a command built from its settings schema), and the commands in
``COMMAND_MODULES`` that span tasks (``bench``, ``curate``). A command module's
``register(subparsers)`` adds a parser with ``handler(registry, args) -> exit code`` as its
default; only the named command's module is imported. Errors a user can fix are printed as one
sentence, exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from pipelines.catalog import build_registry
from pipelines.commands import register_generic
from pipelines.errors import StudioError
from pipelines.registry import STATUS_HEADERS, Registry, status_rows
from pipelines.task import Task
from pipelines.tasks import TASKS

# Commands that are no single task's: name -> module whose register(subparsers) adds it.
COMMAND_MODULES: dict[str, str] = {
    "bench": "pipelines.benchmark.command",
    "curate": "pipelines.curate.command",
}


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_models(registry: Registry, args: argparse.Namespace) -> int:
    from pipelines import hub

    if args.prune:
        print(hub.prune(registry, registry.get(args.prune).id).describe())
        return 0
    rows = status_rows(registry)
    if args.json:
        print(json.dumps([dict(zip(STATUS_HEADERS, row, strict=True)) for row in rows], indent=2))
    else:
        print(format_table(STATUS_HEADERS, rows))
        _, total = hub.disk_usage(registry)
        print(f"\nModel files on disk: {hub.human_bytes(total)} "
              f"(Hub cache {hub.hub_cache_dir()}, URL cache {hub.url_cache_dir()})")
    return 0


class ProgressBar:
    """A one-line progress bar on stderr: bytes, speed and time left."""

    def __init__(self, stream=None, width: int = 28):
        self.stream, self.width = stream or sys.stderr, width

    def __call__(self, progress) -> None:
        filled = int(self.width * progress.fraction)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"\r[{bar}] {progress.describe()}"
        self.stream.write(line[:160].ljust(100))
        if progress.finished:
            self.stream.write("\n")
        self.stream.flush()


def cmd_fetch(registry: Registry, args: argparse.Namespace) -> int:
    from pipelines import hub, sources

    ids = [spec.id for spec in registry if spec.needs_weights] if args.all else args.ids
    if not ids:
        raise StudioError("Name at least one backend id to fetch (see `python cli.py models`).")
    for spec_id in ids:
        spec = registry.get(spec_id)
        note = hub.one_source_note(spec)  # a pin one public source gives, checked when online
        if note:
            print(note, file=sys.stderr)
        if args.dry_run:
            if not spec.needs_weights:
                print(f"{spec_id}: weight-free, nothing to fetch")
                continue
            if hub.hub_offline() or not sources.reachable(spec):  # what the patterns would take
                why = "HF_HUB_OFFLINE=1 is set" if hub.hub_offline() else "the Hub is out of reach"
                print(hub.describe_patterns(spec, why))
            else:
                print(sources.plan(spec).describe())
            continue
        folder = registry.fetch(spec_id, progress=None if args.quiet else ProgressBar())
        print(f"{spec_id}: {folder if folder else 'weight-free, nothing to fetch'}")
    return 0


def build_parser(tasks: tuple[Task, ...] | None = None,
                 only: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser; with ``only`` naming a command, just that command's module is imported
    (start-up of a single command stays light). Any other ``only`` builds every command, so a
    misspelt command is answered with the list."""
    tasks = TASKS if tasks is None else tasks
    names = {t.command_name for t in tasks} | set(COMMAND_MODULES) | {"models", "fetch"}
    if only not in names:
        only = None
    parser = argparse.ArgumentParser(prog="cli.py", description="Spacetime Studio, headless")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = sub.add_parser("models", help="list every backend with its disk and memory status")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.add_argument("--prune", metavar="ID", help="delete this backend's files from the cache "
                        "(files another backend shares are kept)")
    models.set_defaults(handler=cmd_models)

    fetch = sub.add_parser("fetch", help="download the files a backend needs (Hugging Face cache)")
    fetch.add_argument("ids", nargs="*", metavar="ID", help="backend ids, as `models` lists them")
    fetch.add_argument("--all", action="store_true", help="every backend that has weights")
    fetch.add_argument("--dry-run", action="store_true",
                       help="list the files, their size and the free disk after; download nothing")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    fetch.set_defaults(handler=cmd_fetch)

    for task in tasks:
        if only not in (None, task.command_name):
            continue
        if task.command:
            importlib.import_module(task.command).register(sub)
        else:
            register_generic(sub, task)
    for name, module in COMMAND_MODULES.items():
        if only in (None, name):
            importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None, registry: Registry | None = None,
         tasks: tuple[Task, ...] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(tasks, argv[0] if argv else None).parse_args(argv)
    try:
        return args.handler(registry or build_registry(tasks), args)
    except StudioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
