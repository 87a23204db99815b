"""Style transfer tab: an image or a video in the style of an image, flicker-free for videos."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from pipelines.errors import InputError
from pipelines.media import VIDEO_SUFFIXES
from pipelines.registry import Registry
from pipelines.style.job import IMAGE_FORMATS, StyleJob, run_job
from pipelines.style.types import CLASSICAL_METHODS, StyleResult
from tabs.common import (
    ACCELERATOR,
    ACCELERATOR_CONCURRENCY,
    ASSETS,
    backend_dropdown,
    gpu,
    image_upload,
    progress_callback,
    ui_text,
    user_errors,
)

TITLE = "Style transfer"
TASK = "style"
EXAMPLES = ASSETS / TASK
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
    gr.Markdown(ui_text(TASK))
    with gr.Row():
        backend = backend_dropdown(registry, TASK, scale=3, allow_custom_value=True)
        method = gr.Dropdown(list(CLASSICAL_METHODS), value="reinhard", scale=2,
                             label="Classical method", info="Used by the classical backend.")
        strength = gr.Slider(0, 1, value=0.8, step=0.05, label="Strength", scale=2,
                             info="0 keeps the content; 1 is full style (AdaIN: alpha).")
    with gr.Row():
        style = image_upload(label="Style image", sources=["upload", "clipboard"], min_width=300)
        with gr.Accordion("Advanced settings", open=False):
            style2 = image_upload(label="Second style image (optional)",
                                  sources=["upload", "clipboard"])
            mix = gr.Slider(0, 1, value=0.5, step=0.05, label="Second style weight")
            keep = gr.Checkbox(label="Keep the content's colours")
            blend = gr.Slider(0, 0.95, value=0.7, step=0.05, label="Temporal blend weight",
                              info="Video: how much of the warped previous frame is kept.")
            max_side = gr.Slider(128, 2048, value=1024, step=32, label="Max side (pixels)")
            fmt = gr.Radio(list(IMAGE_FORMATS), value="png", label="Image output format")
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
                    consistent = gr.Checkbox(value=True, label="Temporal consistency",
                                             info="Optical-flow blending; resets at scene cuts.")
                    video_button = gr.Button("Stylise video", variant="primary")
                with gr.Column():
                    video_out = gr.Video(label="Stylised (H.264, original audio)",
                                         interactive=False)
                    metrics = gr.Dataframe(headers=METRIC_HEADERS, label="Temporal stability "
                                           "(lower is steadier)", interactive=False)
                    video_info = gr.Markdown()
            gr.Examples([[str(EXAMPLES / "pan_cut.mp4"), str(EXAMPLES / "style_rocket.jpg")]],
                        inputs=[video, style])

    def job(content, style_path, backend_id, method_name, amount, style2_path, weight,
            keep_colours, blend_weight, side, output_format, is_consistent=True) -> StyleJob:
        if not style_path:
            raise InputError("Upload a style image first.")
        return StyleJob(content, style_path, backend_id, style2_path or None, float(weight),
                        method_name, float(amount), bool(keep_colours), bool(is_consistent),
                        float(blend_weight), int(side), output_format)

    @gpu()
    @user_errors
    def stylise_image(path, style_path, backend_id, method_name, amount, style2_path, weight,
                      keep_colours, blend_weight, side, output_format,
                      progress=gr.Progress()):  # noqa: B008 (Gradio's progress hook)
        if not path:
            raise InputError("Upload a content image first.")
        spec = job(path, style_path, backend_id, method_name, amount, style2_path, weight,
                   keep_colours, blend_weight, side, output_format)
        run, result = run_job(registry, spec, progress_callback(progress))
        return str(result.output), str(result.output), summary(result, str(run.path))

    @gpu(duration=600)
    @user_errors
    def stylise_video(path, style_path, backend_id, method_name, amount, is_consistent,
                      style2_path, weight, keep_colours, blend_weight, side,
                      progress=gr.Progress()):  # noqa: B008 (Gradio's progress hook)
        if not path:
            raise InputError("Upload a content video first.")
        if Path(path).suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError("This file is not a video (MP4, MOV, WebM, MKV); use the Image tab "
                             "for pictures.")
        spec = job(path, style_path, backend_id, method_name, amount, style2_path, weight,
                   keep_colours, blend_weight, side, "png", is_consistent)
        run, result = run_job(registry, spec, progress_callback(progress))
        return str(result.output), metric_rows(result), summary(result, str(run.path))

    shared = [style, backend, method, strength]
    advanced = [style2, mix, keep, blend, max_side]
    image_button.click(
        stylise_image,
        [image, *shared, *advanced, fmt],
        [image_out, image_file, image_info],
        api_name="style",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
    video_button.click(
        stylise_video,
        [video, *shared, consistent, *advanced],
        [video_out, metrics, video_info],
        api_name="style_video",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
