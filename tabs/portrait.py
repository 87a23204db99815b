"""Portrait animation tab: one picture in; an MP4, a GIF and a strip of preview frames out.

Every setting's widget comes from the task's schema (:mod:`pipelines.portrait.settings`); this
module only lays them out and wires the events.
"""

from __future__ import annotations

import random

import gradio as gr

from pipelines.portrait import TASK
from pipelines.portrait.job import finish
from pipelines.registry import Registry
from pipelines.task import run_job
from tabs.common import (
    ACCELERATOR,
    ACCELERATOR_CONCURRENCY,
    ASSETS,
    backend_dropdown,
    backend_updates,
    gpu,
    image_upload,
    progress_callback,
    setting_widgets,
    ui_text,
    user_errors,
)
from tabs.downloads import build_panel, fetch_first

TITLE = TASK.title
MAX_SEED = 2**31 - 1
MAIN = ("camera", "motions", "strength", "loop", "motion_bucket_id", "noise_aug_strength",
        "prompt", "negative_prompt", "guidance")


def duration_text(frames: float, fps: float) -> str:
    return f"Duration: **{float(frames) / max(float(fps), 1e-6):.2f} s**"


def build(registry: Registry) -> None:
    gr.Markdown(ui_text(TASK.id))
    with gr.Row():
        with gr.Column(scale=1):
            image = image_upload(label="Picture", sources=["upload", "clipboard"], height=340)
            backend = backend_dropdown(registry, TASK.id)
            build_panel(registry, backend)
            widgets = setting_widgets(TASK, MAIN)
            with gr.Row():
                widgets.update(setting_widgets(TASK, ("frames", "fps")))
            duration = gr.Markdown(duration_text(widgets["frames"].value, widgets["fps"].value))
            with gr.Row():
                seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed",
                                 scale=4)
                randomize = gr.Button("Random seed", scale=1)
            with gr.Accordion("Advanced settings", open=False):
                widgets.update(setting_widgets(TASK, advanced=True))
            run = gr.Button("Animate", variant="primary")
        with gr.Column(scale=1):
            video = gr.Video(label="Video (MP4)", autoplay=True, loop=True, interactive=False)
            gif = gr.Image(label="GIF", type="filepath", interactive=False)
            strip = gr.Image(label="Preview frames", type="filepath", interactive=False)
            summary = gr.Markdown()
            manifest = gr.File(label="Run manifest", interactive=False)
    examples = [ASSETS / path for path in TASK.examples if (ASSETS / path).is_file()]
    if examples:
        default = registry.default(TASK.id).id
        gr.Examples([[str(path), default] for path in examples],
                    inputs=[image, backend], label="Examples (public-domain and CC0 pictures)")

    # -- events ----------------------------------------------------------------------------------
    names = list(widgets)
    update = backend_updates(TASK, registry, names)
    backend.change(update, backend, [widgets[n] for n in names], api_visibility="private")
    for name in ("frames", "fps"):
        widgets[name].change(duration_text, [widgets["frames"], widgets["fps"]], duration,
                             api_visibility="private", queue=False)
    randomize.click(lambda: random.randint(0, MAX_SEED), None, seed,
                    api_name="portrait_random_seed", queue=False)
    rest = [n for n in TASK.settings.names if n not in ("frames", "fps")]

    @gpu(duration=300)
    @user_errors
    def do_animate(picture, spec_id, frames, fps, seed_value, *values,
                   progress=gr.Progress()):  # noqa: B008 (Gradio's way of asking for progress)
        settings = {"frames": frames, "fps": fps, **dict(zip(rest, values, strict=True))}
        out = finish(run_job(registry, TASK, spec_id, {"image": picture}, settings,
                             seed=int(seed_value or 0), progress=progress_callback(progress),
                      fetch=fetch_first(registry, progress)))
        width, height = out.size
        lines = [f"**{out.frames} frames**, {width}x{height}, {out.fps:g} fps "
                 f"({out.frames / out.fps:.2f} s). Run folder: `{out.run_dir.name}`."]
        lines += [f"- {note}" for note in out.notes]
        return str(out.video), str(out.gif), str(out.strip), "\n".join(lines), str(out.manifest)

    run.click(
        do_animate,
        [image, backend, widgets["frames"], widgets["fps"], seed, *[widgets[n] for n in rest]],
        [video, gif, strip, summary, manifest],
        api_name=TASK.event_name,
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
