"""The task contract: every task declared once, every setting declared once, one job skeleton.

A :class:`Task` says what a task is (id, title, its specs, its settings, its input kinds, how a
request is prepared, its job, its tab, CLI command and benchmark adapter, its examples). The one
list of tasks is :data:`pipelines.tasks.TASKS`; the catalog, ``cli.py``, the app and the Benchmark
tab iterate it and name no task themselves.

A :class:`Setting` is one user-facing knob (type, default, range or choices, unit, help, the
backend groups it applies to). A task's :class:`Schema` of settings gives the tab its widgets,
the CLI its flags, requests their validation (one sentence per bad value), the API its parameter
docs, the manifest its parameters and the benchmark its ``backend:variant`` overrides.

:func:`run_job` is the skeleton every job runs in: resolve the backend, open a run folder, load
and pin the runner, time each stage, report progress through one :data:`Progress` type, write
outputs in one place and finish the manifest with the device and dtype the runner reports.

This module is light: it imports no numpy, torch or gradio.
"""

from __future__ import annotations

import argparse
import importlib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.errors import InputError
from pipelines.progress import Progress, no_progress, scaled
from pipelines.registry import PipelineSpec, Registry, describe

__all__ = ["Input", "JobContext", "JobOutput", "Progress", "Schema", "Setting", "Task",
           "argparse_help", "load_object", "no_progress", "run_job", "scaled"]


def argparse_help(text: str) -> str:
    """Declared text as argparse help: argparse fills help in with ``%``, so a ``%`` a setting's
    or task's text means literally (a unit, "% of width") is doubled."""
    return text.replace("%", "%%")


def load_object(path: str) -> Any:
    """``"package.module:name"`` -> the object (imported on first use, so declaring is light)."""
    module, _, name = path.partition(":")
    obj = importlib.import_module(module)
    return getattr(obj, name) if name else obj


# --------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class Setting:
    """One user-facing setting of a task, declared once.

    ``choices`` holds the accepted values; ``labels`` may give each a display label. With
    ``multi`` a value is a tuple of choices (a checkbox group in the tab, a comma-separated list
    on the command line). ``backends`` names the backend groups (see :attr:`Task.group_of`) the
    setting applies to; empty means all. ``defaults`` overrides the default per backend group.
    ``flag`` is the CLI flag when it is not ``--`` + the name with dashes.
    """

    name: str
    default: Any
    label: str
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    labels: tuple[str, ...] = ()
    unit: str = ""
    backends: tuple[str, ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()
    advanced: bool = False
    multi: bool = False
    flag: str | None = None
    lines: int = 1  # text settings: rows of the text box

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"setting name {self.name!r} must be a Python identifier")
        if self.labels and len(self.labels) != len(self.choices):
            raise ValueError(f"setting {self.name!r}: one label per choice")
        if (self.minimum is None) != (self.maximum is None):
            raise ValueError(f"setting {self.name!r}: give both minimum and maximum, or neither")
        self.check(self.default)
        for _, value in self.defaults:
            self.check(value)

    @property
    def kind(self) -> str:
        """bool | int | float | str | choice | multi."""
        if self.multi:
            return "multi"
        if self.choices:
            return "choice"
        if isinstance(self.default, bool):
            return "bool"
        if isinstance(self.default, int):
            return "int"
        if isinstance(self.default, float):
            return "float"
        return "str"

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def bounded(self) -> bool:
        return self.minimum is not None

    def default_for(self, *keys: str | None) -> Any:
        """The default for the first of ``keys`` (a spec id, a backend group) that has one."""
        table = dict(self.defaults)
        return next((table[k] for k in keys if k in table), self.default)

    def applies_to(self, group: str | None) -> bool:
        return not self.backends or group is None or group in self.backends

    def choice_pairs(self) -> list[tuple[str, Any]]:
        labels = self.labels or tuple(str(c) for c in self.choices)
        return list(zip(labels, self.choices, strict=True))

    def range_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.bounded:
            return f"{_num(self.minimum)} to {_num(self.maximum)}{unit}"
        return ""

    def check(self, value: Any) -> Any:
        """``value`` coerced to the setting's type, or :class:`InputError` saying what to use."""
        what = f"The setting '{self.name}' ({self.label})"
        kind = self.kind
        if kind == "multi":
            items = _as_items(value)
            bad = [v for v in items if v not in self.choices]
            if bad:
                raise InputError(f"Unknown {self.name.removesuffix('s')}(s) "
                                 f"{', '.join(map(str, bad))} for {self.label!r}; use any of "
                                 f"{', '.join(map(str, self.choices))}, or none.")
            return tuple(c for c in self.choices if c in items)
        if kind == "choice":
            if value not in self.choices:
                raise InputError(f"{what} is {value!r}; use {self.range_text()}.")
            return value
        if kind == "bool":
            return _as_bool(value, what)
        if kind == "str":
            if value is None:
                return ""
            if not isinstance(value, str):
                raise InputError(f"{what} must be text; got {value!r}.")
            return value
        number = _as_number(value, what, integer=kind == "int")
        if self.bounded and not self.minimum <= number <= self.maximum:
            raise InputError(f"{what} is {_num(number)}; use {self.range_text()}.")
        return number


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else f"{value}"


def _as_items(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip() and v.strip() != "none")
    return tuple(value)


def _as_bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on", "0",
                                                            "false", "no", "off"}:
        return value.strip().lower() in {"1", "true", "yes", "on"}
    raise InputError(f"{what} must be true or false; got {value!r}.")


def _as_number(value: Any, what: str, *, integer: bool) -> int | float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number; got {value!r}.") from None
    if not math.isfinite(number):
        raise InputError(f"{what} must be a finite number; got {value!r}.")
    if integer:
        if number != int(number):
            raise InputError(f"{what} must be a whole number; got {value!r}.")
        return int(number)
    return number


class Schema:
    """A task's settings, in display order; names are unique."""

    def __init__(self, task: str, settings: Sequence[Setting]):
        names = [s.name for s in settings]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"{task}: setting(s) declared twice: {', '.join(repeated)}")
        self.task = task
        self._settings = {s.name: s for s in settings}

    def __iter__(self) -> Iterator[Setting]:
        return iter(self._settings.values())

    def __len__(self) -> int:
        return len(self._settings)

    def __contains__(self, name: str) -> bool:
        return name in self._settings

    def __getitem__(self, name: str) -> Setting:
        return self._settings[name]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._settings)

    def defaults(self, *keys: str | None) -> dict[str, Any]:
        """Every setting's default for a backend (``keys``: its spec id, then its group)."""
        return {s.name: s.default_for(*keys) for s in self}

    def validate(self, values: Mapping[str, Any], *keys: str | None) -> dict[str, Any]:
        """Every setting's value (the backend's defaults for those not given), each checked;
        unknown names and bad values raise :class:`InputError` naming the setting and what to
        use. ``keys`` are the backend's spec id and group, for per-backend defaults."""
        unknown = sorted(set(values) - set(self._settings))
        if unknown:
            raise InputError(f"Unknown {self.task} setting(s): {', '.join(unknown)}. Settings: "
                             f"{', '.join(self.names)}.")
        out = self.defaults(*keys)
        for name, value in values.items():
            if value is not None or self[name].kind == "multi":
                out[name] = self[name].check(value)
        return out

    # -- command line --------------------------------------------------------------------------
    def add_arguments(self, parser: argparse.ArgumentParser, skip: Iterable[str] = ()) -> None:
        """One flag per setting; unset flags stay None so backend-group defaults can apply."""
        skipped = set(skip)
        for s in self:
            if s.name in skipped:
                continue
            rule = s.range_text()
            default = ",".join(s.default) if s.multi else s.default
            text = f"{s.help} ({rule + '; ' if rule else ''}default: {default})".strip()
            text = argparse_help(text)  # a % in the help or the unit is shown as it is
            if s.kind == "bool":
                parser.add_argument(s.cli_flag, dest=s.name, default=None, help=text,
                                    action=argparse.BooleanOptionalAction)
            elif s.kind == "choice":
                parser.add_argument(s.cli_flag, dest=s.name, default=None, help=text,
                                    choices=list(s.choices), type=type(s.choices[0]))
            elif s.kind in ("int", "float"):
                parser.add_argument(s.cli_flag, dest=s.name, default=None, help=text,
                                    type=int if s.kind == "int" else float,
                                    metavar=s.unit.upper().replace(" ", "_") or "N")
            else:
                parser.add_argument(s.cli_flag, dest=s.name, default=None, help=text)

    def from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        """The settings a command line gave (flags left out are not in the result)."""
        return {s.name: getattr(args, s.name) for s in self
                if getattr(args, s.name, None) is not None}

    # -- documentation -------------------------------------------------------------------------
    def markdown(self) -> str:
        """A table of every setting (the API parameter docs and the tab pages use it)."""
        rows = ["| setting | CLI flag | type | range | default | backends | what it does |",
                "|---|---|---|---|---|---|---|"]
        for s in self:
            default = ",".join(s.default) if s.multi else s.default
            rows.append(f"| `{s.name}` | `{s.cli_flag}` | {s.kind} | {s.range_text() or '-'} "
                        f"| `{default}` | {', '.join(s.backends) or 'all'} | {s.help} |")
        return "\n".join(rows)


# --------------------------------------------------------------------------------------------
# Tasks


def kind_group(spec: PipelineSpec) -> str:
    """The default backend grouping: ``classical`` or ``model``."""
    return "classical" if spec.kind == "classical" else "model"


@dataclass(frozen=True)
class Input:
    """One input of a task: its name (the CLI's positional argument, the request's key), its
    kind (image, video, audio, media = image or video, text) and whether it may be left out."""

    name: str
    kind: str
    label: str
    optional: bool = False


@dataclass(frozen=True)
class Task:
    """One task of the studio, declared as data; strings are imported on first use.

    ``prepare(inputs, settings, seed, spec) -> request`` checks inputs and builds the runner's
    request (the benchmark calls it too); ``job(ctx: JobContext, request) -> None`` runs the
    runner and writes the outputs through ``ctx``. ``tab``, ``command`` and ``adapter`` may be
    left empty: the app, the CLI and the benchmark then serve the task from its schema.
    """

    id: str
    title: str
    specs: str  # "module" holding SPECS (data only)
    settings: Schema
    inputs: tuple[Input, ...]
    prepare: str | Callable[..., Any] = ""
    job: str | Callable[..., Any] = ""
    result: str = ""  # "module:Class" of what the runner returns (documentation, tests)
    tab: str = ""  # "module" with build(registry[, task]) -> optional on-select hook
    command: str = ""  # "module" with register(subparsers)
    adapter: str | Callable[..., Any] = ""  # "module:Class" benchmark adapter
    examples: tuple[str, ...] = ()  # paths under assets/
    group_of: Callable[[PipelineSpec], str] = kind_group
    cli_name: str = ""  # the CLI subcommand (default: the id)
    api_name: str = ""  # the main event's api_name (default: the id)

    @property
    def command_name(self) -> str:
        return self.cli_name or self.id

    @property
    def event_name(self) -> str:
        return self.api_name or self.id

    def spec_list(self) -> tuple[PipelineSpec, ...]:
        specs = load_object(self.specs).SPECS if isinstance(self.specs, str) else self.specs
        return tuple(specs)

    def prepare_fn(self) -> Callable[..., Any]:
        return load_object(self.prepare) if isinstance(self.prepare, str) else self.prepare

    def job_fn(self) -> Callable[..., Any]:
        return load_object(self.job) if isinstance(self.job, str) else self.job


# --------------------------------------------------------------------------------------------
# The job skeleton


@dataclass
class JobOutput:
    """A finished job: its run folder, labelled output files, notes and a one-line summary."""

    task: str
    spec_id: str
    run_dir: Path
    manifest: Path
    outputs: dict[str, Path]
    notes: list[str] = field(default_factory=list)
    summary: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # task-specific values for callers


@dataclass
class JobContext:
    """What a task's job body gets: the request's parts, the pinned runner and the run folder.

    Stages are timed by name (``with ctx.stage("run", 0.8): ...`` covers the next 80 % of the
    progress bar); every output goes through :meth:`output` or the writers below, so the
    manifest lists it and frames/s means the same for every task (``run`` stage: the backend's
    work; ``encode`` stage: writing files).
    """

    task: Task
    spec: PipelineSpec
    runner: Any
    run: Any  # pipelines.manifest.Run
    settings: dict[str, Any]
    progress: Progress
    notes: list[str] = field(default_factory=list)
    summary: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    registry: Registry | None = None  # the job's registry (a job may pin a helper network)
    _done: float = 0.0

    @contextmanager
    def stage(self, name: str, span: float = 0.0) -> Iterator[Progress]:
        """Time stage ``name``; yields a :data:`Progress` for its share of the bar."""
        start = self._done
        self.progress(start, name)
        with self.run.stage(name):
            yield scaled(self.progress, start, span)
        self._done = min(1.0, start + span)

    def output(self, label: str, name: str) -> Path:
        """A path in the run folder for output ``label`` (recorded in the manifest)."""
        path = self.run.file(name)
        self.run.outputs[label] = path.relative_to(self.run.path.resolve()).as_posix()
        return path

    def record(self, label: str, path: Path) -> Path:
        """Record a file a runner wrote inside the run folder as output ``label``."""
        return self.run.add_output(label, path)

    def write_video(self, label: str, name: str, frames: Iterable[Any], fps: float, *,
                    audio: str | Path | None = None, count: int | None = None,
                    progress: Progress | None = None, each: Callable[[int, Any], None] | None
                    = None) -> tuple[Path, int]:
        """Encode ``frames`` to an H.264 MP4 (audio muxed when given); returns (path, frames)."""
        from pipelines.media import VideoWriter

        path = self.output(label, name)
        written = 0
        with VideoWriter(path, fps, audio=audio) as writer:
            for frame in frames:
                writer.write(frame)
                if each is not None:
                    each(written, frame)
                written += 1
                if progress is not None and count:
                    progress(written / count, f"frame {written}/{count}")
        return path, written

    def write_image(self, label: str, name: str, rgb: Any) -> Path:
        from pipelines.media import save_image

        return save_image(self.output(label, name), rgb)

    def note(self, *notes: str) -> None:
        self.notes.extend(n for n in notes if n)


def run_job(registry: Registry, task: Task, backend: str | None, inputs: Mapping[str, Any],
            settings: Mapping[str, Any] | None = None, *, seed: int = 0,
            progress: Progress | None = None, root: Path | None = None,
            extra_params: Mapping[str, Any] | None = None,
            fetch: Callable[[PipelineSpec, Progress], None] | None = None) -> JobOutput:
    """Run one job of ``task`` with ``backend`` (id, short name, or None for the default).

    The skeleton: resolve the backend -> validate the settings against the task's schema ->
    prepare the request (input checks, before any folder exists) -> open the run folder -> load
    and pin the runner -> the task's job body (its stages and outputs) -> the manifest, written
    last, with the device and dtype the runner's descriptor reports. A failure removes the run
    folder and re-raises; the registry keeps the runner for the next job. ``fetch(spec,
    progress)``, when given, runs after the request is prepared and before the run folder opens:
    the app downloads a backend's missing files there, with progress (tabs.downloads).
    The job runs in this process; callers that let the user pick an engine (tabs, the CLI) call
    :func:`pipelines.remote.run_job_on_engine` instead.
    """
    from pipelines.manifest import start_run

    report = progress or no_progress
    spec = registry.resolve(task.id, backend)
    group = task.group_of(spec)
    values = task.settings.validate(dict(settings or {}), spec.id, group)
    request = task.prepare_fn()(dict(inputs), values, int(seed), spec)
    params = {k: v for k, v in values.items() if task.settings[k].applies_to(group)}
    params.update(extra_params or {})
    if fetch is not None:
        fetch(spec, report)
    with start_run(task.id, spec=spec, params=params, seed=int(seed), root=root) as run, \
            ExitStack() as stack:
        report(0.0, f"loading {spec.label}")
        with run.stage("load"):
            runner = stack.enter_context(registry.pinned(spec.id))
        info = describe(runner)
        run.device, run.dtype = info.device, info.dtype
        working = getattr(runner, "working_bytes", None)
        if callable(working):  # the request's activations, beside the weights already loaded
            need = int(working(request))
            run.extra["working_bytes_estimate"] = need
            registry.cache.make_room(info.device, need)
        ctx = JobContext(task, spec, runner, run, values, report, registry=registry)
        task.job_fn()(ctx, request)
        run.extra.update(notes=ctx.notes, runner=info.as_dict())
        if ctx.summary:
            run.extra["summary"] = ctx.summary
    report(1.0, "done")
    outputs = {label: run.path / rel for label, rel in run.outputs.items()}
    return JobOutput(task.id, spec.id, run.path, run.manifest_path, outputs, ctx.notes,
                     ctx.summary, ctx.data)
