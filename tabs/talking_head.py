"""Talking heads tab: a portrait (or face video) plus speech or typed text -> lip-synced MP4."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import gradio as gr

from pipelines.registry import Registry
from pipelines.remote import run_job_on_engine
from pipelines.talking_head import TASK, speech
from pipelines.talking_head.compare import HEADERS, Comparison, available_backends, cells, compare
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


COMPARE_HELP = (
    "Runs each picked backend on the face and speech above, with the same settings, and shows "
    "the videos side by side with figures measured on each output. Model backends are listed "
    "once their files are on disk (Models tab). *r*: correlation of the mouth opening (face "
    "mesh: inner-lip gap over the distance between the eyes) with the speech's loudness, at lag "
    "0 and at the best lag within 3 frames (positive: the mouth follows the sound); *at rest*: "
    "the fraction of pause frames whose mouth is as closed as in the face input; *face found*: "
    "the fraction of frames in which the mesh found the face; wall time includes loading."
)


def compare_choices(registry: Registry) -> list[tuple[str, str]]:
    """(label, spec id) of the backends that can run here, the classical one first."""
    return [(f"{s.label} ({s.kind})", s.id) for s in available_backends(registry)]


def compare_summary(result: Comparison) -> str:
    """The markdown under the side-by-side video: what ran, what failed, where it is."""
    made = [r for r in result.rows if r.ok]
    lines = [f"**{len(made)} of {len(result.rows)} backends** made a video. Folder: "
             f"`{result.folder}`."]
    lines += [f"- **{r.label}** failed: {r.error}" for r in result.rows if not r.ok]
    lines += [f"- {note}" for note in result.notes]
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
    with gr.Accordion("Compare backends side by side", open=False) as comparing:
        gr.Markdown(COMPARE_HELP)
        offered = compare_choices(registry)
        with gr.Row():
            picks = gr.CheckboxGroup(offered, value=[v for _, v in offered[:2]],
                                     label="Backends to compare (two or more)", scale=4)
            compare_run = gr.Button("Compare", variant="secondary", scale=1)
        compared = gr.Video(label="Side by side (the same speech)", autoplay=False)
        figures = gr.Dataframe(headers=list(HEADERS), label="Measured on each output",
                               interactive=False, wrap=True)
        compare_details = gr.Markdown()
        compare_files = gr.File(label="Videos and comparison.json", file_count="multiple")
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

    def request(portrait_path, video_path, audio_path, typed, voice_name, words_per_minute,
                blink, motion, mouth_amount, values):
        """The task's inputs and settings from the tab's widgets (one job or a comparison)."""
        chosen = {"voice": voice_name, "rate": words_per_minute, "blinks": blink,
                  "head_motion": motion, "mouth_strength": mouth_amount,
                  **dict(zip(rest, values, strict=True))}
        return {"face": video_path or portrait_path, "audio": audio_path, "text": typed}, chosen

    @gpu()
    @user_errors
    def generate(portrait_path, video_path, audio_path, typed, voice_name, words_per_minute,
                 backend_id, blink, motion, mouth_amount, seed_value, *values,
                 progress=gr.Progress()):  # noqa: B008 (Gradio progress hook)
        inputs, chosen = request(portrait_path, video_path, audio_path, typed, voice_name,
                                 words_per_minute, blink, motion, mouth_amount, values)
        job = finish(run_job_on_engine(registry, TASK, backend_id, inputs, chosen,
                                       seed=int(seed_value or 0),
                                       progress=progress_callback(progress),
                                       fetch=fetch_first(registry, progress)))
        outputs = [str(job.manifest)] + ([str(job.speech)] if job.speech else [])
        return str(job.video), summary(job, bool(video_path and portrait_path)), outputs

    @gpu()
    @user_errors
    def run_compare(portrait_path, video_path, audio_path, typed, voice_name, words_per_minute,
                    chosen_backends, blink, motion, mouth_amount, seed_value, *values,
                    progress=gr.Progress()):  # noqa: B008 (Gradio progress hook)
        inputs, chosen = request(portrait_path, video_path, audio_path, typed, voice_name,
                                 words_per_minute, blink, motion, mouth_amount, values)
        result = compare(registry, chosen_backends or [], inputs, chosen,
                         seed=int(seed_value or 0), progress=progress_callback(progress),
                         fetch=fetch_first(registry, progress))
        outputs = [str(result.table)] + [str(r.video) for r in result.rows if r.video]
        return (str(result.video) if result.video else None, [cells(r) for r in result.rows],
                compare_summary(result), outputs)

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
    compare_run.click(
        run_compare,
        [portrait, face_video, audio, text, voice, rate, picks,
         *[widgets[n] for n in ADVANCED], seed, *[widgets[n] for n in rest]],
        [compared, figures, compare_details, compare_files],
        api_name=f"{TASK.event_name}_compare",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
    # Backends whose files arrived since the page was built are offered when the panel opens.
    comparing.expand(lambda: gr.CheckboxGroup(choices=compare_choices(registry)), None, picks,
                     api_visibility="private")
    preview.click(speak, [text, voice, rate], spoken, api_name="talking_head_speech")
