"""Style transfer tab: an image or a video in the style of an image, flicker-free for videos."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from pipelines.errors import InputError
from pipelines.media import VIDEO_SUFFIXES
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine
from pipelines.style import TASK
from pipelines.style.job import finish
from pipelines.style.types import StyleResult
from tabs.common import (
    ACCELERATOR,
    ACCELERATOR_CONCURRENCY,
    ASSETS,
    backend_dropdown,
    backend_updates,
    default_backend,
    gpu,
    image_upload,
    progress_callback,
    task_widget,
    ui_text,
    user_errors,
)
from tabs.downloads import build_panel, fetch_first

TITLE = TASK.title
EXAMPLES = ASSETS / TASK.id
# The settings each API event takes after its content, style image and backend, in order (the
# second style image, an input, sits before "mix"): the order from before the settings schema,
# with "measure" added last to /style_video (gradio_client fills in its default when left out).
IMAGE_SETTINGS = ("method", "strength", "mix", "keep_colours", "blend", "max_side", "fmt")
VIDEO_SETTINGS = ("method", "strength", "consistent", "mix", "keep_colours", "blend", "max_side",
                  "measure")
METRIC_HEADERS = ["stream", "warping error", "flicker"]


def _notes(notes: list[str]) -> str:
    return "".join(f"\n\n> {note}" for note in notes)


def summary(result: StyleResult, run_dir: str) -> str:
    seconds = sum(result.timings.values())
    what = (f"{result.frames} frames at {result.fps:g} fps" if result.is_video else "image")
    text = (f"**{result.width}x{result.height}** {what} in {seconds:.2f} s. "
            f"Run folder: `{run_dir}`")
    if result.is_video:
        cuts = ", ".join(str(c) for c in result.cuts) or "none"
        text += f"\n\nScene cuts (consistency restarts there): {cuts}."
    return text + _notes(result.notes)


def metric_rows(result: StyleResult) -> list[list]:
    """Warping error and flicker per stream (lower is steadier); empty without measurements."""
    if not result.before:
        return []
    return [["per-frame stylisation", round(result.before["warping_error"], 6),
             round(result.before["flicker"], 6)],
            ["output", round(result.after["warping_error"], 6),
             round(result.after["flicker"], 6)]]


def build(registry: Registry) -> None:
    gr.Markdown(ui_text(TASK.id))
    default = default_backend(registry, TASK)

    def widget(name: str, **kwargs) -> gr.Component:
        return task_widget(TASK, name, default, **kwargs)

    with gr.Row():
        backend = backend_dropdown(registry, TASK.id, scale=3, allow_custom_value=True)
        widgets = {"method": widget("method", scale=2), "strength": widget("strength", scale=2)}
    build_panel(registry, backend)
    with gr.Row():
        style = image_upload(label="Style image", sources=["upload", "clipboard"], min_width=300)
        with gr.Accordion("Advanced settings", open=False):
            style2 = image_upload(label="Second style image (optional)",
                                  sources=["upload", "clipboard"])
            for name in ("mix", "keep_colours", "blend", "max_side"):
                widgets[name] = widget(name)
            widgets["fmt"] = widget("fmt")
    with gr.Tabs():
        with gr.Tab("Image"):
            with gr.Row():
                with gr.Column():
                    image = image_upload(label="Content image", sources=["upload", "clipboard"])
                    image_button = gr.Button("Stylise image", variant="primary")
                with gr.Column():
                    image_out = gr.Image(label="Stylised", interactive=False)
                    image_file = gr.File(label="Result")
                    image_info = gr.Markdown()
            gr.Examples([[str(EXAMPLES / "content_cat.jpg"), str(EXAMPLES / "style_coffee.jpg")]],
                        inputs=[image, style])
        with gr.Tab("Video"):
            with gr.Row():
                with gr.Column():
                    video = gr.Video(label="Content video", sources=["upload"])
                    widgets["consistent"] = widget("consistent")
                    widgets["measure"] = widget("measure")
                    video_button = gr.Button("Stylise video", variant="primary")
                with gr.Column():
                    video_out = gr.Video(label="Stylised (H.264, original audio)",
                                         interactive=False)
                    metrics = gr.Dataframe(headers=METRIC_HEADERS, label="Temporal stability "
                                           "(lower is steadier)", interactive=False)
                    video_info = gr.Markdown()
            gr.Examples([[str(EXAMPLES / "pan_cut.mp4"), str(EXAMPLES / "style_rocket.jpg")]],
                        inputs=[video, style])

    names = list(widgets)
    backend.change(backend_updates(TASK, registry, names), backend,
                   [widgets[n] for n in names], api_visibility="private")

    def stylise(content, style_path, backend_id, style2_path, values: dict, progress):
        if not style_path:
            raise InputError("Upload a style image first.")
        inputs = {"content": content, "style": style_path, "style2": style2_path or None}
        out = run_job_on_engine(registry, TASK, backend_id, inputs, values,
                                progress=progress_callback(progress),
                                fetch=fetch_first(registry, progress))
        return out, finish(out)

    @gpu()
    @user_errors
    def stylise_image(path, style_path, backend_id, method_name, amount, style2_path, *rest,
                      progress=gr.Progress()):  # noqa: B008 (Gradio's progress hook)
        if not path:
            raise InputError("Upload a content image first.")
        values = dict(zip(IMAGE_SETTINGS, (method_name, amount, *rest), strict=True))
        out, result = stylise(path, style_path, backend_id, style2_path, values, progress)
        return str(result.output), str(result.output), summary(result, str(out.run_dir))

    @gpu(duration=600)
    @user_errors
    def stylise_video(path, style_path, backend_id, method_name, amount, is_consistent,
                      style2_path, *rest,
                      progress=gr.Progress()):  # noqa: B008 (Gradio's progress hook)
        if not path:
            raise InputError("Upload a content video first.")
        if Path(path).suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError("This file is not a video (MP4, MOV, WebM, MKV); use the Image tab "
                             "for pictures.")
        values = dict(zip(VIDEO_SETTINGS, (method_name, amount, is_consistent, *rest),
                          strict=True))
        out, result = stylise(path, style_path, backend_id, style2_path, values, progress)
        return str(result.output), metric_rows(result), summary(result, str(out.run_dir))

    shared = [style, backend, widgets["method"], widgets["strength"]]
    advanced = [style2, *[widgets[n] for n in ("mix", "keep_colours", "blend", "max_side")]]
    image_button.click(
        stylise_image,
        [image, *shared, *advanced, widgets["fmt"]],
        [image_out, image_file, image_info],
        api_name=TASK.event_name,
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
    video_button.click(
        stylise_video,
        [video, *shared, widgets["consistent"], *advanced, widgets["measure"]],
        [video_out, metrics, video_info],
        api_name="style_video",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
