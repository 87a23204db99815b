"""Portrait animation tab: one picture in; an MP4, a GIF and a strip of preview frames out.

With a driving video (upload or webcam recording) the picture's face follows the driver
(classical or LivePortrait backend); the Expression panel's sliders edit the face over that
clip, or edit the picture once ("Edit picture", API ``portrait_edit``). Model backends take an
optional end picture and show each memory mode's estimated peak under the memory dropdown.

Every setting's widget comes from the task's schema (:mod:`pipelines.portrait.settings`); this
module only lays them out and wires the events. ``/portrait`` keeps its first positional inputs
(picture, backend, frames, fps, seed, the settings in schema order); the driving video and the
end picture come last.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Sequence

import gradio as gr

from pipelines.portrait import TASK
from pipelines.portrait.job import finish, finish_edit
from pipelines.portrait.settings import EXPRESSION_NAMES
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
    image_upload,
    panel_visible,
    progress_callback,
    setting_widgets,
    task_widget,
    ui_text,
    user_errors,
)
from tabs.downloads import build_panel, fetch_first

TITLE = TASK.title
MAX_SEED = 2**31 - 1
# Panels of settings, each shown while one of its settings applies to the chosen backend: a
# column beside the backend dropdown (classical; its motions sit under the dropdown), and the
# model backends' main settings in a "Model settings" accordion. Advanced ones stay in
# "Advanced settings", the face ones in "Expression", so the classical default fits one screen.
BESIDE = ("camera", "strength", "loop")
MODEL_MAIN = ("motion_bucket_id", "noise_aug_strength", "prompt", "negative_prompt", "guidance")
FACE = ("relative", "face", *EXPRESSION_NAMES)  # the Expression panel
EDIT = ("face", *EXPRESSION_NAMES)  # what "Edit picture" sends
HIDDEN = ("still",)  # set by the Edit button, not shown


def duration_text(frames: float, fps: float) -> str:
    return f"Duration: **{float(frames) / max(float(fps), 1e-6):.2f} s**"


def picture_size(picture: str | None) -> tuple[int, int] | None:
    """(width, height) of an uploaded picture from its header (None when unreadable)."""
    if not picture:
        return None
    try:
        from PIL import Image

        with Image.open(picture) as image:
            return image.size
    except (OSError, ValueError):
        return None


def memory_text(registry: Registry, spec_id: str, frames: float, side: float,
                picture: str | None = None, mode: str | None = None) -> str:
    """Each memory mode's estimated peak GPU memory for this backend, job and picture (empty for
    backends without an estimate)."""
    from pipelines.portrait import memory as mem

    if spec_id not in registry:
        return ""
    spec = registry.get(spec_id)
    if mem.footprint_for(spec) is None:
        return ""
    side = int(side or 640)
    width, height = picture_size(picture) or (side, side)
    table = mem.estimate_for_picture(spec, int(frames or 2), width, height, side)
    rows = ["| memory mode | estimated peak |", "|---|---|"]
    for name, peak in table.items():
        mark = " (chosen)" if name == mode else ""
        rows.append(f"| `{name}`{mark} | {peak / mem.GIB:.1f} GB |")
    return (f"Estimated peak GPU memory, {int(frames)} frames of about {side}x{side} pixels "
            f"(the manifest records the measured peak):\n\n" + "\n".join(rows))


def api_signature(fn: Callable, names: Sequence[str], optional: Sequence[str] = ()) -> Callable:
    """Give ``fn(*values, progress)`` a signature naming its API parameters: ``names`` in order,
    then ``optional`` ones (default None: callers of the API may leave them out, so clients
    written before they were added keep working), then Gradio's progress tracker."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter(n, kind) for n in names]
    params += [inspect.Parameter(n, kind, default=None) for n in optional]
    params.append(inspect.Parameter("progress", kind, default=gr.Progress()))
    fn.__signature__ = inspect.Signature(params)
    return fn


def build(registry: Registry) -> None:
    default = default_backend(registry, TASK)

    def inputs_for(spec_id: str) -> tuple[dict, ...]:
        """The driving video, the end picture and the Expression panel: shown for the backends
        that take them (faces: the backends the face settings apply to)."""
        spec = registry.get(spec_id) if spec_id in registry else default
        faces = panel_visible(TASK, FACE, spec)
        return (gr.update(visible=faces), gr.update(visible="last-frame" in spec.tags),
                gr.update(visible=faces))

    shown = [update["visible"] for update in inputs_for(default.id)]
    gr.Markdown(ui_text(TASK.id))
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                image = image_upload(label="Picture", sources=["upload", "clipboard"],
                                     height=160, min_width=200)
                driving = gr.Video(label="Driving video (optional)", sources=["upload", "webcam"],
                                   include_audio=True, height=160, min_width=200,
                                   visible=shown[0])
                last = image_upload(label="End picture (optional)",
                                    sources=["upload", "clipboard"], height=160, min_width=200,
                                    visible=shown[1])
            widgets = {}
            with gr.Row():
                with gr.Column(scale=3):
                    backend = backend_dropdown(registry, TASK.id)
                    widgets["motions"] = task_widget(TASK, "motions", default)
                with gr.Column(scale=2, min_width=200,
                               visible=panel_visible(TASK, BESIDE, default)) as beside:
                    widgets.update(setting_widgets(TASK, BESIDE, backend=default))
            build_panel(registry, backend)
            with gr.Accordion("Model settings", open=True,
                              visible=panel_visible(TASK, MODEL_MAIN, default)) as model_panel:
                widgets.update(setting_widgets(TASK, MODEL_MAIN, backend=default))
            with gr.Row():
                widgets.update(setting_widgets(TASK, ("frames", "fps"), backend=default))
            duration = gr.Markdown(duration_text(widgets["frames"].value, widgets["fps"].value))
            run = gr.Button("Animate", variant="primary")
            with gr.Accordion("Expression (driving video and picture edits)", open=False,
                              visible=shown[2]) as expression:
                widgets.update(setting_widgets(TASK, FACE, backend=default))
                edit = gr.Button("Edit picture")
                edited = gr.Image(label="Edited picture", type="filepath", interactive=False)
                edit_summary = gr.Markdown()
            with gr.Accordion("Advanced settings", open=False):
                with gr.Row(equal_height=True):
                    seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed",
                                     scale=4)
                    randomize = gr.Button("Random seed", scale=1)
                advanced = [s.name for s in TASK.settings
                            if s.advanced and s.name not in (*FACE, *HIDDEN)]
                cut = advanced.index("memory") + 1
                widgets.update(setting_widgets(TASK, advanced[:cut], backend=default))
                memory = gr.Markdown()
                widgets.update(setting_widgets(TASK, advanced[cut:], backend=default))
                for name in HIDDEN:
                    widgets[name] = task_widget(TASK, name, default, visible=False)
        with gr.Column(scale=2):
            video = gr.Video(label="Video (MP4)", autoplay=True, loop=True, interactive=False)
            gif = gr.Image(label="GIF", type="filepath", interactive=False)
            strip = gr.Image(label="Preview frames", type="filepath", interactive=False)
            summary = gr.Markdown()
            manifest = gr.File(label="Run manifest", interactive=False)
    examples = [ASSETS / path for path in TASK.examples if (ASSETS / path).is_file()]
    if examples:
        gr.Examples([[str(path), default.id] for path in examples],
                    inputs=[image, backend], label="Examples (public-domain and CC0 pictures)")

    # -- events ----------------------------------------------------------------------------------
    names = [n for n in widgets if n not in HIDDEN]
    update = backend_updates(TASK, registry, names, [BESIDE, MODEL_MAIN])
    backend.change(update, backend, [*[widgets[n] for n in names], beside, model_panel],
                   api_visibility="private")
    backend.change(inputs_for, backend, [driving, last, expression], api_visibility="private")
    estimate_inputs = [backend, widgets["frames"], widgets["side"], image, widgets["memory"]]
    for component in estimate_inputs:
        component.change(lambda *v: memory_text(registry, *v), estimate_inputs, memory,
                         api_visibility="private", queue=False)
    for name in ("frames", "fps"):
        widgets[name].change(duration_text, [widgets["frames"], widgets["fps"]], duration,
                             api_visibility="private", queue=False)
    randomize.click(lambda: random.randint(0, MAX_SEED), None, seed,
                    api_name="portrait_random_seed", queue=False)
    rest = [n for n in TASK.settings.names if n not in ("frames", "fps")]

    base = ["picture", "backend", "frames", "fps", "seed"]

    @gpu(duration=300)
    @user_errors
    def do_animate(*args):
        *values, progress = args
        picture, spec_id, frames, fps, seed_value = values[:len(base)]
        given = values[len(base):len(base) + len(rest)]
        driving_video, end_picture = values[len(base) + len(rest):]
        settings = {"frames": frames, "fps": fps, **dict(zip(rest, given, strict=True))}
        inputs = {"image": picture, "driving": driving_video, "last": end_picture}
        out = finish(run_job_on_engine(registry, TASK, spec_id, inputs, settings,
                                       seed=int(seed_value or 0),
                                       progress=progress_callback(progress),
                                       fetch=fetch_first(registry, progress)))
        width, height = out.size
        lines = [f"**{out.frames} frames**, {width}x{height}, {out.fps:g} fps "
                 f"({out.frames / out.fps:.2f} s). Run folder: `{out.run_dir.name}`."]
        lines += [f"- {note}" for note in out.notes]
        return str(out.video), str(out.gif), str(out.strip), "\n".join(lines), str(out.manifest)

    api_signature(do_animate, [*base, *rest], ("driving", "last"))
    run.click(
        do_animate,
        [image, backend, widgets["frames"], widgets["fps"], seed, *[widgets[n] for n in rest],
         driving, last],
        [video, gif, strip, summary, manifest],
        api_name=TASK.event_name,
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )

    @gpu(duration=120)
    @user_errors
    def do_edit(*args):
        picture, spec_id, seed_value, *values, progress = args
        settings = {**dict(zip(EDIT, values, strict=True)), "still": True}
        out = finish_edit(run_job_on_engine(registry, TASK, spec_id, {"image": picture}, settings,
                                            seed=int(seed_value or 0),
                                            progress=progress_callback(progress),
                                            fetch=fetch_first(registry, progress)))
        width, height = out.size
        lines = [f"**Edited picture**, {width}x{height}. Run folder: `{out.run_dir.name}`."]
        lines += [f"- {note}" for note in out.notes]
        return str(out.image), "\n".join(lines)

    api_signature(do_edit, ["picture", "backend", "seed", *EDIT])
    edit.click(
        do_edit,
        [image, backend, seed, *[widgets[n] for n in EDIT]],
        [edited, edit_summary],
        api_name="portrait_edit",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
