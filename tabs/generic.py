"""A tab for a task that declares none: inputs by kind, a backend picker, the task's settings as
widgets (advanced ones in an accordion), and its output files, summary, notes and manifest.

Any task of :data:`pipelines.tasks.TASKS` is served this way until it wants a layout of its own.
"""

from __future__ import annotations

import gradio as gr

from pipelines.media import media_kind
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine
from pipelines.task import Input, Task
from tabs.common import (
    ACCELERATOR,
    ACCELERATOR_CONCURRENCY,
    ASSETS,
    backend_dropdown,
    backend_updates,
    default_backend,
    gpu,
    image_upload,
    panel_visible,
    progress_callback,
    setting_widgets,
    ui_text,
    user_errors,
)
from tabs.downloads import build_panel, fetch_first

MAX_SEED = 2**31 - 1


def input_widget(item: Input) -> gr.Component:
    label = item.label + (" (optional)" if item.optional else "")
    if item.kind == "image":
        return image_upload(label=label, sources=["upload", "clipboard"])
    if item.kind == "video":
        return gr.Video(label=label, sources=["upload"])
    if item.kind == "audio":
        return gr.Audio(label=label, type="filepath")
    if item.kind == "text":
        return gr.Textbox(label=label)
    return gr.File(label=label, type="filepath")


def build(registry: Registry, task: Task) -> None:
    gr.Markdown(ui_text(task.id) or f"### {task.title}")
    with gr.Row():
        with gr.Column(scale=1):
            inputs = [input_widget(item) for item in task.inputs]
            backend = backend_dropdown(registry, task.id)
            build_panel(registry, backend)
            default = default_backend(registry, task)
            widgets = setting_widgets(task, backend=default, advanced=False)
            seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed")
            advanced = [s.name for s in task.settings if s.advanced]
            with gr.Accordion("Advanced settings", open=False,
                              visible=panel_visible(task, advanced, default)) as accordion:
                widgets.update(setting_widgets(task, backend=default, advanced=True))
            run = gr.Button("Run", variant="primary")
        with gr.Column(scale=1):
            video = gr.Video(label="Video", interactive=False)
            image = gr.Image(label="Image", type="filepath", interactive=False)
            files = gr.File(label="Outputs", file_count="multiple", interactive=False)
            summary = gr.Markdown()
            manifest = gr.File(label="Run manifest", interactive=False)
    examples = [ASSETS / p for p in task.examples if (ASSETS / p).is_file()]
    if examples and inputs:
        gr.Examples([[str(p)] for p in examples], inputs=[inputs[0]], label="Examples")

    names = list(widgets)
    if names:
        backend.change(backend_updates(task, registry, names, [advanced]), backend,
                       [*[widgets[n] for n in names], accordion], api_visibility="private")
    order = [n for n in task.settings.names if n in widgets]

    @gpu(duration=300)
    @user_errors
    def do_run(*values, progress=gr.Progress()):  # noqa: B008 (Gradio's progress hook)
        given = dict(zip([i.name for i in task.inputs], values[:len(task.inputs)], strict=True))
        spec_id, seed_value, *rest = values[len(task.inputs):]
        out = run_job_on_engine(registry, task, spec_id, given, dict(zip(order, rest, strict=True)),
                                seed=int(seed_value or 0), progress=progress_callback(progress),
                                fetch=fetch_first(registry, progress))
        lines = [f"**{out.summary or 'Done.'}** Run folder: `{out.run_dir.name}`."]
        lines += [f"- {note}" for note in out.notes]
        paths = [str(p) for p in out.outputs.values()]
        first_video = next((p for p in paths if media_kind(p) == "video"), None)
        first_image = next((p for p in paths if media_kind(p) == "image"), None)
        return first_video, first_image, paths, "\n".join(lines), str(out.manifest)

    run.click(do_run, [*inputs, backend, seed, *[widgets[n] for n in order]],
              [video, image, files, summary, manifest], api_name=task.event_name,
              concurrency_id=ACCELERATOR, concurrency_limit=ACCELERATOR_CONCURRENCY)
