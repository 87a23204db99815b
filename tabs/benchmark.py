"""Benchmark tab: the same inputs through several backends, speed, memory and quality side by side.

The tab maps widgets to :func:`pipelines.benchmark.harness.run_bench` and its result to a table,
bar charts, per-frame line plots, a gallery and downloads; earlier runs are listed, reopened and
compared. It imports no torch: backends load through the registry when a run starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr
import pandas as pd

from metrics.table import best_index
from pipelines.benchmark.adapters import adapter_for
from pipelines.benchmark.harness import run_bench
from pipelines.benchmark.results import BASE_COLUMNS, OK, BenchResult, compare, history, open_run
from pipelines.errors import InputError
from pipelines.registry import Registry
from pipelines.task import Task
from pipelines.tasks import TASKS
from tabs.common import (
    ACCELERATOR,
    ACCELERATOR_CONCURRENCY,
    gpu,
    progress_callback,
    ui_text,
    user_errors,
)

TITLE = "Benchmark"
TASK = None
DEFAULT_TASK = "super_res"


def backend_choices(registry: Registry, task: str | Task
                    ) -> tuple[list[tuple[str, str]], list[str]]:
    """The task's backends and variants, and the two picked at first."""
    choices = adapter_for(task).choices(registry)
    return choices, [value for _, value in choices[:2]]


def example_choices(task: str | Task) -> tuple[list[str], list[str]]:
    names = [e.name for e in adapter_for(task).examples()]
    return names, names[:1]


def history_choices(selected: str | None = None) -> tuple[list[tuple[str, str]], str | None]:
    runs = history()
    value = selected if selected in {r for _, r in runs} else (runs[0][1] if runs else None)
    return runs, value


def history_updates(selected: str | None = None) -> tuple[gr.Dropdown, gr.Dropdown]:
    runs, value = history_choices(selected)
    return (gr.Dropdown(choices=runs, value=value),
            gr.Dropdown(choices=runs, value=[], multiselect=True))


# --------------------------------------------------------------------------------------------
# Result -> widget values


def summary(result: BenchResult) -> str:
    counts = {s: sum(r.status == s for r in result.rows) for s in ("ok", "unavailable", "failed")}
    title = next((t.title for t in TASKS if t.id == result.task), result.task)
    text = (f"**{title}** · {len(result.backends)} "
            f"backend(s) × {len(result.inputs)} input(s), seed {result.seed}: "
            f"{counts['ok']} ok, {counts['unavailable']} unavailable, {counts['failed']} failed. "
            f"Run `{result.run_id}`, folder `{result.path}`.")
    notes = result.notes + [f"{r.label}: {r.reason}" for r in result.rows if r.reason]
    return text + "".join(f"\n\n> {note}" for note in dict.fromkeys(notes))


def best_cells(result: BenchResult) -> set[tuple[int, str]]:
    """(row index, header) of the best value in each column, among the ok rows of each input
    (directions from the metrics table, :mod:`metrics.table`)."""
    keys = [(k, h) for k, h in BASE_COLUMNS] + [(m, m) for m in result.metric_columns]
    marked: set[tuple[int, str]] = set()
    for name in {r.input for r in result.rows}:
        rows = [(i, r) for i, r in enumerate(result.rows) if r.input == name and r.status == OK]
        for key, header in keys:
            pick = best_index(key, [r.value(key) for _, r in rows])
            if pick is not None:
                marked.add((rows[pick][0], header))
    return marked


def table(result: BenchResult) -> Any:
    """The results table, the best value of each column (per input) in bold."""
    frame = pd.DataFrame(result.table(), columns=result.headers)
    marked = best_cells(result)
    if not marked:
        return frame

    def bold(column: pd.Series) -> list[str]:
        return ["font-weight: bold; color: #15803d" if (i, column.name) in marked else ""
                for i in range(len(column))]

    return frame.style.apply(bold)


def bar_frame(result: BenchResult, key: str) -> pd.DataFrame:
    """Long form for a bar chart: one bar per ok row with a value for ``key``."""
    records = [{"row": r.label, "backend": r.backend, "input": r.input, "value": r.value(key)}
               for r in result.rows if r.status == OK and r.value(key) is not None]
    return pd.DataFrame(records, columns=["row", "backend", "input", "value"])


def bar_frame_empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["row", "backend", "input", "value"])


def memory_key(result: BenchResult) -> str:
    return "peak_cuda_mb" if any(r.peak_cuda_mb is not None for r in result.rows) \
        else "peak_rss_mb"


def series_frame(result: BenchResult, name: str | None) -> pd.DataFrame:
    records = [{"frame": i, "value": v, "row": r.label}
               for r in result.rows for i, v in enumerate(r.series.get(name or "", []))]
    return pd.DataFrame(records, columns=["frame", "value", "row"])


def default_metric(result: BenchResult) -> str | None:
    for name in result.metric_columns:
        if any(r.metrics.get(name) is not None for r in result.rows):
            return name
    return result.metric_columns[0] if result.metric_columns else None


def default_series(result: BenchResult) -> str | None:
    present = [n for n in result.series_names if any(r.series.get(n) for r in result.rows)]
    return present[0] if present else None


def views(result: BenchResult) -> tuple[Any, ...]:
    """Every result widget's value, in the order of the tab's ``result_outputs``."""
    metric, series = default_metric(result), default_series(result)
    present = [n for n in result.series_names if any(r.series.get(n) for r in result.rows)]
    memory = memory_key(result)
    return (
        summary(result),
        table(result),
        bar_frame(result, "seconds"),
        gr.BarPlot(value=bar_frame(result, memory),
                   y_title="peak CUDA MB" if memory == "peak_cuda_mb" else "peak RSS MB"),
        gr.Dropdown(choices=result.metric_columns, value=metric),
        bar_frame(result, metric) if metric else bar_frame_empty(),
        gr.Dropdown(choices=present, value=series),
        series_frame(result, series),
        result.gallery(),
        [str(result.csv_path), str(result.json_path)],
        result.run_id,
    )


# --------------------------------------------------------------------------------------------
# Layout and events


def build(registry: Registry, tasks: Sequence[Task] = TASKS):
    """Lay out the tab; returns the (handler, outputs) that refresh its history when opened."""
    gr.Markdown(ui_text("benchmark"))
    by_id = {t.id: t for t in tasks}

    def declared(task_name: str) -> Task:
        if task_name not in by_id:
            raise InputError(f"The benchmark has no task '{task_name}'; pick one of "
                             f"{', '.join(by_id)}.")
        return by_id[task_name]

    default = by_id.get(DEFAULT_TASK) or tasks[0]
    with gr.Row():
        task = gr.Dropdown([(t.title, t.id) for t in tasks], value=default.id, label="Task",
                           scale=2)
        seed = gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed", scale=1)
        warmup = gr.Checkbox(False, label="Warm-up call per backend (untimed)", scale=1)
    # Multi-select dropdowns that accept any value: API callers name backends and examples of
    # any task without first switching the task (the handler checks them against the task).
    choices, picked = backend_choices(registry, default)
    backends = gr.Dropdown(choices=choices, value=picked, multiselect=True,
                           allow_custom_value=True, label="Backends (pick two or more)",
                           info="name:variant is the same backend with other settings. Model "
                                "backends load on first use.")
    with gr.Row():
        names, ticked = example_choices(default)
        examples = gr.Dropdown(choices=names, value=ticked, multiselect=True,
                               allow_custom_value=True, label="Example inputs")
        uploads = gr.File(file_count="multiple", type="filepath",
                          label="Your inputs (several files at once)")
    run_button = gr.Button("Run benchmark", variant="primary")

    info = gr.Markdown()
    results = gr.Dataframe(pd.DataFrame(columns=[h for _, h in BASE_COLUMNS]), label="Results",
                           interactive=False, wrap=True, max_height=420)
    with gr.Row():
        time_plot = gr.BarPlot(x="row", y="value", color="backend", title="Seconds per call",
                               y_title="seconds", x_title="", x_label_angle=-30)
        memory_plot = gr.BarPlot(x="row", y="value", color="backend", title="Peak memory",
                                 y_title="MB", x_title="", x_label_angle=-30)
    with gr.Row():
        with gr.Column():
            metric = gr.Dropdown(label="Quality metric", choices=[])
            quality_plot = gr.BarPlot(x="row", y="value", color="backend", title="Quality",
                                      y_title="value", x_title="", x_label_angle=-30)
        with gr.Column():
            series = gr.Dropdown(label="Per-frame metric (videos)", choices=[])
            line_plot = gr.LinePlot(x="frame", y="value", color="row", title="Per frame pair",
                                    x_title="frame pair", y_title="value")
    gallery = gr.Gallery(label="Outputs side by side", columns=4, height=420,
                         object_fit="contain")
    downloads = gr.File(label="results.csv and results.json", file_count="multiple",
                        interactive=False)
    run_id = gr.Textbox(label="Run id", interactive=False)

    with gr.Accordion("Earlier runs", open=False):
        runs, latest = history_choices()
        with gr.Row():
            earlier = gr.Dropdown(choices=runs, value=latest, label="Run", scale=4)
            refresh = gr.Button("Refresh", scale=1)
            reopen = gr.Button("Open", scale=1)
        with gr.Row():
            chosen = gr.Dropdown(choices=runs, value=[], multiselect=True,
                                 label="Runs to compare", scale=4)
            compare_button = gr.Button("Compare", scale=1)
        compared = gr.Dataframe(label="Runs compared", interactive=False, wrap=True)

    result_outputs = [info, results, time_plot, memory_plot, metric, quality_plot, series,
                      line_plot, gallery, downloads, run_id]

    @gpu(duration=600)
    @user_errors
    def do_run(task_name, backend_names, example_names, files, seed_value, warm,
               progress=gr.Progress()):  # noqa: B008 (Gradio's progress hook)
        names = list(backend_names or [])
        if len(names) < 2:
            raise InputError("Pick two or more backends to compare them.")
        if seed_value is None or float(seed_value) != int(float(seed_value)):
            raise InputError("The seed must be a whole number.")
        paths = [f if isinstance(f, str) else f.name for f in (files or [])]
        adapter = adapter_for(declared(task_name))
        inputs = adapter.select_inputs(list(example_names or []), paths)
        result = run_bench(registry, declared(task_name), names, inputs,
                           seed=int(float(seed_value)),
                           warmup=bool(warm), progress=progress_callback(progress))
        return (*views(result), *history_updates(result.run_id))

    @user_errors
    def do_task(task_name):
        chosen_task = declared(task_name)
        (backend_list, backend_values), (example_list, example_values) = (
            backend_choices(registry, chosen_task), example_choices(chosen_task))
        return (gr.Dropdown(choices=backend_list, value=backend_values),
                gr.Dropdown(choices=example_list, value=example_values))

    @user_errors
    def do_history():
        return history_updates()

    @user_errors
    def do_open(chosen_run):
        if not chosen_run:
            raise InputError("Pick an earlier run to open (press Refresh if the list is empty).")
        return views(open_run(chosen_run))

    @user_errors
    def do_compare(chosen_runs):
        if not chosen_runs or len(chosen_runs) < 2:
            raise InputError("Pick two or more earlier runs to compare.")
        headers, rows = compare([open_run(r) for r in chosen_runs])
        return pd.DataFrame(rows, columns=headers)

    @user_errors
    def do_metric(current, name):
        if not current or not name:
            return bar_frame_empty()
        return bar_frame(open_run(current), name)

    @user_errors
    def do_series(current, name):
        if not current or not name:
            return pd.DataFrame(columns=["frame", "value", "row"])
        return series_frame(open_run(current), name)

    private = {"api_visibility": "private"}
    task.change(do_task, task, [backends, examples], **private)
    run_button.click(
        do_run,
        [task, backends, examples, uploads, seed, warmup],
        [*result_outputs, earlier, chosen],
        api_name="benchmark",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
    metric.change(do_metric, [run_id, metric], quality_plot, show_progress="hidden", **private)
    series.change(do_series, [run_id, series], line_plot, show_progress="hidden", **private)
    refresh.click(do_history, None, [earlier, chosen], api_name="benchmark_history")
    reopen.click(do_open, earlier, result_outputs, api_name="benchmark_open")
    compare_button.click(do_compare, chosen, compared, api_name="benchmark_compare")
    return do_history, [earlier, chosen]
