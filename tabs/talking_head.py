"""Talking heads tab: a portrait (or face video) plus speech or typed text -> lip-synced MP4."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import gradio as gr

from pipelines.registry import Registry
from pipelines.talking_head import speech
from pipelines.talking_head.job import TalkJob, TalkOptions, sharpen_choices, talk
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

TITLE = "Talking heads"
TASK = "talking_head"
EXAMPLES = ASSETS / TASK
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
    gr.Markdown(ui_text(TASK))
    has_espeak = speech.espeak_path() is not None
    sharpeners = sharpen_choices(registry)
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
                        voice = gr.Dropdown(list(speech.VOICES), value="en", label="Voice",
                                            interactive=has_espeak)
                        rate = gr.Slider(*speech.RATE_RANGE, value=speech.DEFAULT_RATE, step=5,
                                         label="Words per minute", interactive=has_espeak)
                    preview = gr.Button("Preview speech", interactive=has_espeak)
            backend = backend_dropdown(registry, TASK)
            with gr.Accordion("Advanced settings", open=False):
                blinks = gr.Checkbox(True, label="Blinks (portraits only)")
                head_motion = gr.Slider(0, 3, value=1, step=0.1,
                                        label="Head motion (portraits only; 0 keeps it still)")
                mouth = gr.Slider(0, 2, value=1, step=0.05, label="Mouth opening (classical)")
                seed = gr.Number(0, precision=0, label="Seed (blinks and head motion)")
                max_side = gr.Slider(256, 2048, value=1280, step=64,
                                     label="Longest side (larger inputs are scaled down)")
                batch_size = gr.Slider(1, 128, value=16, step=1, label="Wav2Lip batch size")
                chin = gr.Slider(0, 0.5, value=0.2, step=0.02,
                                 label="Wav2Lip chin padding (fraction of the face height)")
                sharpen = gr.Dropdown(
                    [("Off", "")] + [(f"{s.label} ({s.kind})", s.id) for s in sharpeners],
                    value="", label="Sharpen the mouth with super-resolution (Wav2Lip)",
                    visible=bool(sharpeners),
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

    @gpu()
    @user_errors
    def generate(portrait_path, video_path, audio_path, typed, voice_name, words_per_minute,
                 backend_id, blink, motion, mouth_amount, seed_value, longest, batch, chin_pad,
                 sharpen_id, progress=gr.Progress()):  # noqa: B008 (Gradio progress hook)
        options = TalkOptions(
            backend=backend_id, voice=voice_name, rate=int(words_per_minute), blinks=bool(blink),
            head_motion=float(motion), mouth_strength=float(mouth_amount),
            seed=int(seed_value or 0), max_side=int(longest), batch_size=int(batch),
            chin_padding=float(chin_pad), sharpen=sharpen_id or None,
        )
        job = talk(registry, video_path or portrait_path, audio_path, typed, options,
                   progress_callback(progress))
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
        [portrait, face_video, audio, text, voice, rate, backend, blinks, head_motion, mouth,
         seed, max_side, batch_size, chin, sharpen],
        [video, details, files],
        api_name="talking_head",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
    preview.click(speak, [text, voice, rate], spoken, api_name="talking_head_speech")
