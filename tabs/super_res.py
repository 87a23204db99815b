"""Super-resolution tab: images (before/after slider, quality metrics) and videos.

Every setting's widget comes from the task's schema (:mod:`pipelines.super_res.settings`); this
module lays them out and wires the two events (``/super_res`` for images, ``/super_res_video``
for videos), both running the task's job through :func:`pipelines.task.run_job`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from pipelines.errors import InputError
from pipelines.interpolate import TASK as INTERPOLATE
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine
from pipelines.super_res import TASK
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
    setting_widgets,
    task_widget,
    ui_text,
    user_errors,
)
from tabs.downloads import build_panel, fetch_first

if TYPE_CHECKING:  # the job module imports numpy and OpenCV: loaded on first use
    from pipelines.super_res.job import ImageJobResult, VideoJobResult

TITLE = TASK.title
DIMENSIONS = ("space", "time", "both")
VIDEO_TIME = ("time_factor", "time_fps", "time_backend")
EXAMPLES = ASSETS / TASK.id


def _seconds(timings: dict[str, float]) -> str:
    return f"{sum(timings.values()):.2f} s"


def _notes(notes: list[str]) -> str:
    return "".join(f"\n\n> {note}" for note in notes)


def image_summary(result: ImageJobResult) -> str:
    (w, h), (ow, oh) = result.input_size, result.output_size
    text = (f"**{w}x{h} → {ow}x{oh}** on {result.device} ({result.dtype}) in "
            f"{_seconds(result.timings)}. Run folder: `{result.run_dir}`")
    metrics = result.metrics
    if metrics:
        psnr = "∞ (identical)" if metrics["psnr"] is None else f"{metrics['psnr']:.2f} dB"
        lpips = "n/a" if metrics["lpips"] is None else f"{metrics['lpips']:.4f}"
        text += (f"\n\n| {metrics['mode']} ({metrics['compared']}) | value |\n|---|---|\n"
                 f"| PSNR (higher is better) | {psnr} |\n"
                 f"| SSIM (1 is identical) | {metrics['ssim']:.4f} |\n"
                 f"| LPIPS (0 is identical) | {lpips} |")
        if metrics["lpips_note"]:
            text += f"\n\n_{metrics['lpips_note']}_"
    return text + _notes(result.notes)


def video_summary(result: VideoJobResult) -> str:
    (w, h), (ow, oh) = result.input_size, result.output_size
    audio = "audio kept" if result.has_audio else "no audio track"
    return (f"**{w}x{h} → {ow}x{oh}**, {result.frames} frames at {result.fps:g} fps, {audio}; "
            f"{result.frames_per_second:.2f} frames/s on {result.device} ({result.dtype}). "
            f"Run folder: `{result.run_dir}`" + _notes(result.notes))


def build(registry: Registry) -> None:
    gr.Markdown(ui_text(TASK.id))
    widgets = {}
    default = default_backend(registry, TASK)
    with gr.Row():
        backend = backend_dropdown(registry, TASK.id, scale=3, allow_custom_value=True)
        widgets["scale"] = task_widget(TASK, "scale", default, scale=2)
    build_panel(registry, backend)
    with gr.Accordion("Advanced settings", open=False), gr.Row():
        widgets.update(setting_widgets(TASK, ("tile", "format"), backend=default))
    with gr.Tabs():
        with gr.Tab("Image"):
            with gr.Row():
                with gr.Column():
                    image = image_upload(label="Image", sources=["upload", "clipboard"])
                    with gr.Accordion("Quality check", open=False):
                        reference = image_upload(label="Reference: the high-resolution original",
                                                 sources=["upload", "clipboard"])
                        widgets.update(setting_widgets(TASK, ("self_check",), backend=default))
                    image_button = gr.Button("Upscale image", variant="primary")
                with gr.Column():
                    slider = gr.ImageSlider(label="Before (nearest) / after", format="png",
                                            interactive=False)
                    image_file = gr.File(label="Result")
                    image_info = gr.Markdown()
            gr.Examples(
                examples=[
                    [str(EXAMPLES / "astronaut_128.png"), str(EXAMPLES / "astronaut_256.png")],
                    [str(EXAMPLES / "coffee_160.jpg"), None],
                    [str(EXAMPLES / "logo_rgba.png"), None],
                ],
                inputs=[image, reference],
                label="Examples (the astronaut comes with its original as the reference)",
            )
        with gr.Tab("Video"):
            with gr.Row():
                with gr.Column():
                    video = gr.Video(label="Video", sources=["upload"])
                    dimension = gr.Radio(DIMENSIONS, value="space",
                                         label="Super-resolution in",
                                         info="space: more pixels; time: more frames (frame "
                                              "interpolation); both: upscale, then interpolate")
                    with gr.Row():
                        widgets.update(setting_widgets(TASK, VIDEO_TIME, backend=default))
                    video_button = gr.Button("Upscale video", variant="primary")
                with gr.Column():
                    video_out = gr.Video(label="Upscaled (H.264, original audio)",
                                         interactive=False)
                    video_info = gr.Markdown()
            gr.Examples(examples=[[str(EXAMPLES / "pan_160x120.mp4")]], inputs=[video])

    names = list(widgets)
    backend.change(backend_updates(TASK, registry, names), backend,
                   [widgets[n] for n in names], api_visibility="private")
    scale, tile = widgets["scale"], widgets["tile"]

    @gpu()
    @user_errors
    def upscale_image(path, reference_path, backend_id, factor, tile_side, output_format,
                      check, progress=gr.Progress()):  # noqa: B008 (Gradio's progress hook)
        from pipelines.super_res.job import image_result

        settings = {"scale": factor, "tile": tile_side, "format": output_format,
                    "self_check": check}
        out = run_job_on_engine(registry, TASK, backend_id,
                                {"image": path, "reference": reference_path},
                                settings, progress=progress_callback(progress),
                                fetch=fetch_first(registry, progress))
        result = image_result(out)
        return (result.before, str(result.output)), str(result.output), image_summary(result)

    @gpu(duration=600)
    @user_errors
    def upscale_video(path, backend_id, factor, tile_side, mode="space", time_factor=2,
                      time_fps=0.0, time_backend="classical",
                      progress=gr.Progress()):  # noqa: B008 (Gradio's progress hook)
        from pipelines.super_res.job import video_result

        if mode not in DIMENSIONS:
            raise InputError(f"Super-resolution in {mode!r}? Use one of "
                             f"{', '.join(DIMENSIONS)}.")
        if mode == "time":  # frames only: the frame interpolation task, in this tab
            out = run_job_on_engine(registry, INTERPOLATE, time_backend, {"video": path},
                                    {"factor": max(2, int(time_factor)), "fps": time_fps},
                                    progress=progress_callback(progress),
                                    fetch=fetch_first(registry, progress))
            return str(out.outputs["video"]), f"**{out.summary}**" + "".join(
                f"\n- {note}" for note in out.notes)
        timing = {"time_factor": time_factor, "time_fps": time_fps,
                  "time_backend": time_backend} if mode == "both" else {}
        out = run_job_on_engine(registry, TASK, backend_id, {"video": path},
                                {"scale": factor, "tile": tile_side, **timing},
                                progress=progress_callback(progress),
                                fetch=fetch_first(registry, progress))
        result = video_result(out)
        return str(result.output), video_summary(result)

    image_button.click(
        upscale_image,
        [image, reference, backend, scale, tile, widgets["format"], widgets["self_check"]],
        [slider, image_file, image_info],
        api_name="super_res",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
    video_button.click(
        upscale_video,
        [video, backend, scale, tile, dimension, *[widgets[n] for n in VIDEO_TIME]],
        [video_out, video_info],
        api_name="super_res_video",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
