"""Run a benchmark: every chosen backend on every input, measured, scored and saved.

For each backend the runner is loaded once (``registry.pinned``; the load is timed on its own),
then for each input: the request is prepared, numpy / torch / random are seeded, and only the
runner call (:func:`measure_call`) is timed, with the peak memory of that call. Outputs are
saved, and after every backend has run, the outputs are scored: quality metrics never share the
timed section or the memory window of a model. A backend whose weights are missing gives
"unavailable" rows, one that raises a :class:`StudioError` gives "failed" rows; the others run.

Backends that were not loaded before the benchmark are unloaded after their rows, so the next
backend is measured without the previous one's weights in memory.
"""

from __future__ import annotations

import logging
import random
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from metrics.timing import (
    PeakMemory,
    cuda_in_use,
    peak_rss_since_reset,
    reset_peak_rss,
    throughput,
)
from pipelines.benchmark.adapters import Adapter, Choice, Prepared, adapter_for
from pipelines.benchmark.quality import Networks, Quality, fvd, missing_notes, safely, unavailable
from pipelines.benchmark.results import (
    FAILED,
    OK,
    RESULTS_CSV,
    RESULTS_JSON,
    TASK,
    UNAVAILABLE,
    BenchInput,
    BenchResult,
    Row,
)
from pipelines.errors import InputError, StudioError, WeightsUnavailable
from pipelines.manifest import Run, start_run, write_json_atomic
from pipelines.registry import Registry
from pipelines.task import Progress, Task

log = logging.getLogger(__name__)

MB = 1024**2


@dataclass
class Measurement:
    """One timed runner call."""

    output: Any
    seconds: float
    peak_rss_bytes: int
    cuda_peak_bytes: int | None


def seed_everything(seed: int, *, torch: bool = True) -> None:
    """Seed Python, numpy and, with ``torch`` and once something has imported it, torch (every
    device). Weight-free backends use no torch, so their rows skip it (it is most of the cost)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    module = sys.modules.get("torch") if torch else None
    if module is not None:
        module.manual_seed(seed)


def measure_call(call: Callable[[Any, Any], Any], runner: Any, request: Any) -> Measurement:
    """``call(runner, request)`` timed with ``time.perf_counter``, with its peak memory.

    On Linux the peak RSS is the kernel's high-water mark, reset just before the call: exact,
    and nothing runs beside the call. Elsewhere :class:`metrics.timing.PeakMemory` samples it
    on a thread. CUDA's peak allocation is read when torch uses CUDA.
    """
    if not reset_peak_rss():
        memory = PeakMemory().start()
        start = time.perf_counter()
        try:
            output = call(runner, request)
        finally:
            seconds = time.perf_counter() - start
            memory.stop()
        return Measurement(output, seconds, memory.peak_rss_bytes, memory.cuda_peak_bytes)
    cuda = cuda_in_use()
    if cuda is not None:
        cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    output = call(runner, request)
    seconds = time.perf_counter() - start
    cuda = cuda_in_use()  # a first CUDA call may have initialised it during the call
    return Measurement(output, seconds, peak_rss_since_reset(),
                       int(cuda.max_memory_allocated()) if cuda is not None else None)


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "item"


@dataclass
class _Pending:
    """A finished call waiting to be scored."""

    row: Row
    item: BenchInput
    prepared: Prepared
    output: Any


def resolve_choices(adapter: Adapter, registry: Registry, backends: Sequence[str]) -> list[Choice]:
    names = [b.strip() for b in backends if b and b.strip()]
    if not names:
        raise InputError(f"Pick at least one {adapter.task} backend to benchmark (two or more to "
                         "compare them).")
    choices: list[Choice] = []
    for name in names:
        choice = adapter.resolve(registry, name)
        if choice.name not in [c.name for c in choices]:
            choices.append(choice)
    return choices


def run_bench(registry: Registry, task: str | Task, backends: Sequence[str],
              inputs: Sequence[BenchInput] | None = None, *, seed: int = 0,
              warmup: bool = False, progress: Progress | None = None,
              root: Path | None = None) -> BenchResult:
    """Benchmark ``backends`` of ``task`` on ``inputs`` (the task's examples when None) into a
    new run folder; returns the result (also saved as results.json and results.csv).

    With ``warmup`` each backend first runs its first input once, untimed, so one-off costs
    (lazy initialisation, kernel selection, caches) stay out of the timed rows.
    """
    adapter = adapter_for(task)
    task = adapter.task
    choices = resolve_choices(adapter, registry, backends)
    items = list(inputs) if inputs else adapter.examples()
    if not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise InputError(f"The seed must be a whole number from 0 to {2**31 - 1}; got {seed!r}.")
    report = progress or (lambda fraction, desc: None)
    params = {"task": task, "backends": [c.name for c in choices], "warmup": warmup,
              "inputs": [i.as_dict() for i in items], "settings": adapter.settings}
    total = len(choices) * len(items)
    with start_run(TASK, params=params, seed=seed, root=root) as run:
        pending: list[_Pending] = []
        rows: list[Row] = []
        for choice in choices:
            done = len(rows)
            for row, entry in _run_backend(registry, adapter, choice, items, seed, run, warmup,
                                           lambda k, d, done=done: report(0.8 * (done + k) / total,
                                                                         d)):  # fmt: skip
                rows.append(row)
                if entry is not None:
                    pending.append(entry)
        report(0.8, "scoring the outputs")
        with run.stage("quality"), ExitStack() as stack:
            nets = Networks(registry, stack)
            scored = _score(adapter, pending, nets, lambda f, d: report(0.8 + 0.19 * f, d))
            _add_fvd(adapter, choices, scored, nets)
        result = BenchResult(
            run_id=run.id, path=run.path, task=task, seed=seed,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            backends=[c.name for c in choices], inputs=[i.as_dict() for i in items],
            settings={**adapter.settings, "warmup": warmup},
            metric_columns=adapter.metric_columns(sorted({i.kind for i in items})),
            series_names=list(adapter.series), rows=rows, notes=_notes(adapter, rows),
        )  # fmt: skip
        _save(run, result)
    report(1.0, "done")
    return result


def _run_backend(registry: Registry, adapter: Adapter, choice: Choice, items: list[BenchInput],
                 seed: int, run: Run, warmup: bool, report: Progress):
    """Yield (row, pending scoring or None) for every input on one backend."""
    spec = choice.spec
    was_loaded = bool(registry.cache.entries_for(spec.id))
    try:
        with ExitStack() as stack:
            start = time.perf_counter()
            try:
                runner = stack.enter_context(registry.pinned(spec.id))
            except StudioError as err:
                status = UNAVAILABLE if isinstance(err, WeightsUnavailable) or spec.needs_gpu \
                    else FAILED
                for item in items:
                    yield Row(choice.name, spec.id, item.name, item.kind, status, str(err)), None
                return
            except Exception as err:  # a builder's bug: this backend's rows say so
                log.exception("loading %s for the benchmark failed", spec.id)
                reason = f"Loading failed: {type(err).__name__}: {err}"
                for item in items:
                    yield Row(choice.name, spec.id, item.name, item.kind, FAILED, reason), None
                return
            load_seconds = time.perf_counter() - start
            entry = registry.cache.entries_for(spec.id)
            device, dtype = (entry[0].key[1], entry[0].key[2]) if entry else ("cpu", "float32")
            if warmup and items:
                report(0, f"warming up {choice.name}")
                _warm_up(adapter, choice, items[0], seed, run, runner)
            for index, item in enumerate(items):
                report(index, f"{choice.name} on {item.name}")
                row = Row(choice.name, spec.id, item.name, item.kind, load_seconds=load_seconds,
                          device=device, dtype=dtype)
                yield row, _run_row(adapter, choice, item, seed, run, runner, row)
    finally:
        if not was_loaded:
            try:
                registry.unload(spec.id)
            except StudioError:
                log.warning("could not unload %s after its benchmark rows", spec.id)


def _warm_up(adapter: Adapter, choice: Choice, item: BenchInput, seed: int, run: Run,
             runner: Any) -> None:
    """One untimed call; its output is discarded (an error shows again in the timed row)."""
    folder = run.file(f"warmup/{slug(choice.name)}/.keep").parent
    try:
        adapter.call(runner, adapter.prepare(choice, item, seed, folder).request)
    except Exception:  # the timed row reports it
        log.debug("warm-up of %s failed", choice.name, exc_info=True)
    finally:
        shutil.rmtree(run.path / "warmup", ignore_errors=True)


def _run_row(adapter: Adapter, choice: Choice, item: BenchInput, seed: int, run: Run,
             runner: Any, row: Row) -> _Pending | None:
    folder = run.file(f"outputs/{slug(choice.name)}/{slug(item.name)}/.keep").parent
    try:
        prepared = adapter.prepare(choice, item, seed, folder)
        seed_everything(seed, torch=choice.spec.kind != "classical")
        measured = measure_call(adapter.call, runner, prepared.request)
        amount, unit = adapter.amount(measured.output, prepared)
        outputs = adapter.save(measured.output, prepared, folder)
    except WeightsUnavailable as err:
        row.status, row.reason = UNAVAILABLE, str(err)
        return None
    except StudioError as err:
        row.status, row.reason = FAILED, str(err)
        return None
    except Exception as err:  # a backend's bug: its row says so, the other rows still run
        log.exception("benchmark row %s failed", row.label)
        row.status, row.reason = FAILED, f"{type(err).__name__}: {err}"
        return None
    row.seconds = measured.seconds
    row.fps, row.fps_unit = throughput(amount, measured.seconds), unit  # type: ignore[arg-type]
    row.peak_rss_mb = measured.peak_rss_bytes / MB
    if measured.cuda_peak_bytes is not None:
        row.peak_cuda_mb = measured.cuda_peak_bytes / MB
    row.outputs = {label: run.add_output(f"{row.label} {label}", path).relative_to(
        run.path.resolve()).as_posix() for label, path in outputs.items()}
    return _Pending(row, item, prepared, measured.output)


def _score(adapter: Adapter, pending: list[_Pending], nets: Networks,
           report: Progress) -> list[tuple[_Pending, Quality]]:
    scored = []
    for index, entry in enumerate(pending):
        report(index / max(1, len(pending)), f"scoring {entry.row.label}")
        quality = safely("quality metrics", lambda e=entry: adapter.quality(
            e.output, e.prepared, e.item, nets))
        entry.row.metrics = {name: quality.metrics.get(name)
                             for name in adapter.metrics.get(entry.item.kind, ())}
        entry.row.series = {k: [float(v) for v in vals] for k, vals in quality.series.items()}
        entry.row.notes += quality.notes + missing_notes(quality.missing)
        entry.output = None  # frames are no longer needed
        scored.append((entry, quality))
    return scored


def _add_fvd(adapter: Adapter, choices: list[Choice],
             scored: list[tuple[_Pending, Quality]], nets: Networks) -> None:
    """One FVD per backend: its output videos against their references, on every such row."""
    for choice in choices:
        mine = [(e, q) for e, q in scored if e.row.backend == choice.name
                and "fvd" in adapter.metrics.get(e.item.kind, ())]
        usable = [(e, q) for e, q in mine if q.clip is not None and q.reference is not None]
        if not usable:
            continue

        def compute(usable=usable) -> Quality:
            value, reason = fvd([q.clip for _, q in usable], [q.reference for _, q in usable],
                                nets)
            if value is None:
                return unavailable("fvd", reason)
            return Quality({"fvd": value}, notes=[
                f"FVD over {len(usable)} clip(s) against {adapter.fvd_reference}: indicative "
                "only with so few clips."])

        quality = safely("fvd", compute)
        notes = quality.notes + missing_notes(quality.missing)
        for entry, _ in usable:
            entry.row.metrics["fvd"] = quality.metrics.get("fvd")
            entry.row.notes += [n for n in notes if n not in entry.row.notes]


def _notes(adapter: Adapter, rows: list[Row]) -> list[str]:
    notes = []
    if len({r.backend for r in rows}) < 2:
        notes.append("Only one backend was benchmarked: pick two or more to compare them.")
    if any(r.status == OK and r.device == "cpu" for r in rows) and not any(
            r.device.startswith("cuda") for r in rows):
        notes.append("Every row ran on the CPU: peak memory is the process's resident set size.")
    return notes


def _save(run: Run, result: BenchResult) -> None:
    write_json_atomic(run.file(RESULTS_JSON), result.as_dict())
    run.file(RESULTS_CSV).write_text(result.csv_text(), encoding="utf-8")
    run.add_output("results_json", run.file(RESULTS_JSON))
    run.add_output("results_csv", run.file(RESULTS_CSV))
    devices = sorted({r.device for r in result.rows if r.device})
    run.device = ", ".join(devices) or None
    run.extra["summary"] = {
        "task": result.task, "backends": result.backends, "rows": len(result.rows),
        "status": {s: sum(r.status == s for r in result.rows) for s in (OK, UNAVAILABLE, FAILED)},
    }  # fmt: skip
