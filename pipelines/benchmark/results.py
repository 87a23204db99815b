"""Benchmark rows and runs: the table, results.json / results.csv, and the history of runs.

A run folder (``<outputs>/benchmark/<run id>/``) holds ``results.json`` (everything, per-frame
series included), ``results.csv`` (the table), the outputs of every row under ``outputs/`` and
the manifest. Earlier runs are listed newest first, reopened from their results.json and
compared in one table.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines.errors import InputError
from pipelines.manifest import list_runs, outputs_dir

TASK = "benchmark"
RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
OK, UNAVAILABLE, FAILED = "ok", "unavailable", "failed"
NA = "n/a"

# Columns every row has, before the task's quality metrics: (key, header).
BASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("backend", "backend"),
    ("input", "input"),
    ("status", "status"),
    ("seconds", "seconds"),
    ("fps", "fps"),
    ("fps_unit", "fps unit"),
    ("peak_rss_mb", "peak RSS MB"),
    ("peak_cuda_mb", "peak CUDA MB"),
    ("load_seconds", "load s"),
    ("device", "device"),
)
NOT_APPLICABLE = "-"
DIGITS = {"seconds": 3, "fps": 2, "peak_rss_mb": 1, "peak_cuda_mb": 1, "load_seconds": 3}
SIGNIFICANT = 4  # quality metrics keep this many significant digits in tables


@dataclass(frozen=True)
class BenchInput:
    """One benchmark input: its main file (``source``) plus the extra files its task needs
    (``audio`` for talking heads, ``style`` for style transfer) and, where known, ground truth
    (keyframes: shot boundaries as ``(frame, start, end)``)."""

    name: str
    kind: str  # image | video
    source: Path
    extra: dict[str, Path] = field(default_factory=dict)
    truth: tuple[tuple[int, int, int], ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "source": str(self.source),
                "extra": {k: str(v) for k, v in self.extra.items()},
                "truth": [list(t) for t in self.truth] if self.truth is not None else None}


@dataclass
class Row:
    """One (backend, input) pair: status, speed, memory, quality, per-frame series, outputs."""

    backend: str  # the choice as named: a spec id, or "<spec id>:<variant>"
    spec_id: str
    input: str
    kind: str
    status: str = OK
    reason: str = ""  # why a row is unavailable or failed
    seconds: float | None = None  # the runner call alone
    fps: float | None = None
    fps_unit: str = ""
    peak_rss_mb: float | None = None
    peak_cuda_mb: float | None = None
    load_seconds: float | None = None
    device: str = ""
    dtype: str = ""
    metrics: dict[str, float | None] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # label -> path inside the run folder
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.backend} · {self.input}"

    def value(self, key: str) -> Any:
        return self.metrics.get(key) if key not in _ROW_KEYS else getattr(self, key)


_ROW_KEYS = {key for key, _ in BASE_COLUMNS}


def _clean(value: Any) -> Any:
    """Floats that JSON can hold (NaN and infinities become None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


@dataclass
class BenchResult:
    """A whole benchmark run, as saved in (and reopened from) its results.json."""

    run_id: str
    path: Path
    task: str
    seed: int
    created_at: str
    backends: list[str]
    inputs: list[dict[str, Any]]
    settings: dict[str, Any]
    metric_columns: list[str]
    series_names: list[str]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    # -- the table -----------------------------------------------------------------------------
    @property
    def headers(self) -> list[str]:
        return [h for _, h in BASE_COLUMNS] + self.metric_columns + ["note"]

    def table(self) -> list[list[Any]]:
        """One list per row, matching :attr:`headers`; numbers rounded, n/a for missing ones."""
        return [self._cells(row) for row in self.rows]

    def _cells(self, row: Row) -> list[Any]:
        cells = [format_value(row.value(key), DIGITS.get(key)) for key, _ in BASE_COLUMNS]
        cells += [metric_cell(row, m) for m in self.metric_columns]
        return [*cells, " ".join([row.reason, *row.notes]).strip()]

    def csv_text(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self.headers)
        writer.writerows(self.table())
        return buffer.getvalue()

    def output_path(self, row: Row, label: str) -> Path:
        return self.path / row.outputs[label]

    def gallery(self) -> list[tuple[str, str]]:
        """(file, caption) of every row's main output, for a side-by-side gallery."""
        items = []
        for row in self.rows:
            for label in ("image", "video", "contact_sheet"):
                if label in row.outputs and self.output_path(row, label).is_file():
                    items.append((str(self.output_path(row, label)), row.label))
                    break
        return items

    # -- files ---------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return _clean(data)

    @property
    def json_path(self) -> Path:
        return self.path / RESULTS_JSON

    @property
    def csv_path(self) -> Path:
        return self.path / RESULTS_CSV

    @classmethod
    def load(cls, folder: Path) -> BenchResult:
        try:
            data = json.loads((folder / RESULTS_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise InputError(f"The benchmark run '{folder.name}' has no readable {RESULTS_JSON}; "
                             "pick another run.") from err
        data["path"] = folder
        data["rows"] = [Row(**row) for row in data["rows"]]
        return cls(**data)


def format_value(value: Any, digits: int | None = None) -> Any:
    """A table cell: floats rounded to ``digits`` decimals (or :data:`SIGNIFICANT` significant
    digits without), None as n/a, everything else as is."""
    if value is None:
        return NA
    if isinstance(value, float):
        return round(value, digits) if digits is not None else float(f"{value:.{SIGNIFICANT}g}")
    return value


def metric_cell(row: Row, name: str) -> Any:
    """A metric's cell: "-" where it does not apply to the row's input, n/a where it could not
    be computed (or the row did not run)."""
    if row.status == OK and name not in row.metrics:
        return NOT_APPLICABLE
    return format_value(row.metrics.get(name))


# --------------------------------------------------------------------------------------------
# History


def _root(root: Path | None) -> Path:
    return root or outputs_dir()


def run_folders(root: Path | None = None) -> list[Path]:
    """Complete benchmark run folders that hold results, newest first."""
    return [p for p in list_runs(TASK, _root(root)) if (p / RESULTS_JSON).is_file()]


def history(root: Path | None = None) -> list[tuple[str, str]]:
    """(label, run id) of every earlier benchmark run, newest first."""
    items = []
    for folder in run_folders(root):
        try:
            data = json.loads((folder / RESULTS_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        try:
            when = f"{datetime.strptime(folder.name[:15], '%Y%m%d-%H%M%S'):%Y-%m-%d %H:%M:%S}"
        except ValueError:
            when = folder.name
        label = (f"{when} · {data['task']} · {', '.join(data['backends'])} · "
                 f"{len(data['inputs'])} input(s) · seed {data['seed']}")
        items.append((label, folder.name))
    return items


def open_run(run_id: str, root: Path | None = None) -> BenchResult:
    """Reopen an earlier run by its id (the folder name); only listed runs can be opened."""
    for folder in run_folders(root):
        if folder.name == run_id:
            return BenchResult.load(folder)
    raise InputError(f"No benchmark run '{run_id}' was found; refresh the history and pick one "
                     "of the runs listed.")


def compare(results: list[BenchResult]) -> tuple[list[str], list[list[Any]]]:
    """Several runs in one table: a run column, then the shared columns and every metric."""
    if not results:
        raise InputError("Pick at least one earlier run to compare.")
    metrics: list[str] = []
    for result in results:
        metrics += [m for m in result.metric_columns if m not in metrics]
    headers = ["run", "task", *(h for _, h in BASE_COLUMNS), *metrics]
    rows = []
    for result in results:
        for row in result.rows:
            rows.append([result.run_id, result.task,
                         *(format_value(row.value(k), DIGITS.get(k)) for k, _ in BASE_COLUMNS),
                         *(metric_cell(row, m) for m in metrics)])
    return headers, rows
