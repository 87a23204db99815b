"""Keyframe extraction tab: shots, representative frames, contact sheet, shot list, score plot.

Every setting's widget comes from the task's schema (:mod:`pipelines.keyframes.settings`); this
module lays them out (sections as in the CLI's help) and runs the task's job through
:func:`pipelines.task.run_job`.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import gradio as gr

from pipelines.errors import InputError
from pipelines.keyframes import TASK as KEYFRAMES
from pipelines.keyframes.settings import CLIP_SPEC, SECTIONS
from pipelines.keyframes.timecodes import timecode
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine
from tabs.common import (
    ACCELERATOR,
    ACCELERATOR_CONCURRENCY,
    ASSETS,
    backend_dropdown,
    backend_updates,
    default_backend,
    gpu,
    progress_callback,
    setting_widgets,
    ui_text,
    user_errors,
)
from tabs.curate import build_curate
from tabs.downloads import build_panel, fetch_first

if TYPE_CHECKING:
    from pipelines.keyframes.job import JobOutput

TITLE = KEYFRAMES.title
TASK = KEYFRAMES.id
EXAMPLES = ASSETS / TASK
MAIN_KNOBS = ("detector", "k")  # shown beside the video; every other setting is in the accordion
SHOT_HEADERS = ["shot", "start frame", "end frame", "start", "end", "seconds", "begins with",
                "keyframe"]  # fmt: skip


def shot_rows(job: JobOutput) -> list[list[Any]]:
    keyframe_of = {s["index"]: s["keyframe_frame"] for s in job.written.document["shots"]}
    return [
        [s.index + 1, s.start_frame, s.end_frame, timecode(s.start_time), timecode(s.end_time),
         round(s.end_time - s.start_time, 3), s.transition,
         "" if keyframe_of[s.index] is None else keyframe_of[s.index]]
        for s in job.result.shots
    ]  # fmt: skip


def summary(job: JobOutput) -> str:
    result = job.result
    analyse = result.timings.get("analyse", 0.0)
    fps = result.frame_count / analyse if analyse else 0.0
    cuts = sum(c.kind == "cut" for c in result.cuts)
    gradual = len(result.cuts) - cuts  # fades (and, from TransNetV2, dissolves)
    if result.features == "clip":
        how = f"K = {len(result.keyframes)} by k-means over CLIP embeddings (`{CLIP_SPEC}`)"
    elif result.features:
        how = (f"K = {len(result.keyframes)} by k-means over colour/texture features (CLIP "
               f"embeddings are used when `{CLIP_SPEC}` is on disk: `python cli.py fetch "
               f"{CLIP_SPEC}`)")
    else:
        how = "one per shot (sharp and typical)"
    return (
        f"**{len(result.shots)} shots** ({cuts} cuts, {gradual} gradual; {len(result.flashes)} "
        f"flashes ignored) in {result.frame_count} frames "
        f"({result.width}x{result.height}, {result.fps:.3f} fps, {timecode(result.duration)}), "
        f"analysed at {fps:.0f} frames/s. Keyframes: {how}.\n\nRun folder: `{job.run_dir}`"
    )


def api_signature(default_backend: str | None) -> inspect.Signature:
    """``(video, backend, <every setting>, progress)``: positional, settings with their
    defaults (from the schema)."""
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([
        inspect.Parameter("video", positional),
        inspect.Parameter("backend", positional, default=default_backend),
        *(inspect.Parameter(s.name, positional, default=s.default) for s in KEYFRAMES.settings),
        inspect.Parameter("progress", positional, default=gr.Progress()),
    ])  # fmt: skip


def build(registry: Registry) -> None:
    gr.Markdown(ui_text(TASK))
    widgets: dict[str, gr.components.Component] = {}
    default = default_backend(registry, KEYFRAMES)
    with gr.Row():
        with gr.Column(scale=2):
            video = gr.Video(label="Video", sources=["upload"])
            with gr.Row():
                backend = backend_dropdown(registry, TASK, scale=2)
                widgets.update(setting_widgets(KEYFRAMES, MAIN_KNOBS, backend=default))
            build_panel(registry, backend)
            run_button = gr.Button("Find shots and keyframes", variant="primary")
        with gr.Column(scale=3):
            info = gr.Markdown()
            gallery = gr.Gallery(label="Keyframes", columns=4, height="auto",
                                 object_fit="contain")  # fmt: skip
    with gr.Accordion("Advanced settings", open=False):
        for _, title, section in SECTIONS:
            gr.Markdown(f"**{title}**")
            with gr.Row():
                widgets.update(setting_widgets(
                    KEYFRAMES, [n for n in section if n not in MAIN_KNOBS], backend=default))
    with gr.Row():
        sheet = gr.Image(label="Contact sheet", type="filepath", interactive=False)
        plot = gr.Image(label="Change score per frame", type="filepath", interactive=False)
    shots = gr.Dataframe(headers=SHOT_HEADERS, label="Shots", interactive=False)
    files = gr.File(label="Downloads: keyframes ZIP, shots CSV and JSON, contact sheet, plot",
                    file_count="multiple", interactive=False)  # fmt: skip
    gr.Examples(examples=[[str(EXAMPLES / "example.mp4")]], inputs=[video],
                label="Example: seven shots with cuts, a fade through black, one through "
                      "white, and three flashes")  # fmt: skip
    with gr.Accordion("Curate many videos (shots, filters, duplicates, manifest)", open=False):
        build_curate(registry)

    names = list(KEYFRAMES.settings.names)
    backend.change(backend_updates(KEYFRAMES, registry, names), backend,
                   [widgets[n] for n in names], api_visibility="private")

    def extract(path: str | None, backend_id: str, *rest: Any):
        *values, progress = rest
        if not path:
            raise InputError("Upload a video first (MP4, MOV, WebM or MKV).")
        settings = dict(zip(names, values, strict=True))
        from pipelines.keyframes.job import finish  # OpenCV and friends load on first use

        seed_setting = KEYFRAMES.settings["seed"]
        seed = seed_setting.default if settings["seed"] is None else \
            seed_setting.check(settings["seed"])
        job = finish(run_job_on_engine(registry, KEYFRAMES, backend_id, {"video": path}, settings,
                                       seed=seed, progress=progress_callback(progress),
                                       fetch=fetch_first(registry, progress)))
        written = job.written
        downloads = [str(p) for p in (written.zip, written.shots_csv, written.shots_json,
                                      written.contact_sheet, written.plot) if p is not None]
        return (
            [(str(image), caption) for image, caption in written.keyframes],
            str(written.contact_sheet),
            str(written.plot),
            shot_rows(job),
            downloads,
            summary(job),
        )

    # Name every setting in the API (gradio_client can pass them by keyword), and let Gradio
    # hand in its progress tracker as the last argument.
    extract.__signature__ = api_signature(backend.value)
    handler = gpu(duration=300)(user_errors(extract))  # CLIP, when used, may run on a GPU

    run_button.click(
        handler,
        [video, backend, *(widgets[name] for name in names)],
        [gallery, sheet, plot, shots, files, info],
        api_name="keyframes",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
