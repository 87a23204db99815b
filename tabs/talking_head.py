"""Talking heads tab: a portrait (or face video) plus speech or typed text -> lip-synced MP4."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import gradio as gr

from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine
from pipelines.talking_head import TASK, speech
from pipelines.talking_head.job import TalkJob, finish, sharpen_choices
from tabs.common import (
    ACCELERATOR,
    ACCELERATOR_CONCURRENCY,
    ASSETS,
    backend_dropdown,
    backend_state,
    backend_updates,
    default_backend,
    gpu,
    image_upload,
    progress_callback,
    setting_id,
    task_widget,
    ui_text,
    user_errors,
)
from tabs.downloads import build_panel, fetch_first

TITLE = TASK.title
EXAMPLES = ASSETS / TASK.id
# The advanced settings in the accordion's order (the seed sits between the two groups);
# widgets of settings a backend does not take are hidden when it is picked.
ADVANCED = ("blinks", "head_motion", "mouth_strength")
MODEL = ("max_side", "batch_size", "chin_padding")
NO_ESPEAK = (
    "**Typed text is off:** espeak-ng is not installed on this machine. "
    "Install it with `sudo apt-get install espeak-ng` (Debian/Ubuntu) or "
    "`brew install espeak-ng` (macOS) and restart the studio, or upload an audio file."
)


def summary(job: TalkJob, used_video_over_portrait: bool) -> str:
    """The markdown shown under the video: what was made, and anything the user should know."""
    result = job.result
    lines = [
        f"**{result.frames} frames** at {result.fps:g} fps for {result.audio_seconds:.2f} s of "
        f"audio. Run folder: `{job.run_dir}`."
    ]
    notes = list(job.notes)
    if used_video_over_portrait:
        notes.insert(0, "Both a portrait and a video were given; the video was used.")
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines)


def build(registry: Registry) -> None:
    gr.Markdown(ui_text(TASK.id))
    has_espeak = speech.espeak_path() is not None
    sharpeners = sharpen_choices(registry)
    settings = TASK.settings
    default = default_backend(registry, TASK)

    def widget(name: str, **kwargs) -> gr.Component:
        return task_widget(TASK, name, default, **kwargs)

    with gr.Row():
        with gr.Column():
            with gr.Tabs():
                with gr.Tab("Portrait"):
                    portrait = image_upload(label="Portrait", height=320)
                with gr.Tab("Face video"):
                    face_video = gr.Video(label="A short video of a face (used instead of the "
                                          "portrait)", height=320, sources=["upload"])
            with gr.Tabs():
                with gr.Tab("Audio"):
                    audio = gr.Audio(type="filepath", label="Speech (WAV, MP3, M4A, OGG, FLAC)",
                                     sources=["upload", "microphone"])
                with gr.Tab("Text"):
                    text = gr.Textbox(
                        label="Text to speak (espeak-ng)", lines=3, interactive=has_espeak,
                        placeholder="Hello! Nice to meet you." if has_espeak
                        else "espeak-ng is not installed: upload an audio file instead.",
                    )
                    if not has_espeak:
                        gr.Markdown(NO_ESPEAK)
                    with gr.Row():
                        # The tab offers common voices; the setting takes any espeak-ng voice.
                        voice = gr.Dropdown(list(speech.VOICES), value=settings["voice"].default,
                                            label=settings["voice"].label,
                                            info=settings["voice"].help,
                                            elem_id=setting_id(TASK.id, "voice"),
                                            allow_custom_value=True, interactive=has_espeak)
                        rate = widget("rate", interactive=has_espeak)
                    preview = gr.Button("Preview speech", interactive=has_espeak)
            backend = backend_dropdown(registry, TASK.id)
            build_panel(registry, backend)
            with gr.Accordion("Advanced settings", open=False):
                widgets = {name: widget(name) for name in ADVANCED}
                seed = gr.Number(0, precision=0, label="Seed (blinks and head motion)")
                widgets.update((name, widget(name)) for name in MODEL)
                off = [("Off", "")] + [(f"{s.label} ({s.kind})", s.id) for s in sharpeners]
                widgets["sharpen"] = gr.Dropdown(
                    off, value=settings["sharpen"].default, label=settings["sharpen"].label,
                    info=settings["sharpen"].help, elem_id=setting_id(TASK.id, "sharpen"),
                    visible=bool(sharpeners)
                    and backend_state(TASK, settings["sharpen"], default)["visible"],
                )
            run = gr.Button("Make it talk", variant="primary")
        with gr.Column():
            video = gr.Video(label="Talking head (MP4, 25 fps, with audio)", autoplay=True)
            details = gr.Markdown()
            spoken = gr.Audio(type="filepath", label="Speech preview", interactive=False)
            files = gr.File(label="Manifest and speech", file_count="multiple")
    gr.Examples(
        examples=[[str(EXAMPLES / "astronaut.jpg"), str(EXAMPLES / "speech.wav")]],
        inputs=[portrait, audio],
        label="Example: a public-domain portrait and an espeak-ng sentence",
    )

    # -- events ----------------------------------------------------------------------------------
    names = list(widgets)
    update = backend_updates(TASK, registry, names)

    def on_backend(spec_id: str) -> tuple[dict, ...]:
        updates = update(spec_id)
        if not sharpeners:  # nothing to sharpen with: the picker stays hidden
            updates = tuple({**u, "visible": False} if n == "sharpen" else u
                            for n, u in zip(names, updates, strict=True))
        return updates

    backend.change(on_backend, backend, [widgets[n] for n in names], api_visibility="private")
    # The API's positional order (kept from before the settings schema): the inputs, voice and
    # rate, the backend, blinks, head motion, mouth, the seed, then the rest of the settings.
    rest = (*MODEL, "sharpen")

    @gpu()
    @user_errors
    def generate(portrait_path, video_path, audio_path, typed, voice_name, words_per_minute,
                 backend_id, blink, motion, mouth_amount, seed_value, *values,
                 progress=gr.Progress()):  # noqa: B008 (Gradio progress hook)
        chosen = {"voice": voice_name, "rate": words_per_minute, "blinks": blink,
                  "head_motion": motion, "mouth_strength": mouth_amount,
                  **dict(zip(rest, values, strict=True))}
        inputs = {"face": video_path or portrait_path, "audio": audio_path, "text": typed}
        job = finish(run_job_on_engine(registry, TASK, backend_id, inputs, chosen,
                                       seed=int(seed_value or 0),
                                       progress=progress_callback(progress),
                                       fetch=fetch_first(registry, progress)))
        outputs = [str(job.manifest)] + ([str(job.speech)] if job.speech else [])
        return str(job.video), summary(job, bool(video_path and portrait_path)), outputs

    @user_errors
    def speak(typed, voice_name, words_per_minute):
        handle, path = tempfile.mkstemp(prefix="studio-speech-", suffix=".wav")
        os.close(handle)
        try:
            return str(speech.synthesize(typed, Path(path), voice_name, int(words_per_minute)))
        except BaseException:
            Path(path).unlink(missing_ok=True)
            raise

    run.click(
        generate,
        [portrait, face_video, audio, text, voice, rate, backend,
         *[widgets[n] for n in ADVANCED], seed, *[widgets[n] for n in rest]],
        [video, details, files],
        api_name=TASK.event_name,
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
    preview.click(speak, [text, voice, rate], spoken, api_name="talking_head_speech")
