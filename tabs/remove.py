"""Object removal tab: the video, its first frame in an image editor to paint the object on, the
other ways to mark it (a mask image, a mask video; box, person and main object are settings),
the task's settings from its schema, and the cleaned video, clean still and mask video.

The painted strokes become the task's ``mask`` input (a PNG at the video's size, white =
remove) when ``target`` is ``mask`` and no mask image was uploaded; everything else goes to the
task exactly as the generic tab sends it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from pipelines.errors import InputError
from pipelines.media import iter_frames, media_kind, probe_video, save_image
from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine
from pipelines.remove import TASK
from pipelines.remove.masks import drawn_mask
from tabs.common import (
    ACCELERATOR,
    ACCELERATOR_CONCURRENCY,
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

TITLE = TASK.title
MAX_SEED = 2**31 - 1
EDITOR_ID = "remove-first-frame"
NO_STROKES = ("Paint over the object on the first frame with the brush (or upload a mask image "
              "under 'Other ways to mark the object'), or pick another target.")


def first_frame(video: str | None) -> dict[str, Any] | None:
    """The editor's value for a newly chosen video: its first frame as the background, no
    strokes (None clears the editor)."""
    if not video:
        return None
    if media_kind(video) != "video":
        raise InputError(f"'{Path(video).name}' is not a video; object removal needs a video "
                         "(MP4, MOV, WebM, MKV, AVI).")
    frame = next((rgb for _, rgb in iter_frames(video, end=1)), None)
    if frame is None:
        raise InputError(f"No frame of '{Path(video).name}' could be read; upload another "
                         "video.")
    return {"background": frame, "layers": [], "composite": None}  # Gradio caches it


def painted_mask(video: str, editor: dict[str, Any] | None, folder: Path) -> str | None:
    """The strokes painted in the editor as a mask PNG of the video's size in ``folder``, or
    None when nothing was painted."""
    info = probe_video(video)
    layers = (editor or {}).get("layers") or []
    mask = drawn_mask([np.asarray(layer) for layer in layers if layer is not None],
                      (info.width, info.height))
    if mask is None:
        return None
    picture = np.repeat(mask[..., None].astype(np.uint8) * 255, 3, axis=2)
    return str(save_image(folder / "drawn_mask.png", picture))


def build(registry: Registry) -> None:
    gr.Markdown(ui_text(TASK.id))
    default = default_backend(registry, TASK)
    with gr.Row():
        with gr.Column(scale=1):
            video = gr.Video(label="Video", sources=["upload"])
            editor = gr.ImageEditor(
                label="First frame: paint over the object to remove", type="numpy",
                sources=(), transforms=(), layers=False, format="png", elem_id=EDITOR_ID,
                brush=gr.Brush(default_size="auto", colors=["#ffffff", "#ff3b30"],
                               default_color="#ff3b30", color_mode="defaults"),
                eraser=gr.Eraser(default_size="auto"), fixed_canvas=False)
            with gr.Accordion("Other ways to mark the object", open=False):
                mask = image_upload(label="First-frame mask image (white = remove; instead of "
                                    "painting)", sources=["upload", "clipboard"])
                mask_video = gr.Video(label="Mask video (white = remove; target mask_video)",
                                      sources=["upload"])
            backend = backend_dropdown(registry, TASK.id)
            build_panel(registry, backend)
            widgets = setting_widgets(TASK, backend=default, advanced=False)
            seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed")
            advanced = [s.name for s in TASK.settings if s.advanced]
            with gr.Accordion("Advanced settings", open=False,
                              visible=panel_visible(TASK, advanced, default)) as accordion:
                widgets.update(setting_widgets(TASK, backend=default, advanced=True))
            run = gr.Button("Remove", variant="primary")
        with gr.Column(scale=1):
            cleaned = gr.Video(label="Cleaned video (sound kept)", interactive=False)
            still = gr.Image(label="Clean still", type="filepath", interactive=False)
            files = gr.File(label="Outputs (cleaned video, mask video, still)",
                            file_count="multiple", interactive=False)
            summary = gr.Markdown()
            manifest = gr.File(label="Run manifest", interactive=False)

    names = list(widgets)
    backend.change(backend_updates(TASK, registry, names, [advanced]), backend,
                   [*[widgets[n] for n in names], accordion], api_visibility="private")
    video.change(user_errors(first_frame), video, editor, api_visibility="private")
    order = [n for n in TASK.settings.names if n in widgets]

    @gpu(duration=300)
    @user_errors
    def do_run(video_path, mask_path, mask_video_path, spec_id, seed_value, *rest,
               progress=gr.Progress()):  # noqa: B008 (Gradio's progress hook)
        *values, drawn = rest
        settings = dict(zip(order, values, strict=True))
        if not video_path:
            raise InputError("Upload a video to remove an object from.")
        with tempfile.TemporaryDirectory(prefix="studio-remove-") as folder:
            if settings["target"] == "mask" and not mask_path:
                mask_path = painted_mask(video_path, drawn, Path(folder))
                if mask_path is None:
                    raise InputError(NO_STROKES)
            inputs = {"video": video_path, "mask": mask_path, "mask_video": mask_video_path}
            out = run_job_on_engine(registry, TASK, spec_id, inputs, settings,
                                    seed=int(seed_value or 0),
                                    progress=progress_callback(progress),
                                    fetch=fetch_first(registry, progress))
        lines = [f"**{out.summary or 'Done.'}** Run folder: `{out.run_dir.name}`."]
        lines += [f"- {note}" for note in out.notes]
        paths = [str(p) for p in out.outputs.values()]
        shown = out.outputs.get("still")
        return (str(out.outputs["video"]), str(shown) if shown else None, paths,
                "\n".join(lines), str(out.manifest))

    # /remove takes the generic tab's (video, mask, mask_video, backend, seed, settings...),
    # then the editor's value (None from API clients, which give a mask image or a target).
    run.click(do_run, [video, mask, mask_video, backend, seed, *[widgets[n] for n in order],
                       editor],
              [cleaned, still, files, summary, manifest], api_name=TASK.event_name,
              concurrency_id=ACCELERATOR, concurrency_limit=ACCELERATOR_CONCURRENCY)
