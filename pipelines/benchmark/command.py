"""``python cli.py bench --task TASK --backends a,b [--inputs PATHS...] [--seed N] --out FILE``.

Runs the benchmark, prints the table the Benchmark tab shows, and copies results.json to
``--out`` (the run folder under outputs/benchmark/ keeps it with results.csv and the outputs).
``--list`` prints earlier runs instead.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from pipelines.benchmark.adapters import ADAPTERS, adapter_for
from pipelines.benchmark.harness import run_bench
from pipelines.benchmark.results import BenchResult, history
from pipelines.errors import InputError
from pipelines.registry import Registry


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="benchmark backends of one task side by side (speed, memory, quality)",
        description="Run the same inputs through several backends of one task and print speed, "
                    "peak memory and quality metrics side by side. Backends are ids or short "
                    "names (classical, adain), or benchmark variants (classical:painting).",
    )  # fmt: skip
    parser.add_argument("--task", choices=list(ADAPTERS), help="the task to benchmark")
    parser.add_argument("--backends", help="comma-separated backends, e.g. classical,adain")
    parser.add_argument("--inputs", nargs="+", metavar="PATH",
                        help="input files (default: the task's examples)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every row (default 0)")
    parser.add_argument("--warmup", action="store_true",
                        help="run each backend once, untimed, before its timed rows")
    parser.add_argument("--out", help="where to copy results.json")
    parser.add_argument("--list", action="store_true", help="list earlier benchmark runs")
    parser.set_defaults(handler=handle)


def _progress(fraction: float, desc: str = "") -> None:
    print(f"\r[{fraction:6.1%}] {desc:<60}", end="", flush=True, file=sys.stderr)


def print_result(result: BenchResult) -> None:
    from cli import format_table

    print(format_table(result.headers[:-1], [row[:-1] for row in result.table()]))
    for row in result.rows:
        note = " ".join([row.reason, *row.notes]).strip()
        if note:
            print(f"note [{row.label}]: {note}")
    for note in result.notes:
        print(f"note: {note}")


def handle(registry: Registry, args: argparse.Namespace) -> int:
    if args.list:
        for label, run_id in history():
            print(f"{run_id}  {label}")
        return 0
    if not args.task or not args.backends:
        raise InputError("Name the task and the backends, e.g. `python cli.py bench --task "
                         "super_res --backends classical,realesrgan-x4plus --out results.json`.")
    for path in args.inputs or ():
        if not Path(path).is_file():
            raise InputError(f"The input '{path}' was not found.")
    inputs = adapter_for(args.task).inputs_from(args.inputs) if args.inputs else None
    result = run_bench(registry, args.task, args.backends.split(","), inputs, seed=args.seed,
                       warmup=args.warmup, progress=_progress)
    print(file=sys.stderr)
    print_result(result)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.json_path, out)
        print(f"wrote {out}")
    print(f"run folder: {result.path}")
    return 0
