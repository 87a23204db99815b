"""Portrait animation tab: one picture in; an MP4, a GIF and a strip of preview frames out."""

from __future__ import annotations

import random

import gradio as gr

from pipelines.errors import InputError
from pipelines.portrait.job import animate
from pipelines.portrait.request import (
    CAMERA_LABELS,
    MEMORY_LABELS,
    DitSettings,
    MotionSettings,
    SvdSettings,
)
from pipelines.portrait.specs import DEFAULTS, controls_for
from pipelines.registry import Registry
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

TITLE = "Portrait animation"
TASK = "portrait"
MOTION_CHOICES = [("Breathing", "breathing"), ("Head sway", "sway"), ("Blinks", "blink")]
STEPS = {"classical": SvdSettings.steps, "svd": SvdSettings.steps, "dit": DitSettings.steps}
SIDES = {"classical": SvdSettings.side, "svd": SvdSettings.side, "dit": DitSettings.side}
MAX_SEED = 2**31 - 1


def duration_text(frames: float, fps: float) -> str:
    return f"Duration: **{float(frames) / max(float(fps), 1e-6):.2f} s**"


def backend_updates(group: str, spec_id: str) -> tuple[dict, ...]:
    """Show the controls of the chosen backend's group and load its frame and fps defaults.

    Order: classical, SVD and DiT motion groups; classical and model advanced groups; the
    decode-chunk slider; frames, fps, steps and model resolution.
    """
    defaults = DEFAULTS.get(spec_id, DEFAULTS["portrait.classical"])
    return (
        gr.update(visible=group == "classical"), gr.update(visible=group == "svd"),
        gr.update(visible=group == "dit"), gr.update(visible=group == "classical"),
        gr.update(visible=group != "classical"), gr.update(visible=group == "svd"),
        gr.update(value=defaults["frames"]), gr.update(value=defaults["fps"]),
        gr.update(value=STEPS[group]), gr.update(value=SIDES[group]),
    )


def build(registry: Registry) -> None:
    gr.Markdown(ui_text(TASK))
    groups = {spec.id: controls_for(spec) for spec in registry.by_task(TASK)}
    with gr.Row():
        with gr.Column(scale=1):
            image = image_upload(label="Picture", sources=["upload", "clipboard"], height=340)
            backend = backend_dropdown(registry, TASK)
            with gr.Group(visible=True) as classical_box:
                camera = gr.Dropdown([(label, key) for key, label in CAMERA_LABELS.items()],
                                     value=MotionSettings.camera, label="Camera")
                motions = gr.CheckboxGroup(MOTION_CHOICES, value=[v for _, v in MOTION_CHOICES],
                                           label="Face and body motions (need a face)")
                strength = gr.Slider(0, 2, value=1.0, step=0.05, label="Motion strength")
                loop = gr.Checkbox(value=True, label="Seamless loop (last frame flows into the "
                                                     "first)")
            with gr.Group(visible=False) as svd_box:
                motion_bucket = gr.Slider(1, 255, value=SvdSettings.motion_bucket_id, step=1,
                                          label="Motion bucket id (more = more motion)")
                noise_aug = gr.Slider(0, 1, value=SvdSettings.noise_aug_strength, step=0.01,
                                      label="Noise augmentation strength")
            with gr.Group(visible=False) as dit_box:
                prompt = gr.Textbox(DitSettings.prompt, label="Prompt", lines=2)
                negative = gr.Textbox(DitSettings.negative_prompt, label="Negative prompt")
                guidance = gr.Slider(1, 10, value=DitSettings.guidance, step=0.1,
                                     label="Guidance scale")
            with gr.Row():
                frames = gr.Slider(2, 240, value=DEFAULTS["portrait.classical"]["frames"],
                                   step=1, label="Frames")
                fps = gr.Slider(1, 60, value=DEFAULTS["portrait.classical"]["fps"], step=1,
                                label="Frames per second")
            duration = gr.Markdown(duration_text(frames.value, fps.value))
            with gr.Row():
                seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed",
                                 scale=4)
                randomize = gr.Button("Random seed", scale=1)
            with gr.Accordion("Advanced settings", open=False):
                with gr.Group(visible=True) as classical_more:
                    camera_strength = gr.Slider(0, 2, value=1.0, step=0.05,
                                                label="Camera strength")
                    max_side = gr.Slider(256, 2048, value=MotionSettings.max_side, step=64,
                                         label="Working size (longer side, pixels)")
                with gr.Group(visible=False) as model_more:
                    steps = gr.Slider(1, 100, value=SvdSettings.steps, step=1,
                                      label="Sampling steps")
                    decode_chunk = gr.Slider(1, 32, value=SvdSettings.decode_chunk_size, step=1,
                                             label="Decode chunk size (SVD: frames decoded at "
                                                   "once)")
                    memory = gr.Dropdown([(label, key) for key, label in MEMORY_LABELS.items()],
                                         value="gpu", label="Memory mode")
                    fit = gr.Radio([("Crop (keeps the face)", "crop"), ("Pad", "pad")],
                                   value="crop", label="Fit to the model's resolution")
                    side = gr.Slider(256, 1280, value=SvdSettings.side, step=32,
                                     label="Model resolution (about side x side pixels)")
            run = gr.Button("Animate", variant="primary")
        with gr.Column(scale=1):
            video = gr.Video(label="Video (MP4)", autoplay=True, loop=True, interactive=False)
            gif = gr.Image(label="GIF", type="filepath", interactive=False)
            strip = gr.Image(label="Preview frames", type="filepath", interactive=False)
            summary = gr.Markdown()
            manifest = gr.File(label="Run manifest", interactive=False)
    examples = sorted((ASSETS / TASK).glob("*.jpg"))
    if examples:
        gr.Examples([[str(path), "portrait.classical"] for path in examples],
                    inputs=[image, backend], label="Examples (public-domain and CC0 pictures)")

    # -- events ----------------------------------------------------------------------------------
    backend.change(
        lambda spec_id: backend_updates(groups.get(spec_id, "classical"), spec_id), backend,
        [classical_box, svd_box, dit_box, classical_more, model_more, decode_chunk, frames, fps,
         steps, side],
        api_visibility="private",
    )
    for widget in (frames, fps):
        widget.change(duration_text, [frames, fps], duration, api_visibility="private",
                      queue=False)
    randomize.click(lambda: random.randint(0, MAX_SEED), None, seed,
                    api_name="portrait_random_seed", queue=False)

    @gpu(duration=300)
    @user_errors
    def do_animate(picture, spec_id, n_frames, rate, seed_value, camera_value, motion_values,
                   strength_value, loop_value, camera_strength_value, max_side_value,
                   bucket, noise, steps_value, chunk, memory_value, fit_value, side_value,
                   prompt_value, negative_value, guidance_value,
                   progress=gr.Progress()):  # noqa: B008 (Gradio's way of asking for progress)
        if not picture:
            raise InputError("Upload a picture first, or pick one of the examples below.")
        chosen = set(motion_values or ())
        motion = MotionSettings(
            camera=camera_value, camera_strength=float(camera_strength_value),
            breathing="breathing" in chosen, sway="sway" in chosen, blink="blink" in chosen,
            strength=float(strength_value), loop=bool(loop_value), max_side=int(max_side_value),
        )
        svd = SvdSettings(motion_bucket_id=int(bucket), noise_aug_strength=float(noise),
                          steps=int(steps_value), decode_chunk_size=int(chunk),
                          memory=memory_value, fit=fit_value, side=int(side_value))
        dit = DitSettings(prompt=prompt_value or "", negative_prompt=negative_value or "",
                          guidance=float(guidance_value), steps=int(steps_value),
                          memory=memory_value, fit=fit_value, side=int(side_value))
        out = animate(registry, spec_id, picture, frames=int(n_frames), fps=float(rate),
                      seed=int(seed_value or 0), motion=motion, svd=svd, dit=dit,
                      progress=progress_callback(progress))
        width, height = out.size
        lines = [f"**{out.frames} frames**, {width}x{height}, {out.fps:g} fps "
                 f"({out.frames / out.fps:.2f} s). Run folder: `{out.run_dir.name}`."]
        lines += [f"- {note}" for note in out.notes]
        return str(out.video), str(out.gif), str(out.strip), "\n".join(lines), str(out.manifest)

    run.click(
        do_animate,
        [image, backend, frames, fps, seed, camera, motions, strength, loop, camera_strength,
         max_side, motion_bucket, noise_aug, steps, decode_chunk, memory, fit, side, prompt,
         negative, guidance],
        [video, gif, strip, summary, manifest],
        api_name="portrait",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
    )
