"""Benchmarking tab. Being built; it shows what it will compare meanwhile."""

from __future__ import annotations

import gradio as gr

from pipelines.registry import Registry
from tabs.common import backends_table, ui_text

TITLE = "Benchmark"
TASK = None
TASKS = ("portrait", "talking_head", "style", "super_res", "keyframes")


def build(registry: Registry) -> None:
    gr.Markdown(ui_text("benchmark"))
    sections = [f"**{task}**\n\n{backends_table(registry, task)}" for task in TASKS]
    intro = "**This tab is being built.** Backends it will compare:\n\n"
    gr.Markdown(intro + "\n\n".join(sections))
