"""The app's tabs: one per task (the task's own layout module, or the generic tab built from its
settings schema), in the order of :data:`pipelines.tasks.TASKS`, then Benchmark and Models."""

from __future__ import annotations

import importlib

import gradio as gr

from pipelines.registry import Registry
from pipelines.task import Task

TOOL_TABS = ("tabs.benchmark", "tabs.models")  # tabs that serve every task


def build_tabs(registry: Registry, tasks: tuple[Task, ...] | None = None) -> None:
    """Lay out every tab inside the current ``gr.Tabs``."""
    from pipelines.tasks import TASKS
    from tabs import generic

    tasks = TASKS if tasks is None else tasks
    for task in tasks:
        with gr.Tab(task.title, id=task.id):
            if task.tab:
                importlib.import_module(task.tab).build(registry)
            else:
                generic.build(registry, task)
    for name in TOOL_TABS:
        module = importlib.import_module(name)
        with gr.Tab(module.TITLE, id=name.rsplit(".", 1)[-1]) as page:
            on_select = module.build(registry, tasks) if name == "tabs.benchmark" \
                else module.build(registry)
        if on_select is not None:  # a tab may ask to refresh itself when opened
            handler, outputs = on_select
            page.select(handler, None, outputs, show_progress="hidden", api_visibility="private")
