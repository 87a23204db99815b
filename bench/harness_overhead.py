"""What the benchmark harness adds over a bare timing loop around the same runner calls.

    python bench/harness_overhead.py [--repeats 40] [--json bench/results/harness_overhead.json]

For each case one runner and one request are prepared with the harness's own adapter, then
called ``--repeats`` times each way, interleaved (which way goes first alternates):

- classical super-resolution of the astronaut example, as the benchmark row does it (128x128
  downscaled, back to 256x256: a 2 ms call);
- the same runner on the 256x256 astronaut to 512x512 (the x2 of the full example);
- classical style transfer (Reinhard) of the 320x212 cat photo, written as PNG.

Each way:

- bare: ``t = time.perf_counter(); out = runner(request); time.perf_counter() - t``;
- harness: ``seed_everything`` + ``measure_call`` (the harness's timed section: perf_counter
  around the call, peak memory sampled on a background thread), timed from the outside.

Printed per case: the median of each way, the ratio harness / bare (target: at most 1.05; the
harness's fixed cost per row is seeding numpy / torch / random and two reads of /proc, about
0.1 ms), the seconds the harness itself reports for the call and their ratio to bare (how far
the harness's measurement is from a bare loop's). Quality metrics are NOT part of this comparison:
the harness computes them after the timed call, outside its timing; their cost per row is
reported separately in the last column.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipelines.benchmark.adapters import adapter_for  # noqa: E402
from pipelines.benchmark.harness import measure_call, seed_everything  # noqa: E402
from pipelines.benchmark.quality import Networks  # noqa: E402
from pipelines.catalog import build_registry  # noqa: E402
from pipelines.super_res.types import resample  # noqa: E402

# (task, backend, example, upscale the example itself instead of its downscaled copy)
CASES = (("super_res", "super_res.classical", "astronaut_256", False),
         ("super_res", "super_res.classical", "astronaut_256", True),
         ("style", "style.classical", "content_cat", False))  # fmt: skip


def measure_case(task: str, backend: str, example: str, full_size: bool, repeats: int,
                 folder: Path) -> dict:
    registry = build_registry()
    adapter = adapter_for(task)
    choice = adapter.resolve(registry, backend)
    item = next(e for e in adapter.examples() if e.name == example)
    prepared = adapter.prepare(choice, item, 0, folder)
    if full_size:  # the original itself as the input: a 4x larger call
        originals = prepared.data["originals"]
        prepared.request = replace(prepared.request, frames=originals)
        prepared.data["originals"] = [resample(f, (2 * f.shape[1], 2 * f.shape[0]))
                                      for f in originals]
    bare: list[float] = []
    harness: list[float] = []
    reported: list[float] = []
    with registry.pinned(choice.spec.id) as runner:
        for _ in range(3):  # warm caches and lazy initialisation before either way is timed
            adapter.call(runner, prepared.request)
        for index in range(repeats):
            for way in (("bare", "harness") if index % 2 == 0 else ("harness", "bare")):
                start = time.perf_counter()
                if way == "bare":
                    output = runner(prepared.request)
                    bare.append(time.perf_counter() - start)
                else:
                    seed_everything(0, torch=choice.spec.kind != "classical")
                    measured = measure_call(adapter.call, runner, prepared.request)
                    harness.append(time.perf_counter() - start)
                    reported.append(measured.seconds)
                    output, measured = measured.output, None
                del output  # both ways free their output outside the timing, at the same point
        output = adapter.call(runner, prepared.request)
    with ExitStack() as stack:
        nets = Networks(registry, stack)
        adapter.quality(output, prepared, item, nets)  # imports and first-use costs
        start = time.perf_counter()
        adapter.quality(output, prepared, item, nets)
        quality_seconds = time.perf_counter() - start
    bare_median, harness_median = statistics.median(bare), statistics.median(harness)
    size = "x".join(map(str, prepared.request.frames[0].shape[1::-1])) \
        if task == "super_res" else example
    return {
        "case": f"{backend} {size}", "repeats": repeats,
        "bare_median_s": round(bare_median, 6), "harness_median_s": round(harness_median, 6),
        "ratio": round(harness_median / bare_median, 4),
        "reported_median_s": round(statistics.median(reported), 6),
        "reported_ratio": round(statistics.median(reported) / bare_median, 4),
        "quality_metrics_s": round(quality_seconds, 4),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="harness-overhead-"))
    rows = [measure_case(*case, args.repeats, folder / f"case{i}") for i, case in enumerate(CASES)]
    print(f"{'case':<34} {'bare s':>9} {'harness s':>10} {'ratio':>6} {'reported s':>11} "
          f"{'ratio':>6} {'metrics s':>10}")
    for row in rows:
        print(f"{row['case']:<34} {row['bare_median_s']:>9.5f} {row['harness_median_s']:>10.5f} "
              f"{row['ratio']:>6.3f} {row['reported_median_s']:>11.5f} "
              f"{row['reported_ratio']:>6.3f} {row['quality_metrics_s']:>10.4f}")
    print(f"medians of {args.repeats} interleaved calls each way; ratio = harness / bare (target "
          "<= 1.05), then reported / bare. Quality metrics are excluded from the comparison "
          "(computed after the timed call); 'metrics s' is their cost per row.")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
