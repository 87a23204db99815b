"""Every setting of portrait animation, declared once.

Settings are in the order of the tab's API parameters (``/portrait``: picture, backend, frames,
fps, seed, then the rest, then the optional driving video and end picture); new settings go at
the end. The tab's widgets, the CLI's flags (``python cli.py animate`` and ``python cli.py
edit``), request validation, the manifest's parameters and the benchmark's variants all come
from :data:`SETTINGS`. Choices, labels and limits are those of :mod:`pipelines.portrait.types`
(memory modes, step caches, fits, frame limits) and the per-backend starting values are
:data:`pipelines.portrait.specs.DEFAULTS`: each is declared once, there.

Backend groups: ``classical`` (face-aware motion, classical driving and editing), ``svd``
(Stable Video Diffusion), ``dit`` (prompted diffusion transformers: LTX-Video, Wan, CogVideoX,
HunyuanVideo) and ``driven`` (LivePortrait: a driving video or expression edits).
"""

from __future__ import annotations

from pipelines.portrait.specs import DEFAULTS
from pipelines.portrait.types import (
    CAMERA_LABELS,
    CAMERA_PRESETS,
    FITS,
    MAX_FPS,
    MAX_FRAMES,
    MAX_LORAS,
    MEMORY_LABELS,
    MEMORY_MODES,
    STEP_CACHE_LABELS,
    STEP_CACHES,
)
from pipelines.registry import PipelineSpec
from pipelines.task import Schema, Setting

MOTIONS = ("breathing", "sway", "blink")
MOTION_LABELS = ("Breathing", "Head sway", "Blinks")
MODELS = ("svd", "dit")
FACE_BACKENDS = ("classical", "driven")  # backends that drive or edit a face
MAX_FACE_INDEX = 15

PROMPT = "A person looks at the camera, breathing calmly, with subtle natural motion."
NEGATIVE = "worst quality, inconsistent motion, blurry, jittery, distorted"

# Expression sliders: name -> (label, help, minimum, maximum, step, unit). The classical editor
# (pipelines.portrait.expression) and LivePortrait's (its runner's Edits) take their limits from
# EXPRESSION_LIMITS below, which is built from these Settings.
_EXPRESSION = (
    ("eyes", "Eyes open", "-1 closes the eyes, +1 opens them 60 percent wider.", -1.0, 1.0, 0.05,
     ""),
    ("lips", "Lips open", "+1 opens the mouth wide, -1 closes an open mouth.", -1.0, 1.0, 0.05,
     ""),
    ("smile", "Smile", "+1 lifts and widens the mouth corners, -1 lowers them.", -1.0, 1.0, 0.05,
     ""),
    ("brow", "Brows", "+1 raises the brows, -1 lowers them.", -1.0, 1.0, 0.05, ""),
    ("yaw", "Head turn (yaw)", "Turns the head; more than 0 turns the nose to the image's "
     "right.", -30.0, 30.0, 1.0, "degrees"),
    ("pitch", "Head nod (pitch)", "Tilts the head; more than 0 looks down.", -25.0, 25.0, 1.0,
     "degrees"),
    ("roll", "Head tilt (roll)", "Rolls the head; more than 0 turns it clockwise.", -30.0, 30.0,
     1.0, "degrees"),
    ("gaze_x", "Gaze left-right", "Moves the irises; more than 0 looks to the image's right.",
     -1.0, 1.0, 0.05, ""),
    ("gaze_y", "Gaze up-down", "Moves the irises; more than 0 looks down.", -1.0, 1.0, 0.05, ""),
)
EXPRESSION_SETTINGS = tuple(
    Setting(name, 0.0, label, f"Expression: {text[0].lower()}{text[1:]}", low, high, step,
            unit=unit, backends=FACE_BACKENDS)
    for name, label, text, low, high, step, unit in _EXPRESSION)
# Slider limits of the editors (gaze is one (x, y) pair there, checked against -1..1).
EXPRESSION_LIMITS: dict[str, tuple[float, float]] = {
    s.name: (s.minimum, s.maximum) for s in EXPRESSION_SETTINGS if not s.name.startswith("gaze")}
EXPRESSION_NAMES = tuple(s.name for s in EXPRESSION_SETTINGS)

LORA_HELP = (
    f"Up to {MAX_LORAS} LoRAs, separated by ';' or new lines, each "
    "'SOURCE[:FILE][@STRENGTH][#EXPERT]': SOURCE is a Hub repo id (with :FILE, the "
    ".safetensors file in it) or a local .safetensors path; STRENGTH from -2 to 2 (default 1); "
    "EXPERT high, low or both (Wan 2.2 A14B's noise experts; default both). Example: "
    "'lightx2v/Wan2.1-Distill-Loras:wan2.1_i2v_lora_rank64_lightx2v_4step.safetensors@1.0'."
)


def group_of(spec: PipelineSpec) -> str:
    """Which controls a backend takes: classical, svd, dit or driven (from its tags)."""
    if "driving-video" in spec.tags:
        return "driven"
    return next((g for g in MODELS if g in spec.tags), "classical")


def _per_spec(key: str, cast: type, *, only: tuple[str, ...] = ()) -> tuple[tuple[str, object],
                                                                             ...]:
    """``Setting.defaults`` for ``key`` from :data:`pipelines.portrait.specs.DEFAULTS`."""
    return tuple((spec_id, cast(values[key])) for spec_id, values in DEFAULTS.items()
                 if key in values and (not only or spec_id in only))


SETTINGS = Schema("portrait", (
    Setting("frames", 48, "Frames", "Number of frames in the clip (with a driving video: the "
            "driver's).", 2, MAX_FRAMES, 1, defaults=(*_per_spec("frames", int), ("dit", 49))),
    Setting("fps", 24.0, "Frames per second", "Playback rate of the clip (with a driving video: "
            "the driver's).", 1.0, MAX_FPS, 1.0, unit="fps",
            defaults=(*_per_spec("fps", float), ("svd", 7.0))),
    Setting("camera", "zoom_in", "Camera", "Camera move over the picture.",
            choices=CAMERA_PRESETS, labels=tuple(CAMERA_LABELS[c] for c in CAMERA_PRESETS),
            backends=("classical",)),
    Setting("motions", MOTIONS, "Face and body motions (need a face)",
            "Which motions to add: breathing, head sway, blinks.", choices=MOTIONS,
            labels=MOTION_LABELS, multi=True, backends=("classical",), flag="--motion"),
    Setting("strength", 1.0, "Motion strength", "Scales every face and body motion.",
            0.0, 3.0, 0.05, backends=("classical",)),
    Setting("loop", True, "Seamless loop (last frame flows into the first)",
            "Make the clip loop seamlessly.", backends=("classical",)),
    Setting("camera_strength", 1.0, "Camera strength", "Scales the camera move.", 0.0, 3.0,
            0.05, backends=("classical",), advanced=True),
    Setting("max_side", 1024, "Working size (longer side, pixels)",
            "Larger pictures are animated at this size.", 128, 4096, 64, unit="px",
            backends=("classical",), advanced=True),
    Setting("motion_bucket_id", 127, "Motion bucket id (more = more motion)",
            "SVD's motion conditioning.", 1, 255, 1, backends=("svd",), flag="--motion-bucket"),
    Setting("noise_aug_strength", 0.02, "Noise augmentation strength",
            "Noise added to the conditioning picture (more: looser to the picture).",
            0.0, 1.0, 0.01, backends=("svd",), flag="--noise-aug"),
    Setting("steps", 25, "Sampling steps", "Denoising steps (more: slower, finer).", 1, 200, 1,
            backends=MODELS, defaults=(*_per_spec("steps", int), ("dit", 40)), advanced=True),
    Setting("decode_chunk_size", 8, "Decode chunk size (SVD: frames decoded at once)",
            "Frames the VAE decodes at once (fewer: less memory).", 1, 32, 1,
            backends=("svd",), advanced=True, flag="--decode-chunk"),
    Setting("memory", "gpu", "Memory mode", "How the model is placed in memory (the estimated "
            "peak of each mode is shown under it).", choices=MEMORY_MODES,
            labels=tuple(MEMORY_LABELS[m] for m in MEMORY_MODES), backends=MODELS,
            advanced=True),
    Setting("fit", "crop", "Fit to the model's resolution",
            "Crop (keeps the face) or pad the picture to the model's size.", choices=FITS,
            labels=("Crop (keeps the face)", "Pad"), backends=MODELS, advanced=True),
    Setting("side", 768, "Model resolution (about side x side pixels)",
            "The model runs at about side x side pixels.", 32, 2048, 32, unit="px",
            backends=MODELS, defaults=(*_per_spec("side", int), ("dit", 640)), advanced=True),
    Setting("prompt", PROMPT, "Prompt", "What should happen in the clip.", backends=("dit",),
            lines=2),
    Setting("negative_prompt", NEGATIVE, "Negative prompt", "What to avoid.",
            backends=("dit",)),
    Setting("guidance", 3.0, "Guidance scale", "Classifier-free guidance of the prompt.",
            0.0, 20.0, 0.1, backends=("dit",), defaults=_per_spec("guidance", float)),
    Setting("smooth_fps", 0.0, "Smooth to fps (0: off)",
            "Interpolate the finished clip up to this frame rate (frame interpolation, "
            "classical backend; SVD makes 7 fps).", 0.0, 120.0, 1.0, unit="fps",
            advanced=True),
    # -- added after the first release: new settings go below, the API's order is kept -------
    Setting("cache", "none", "Step cache (faster, slightly different)",
            "Reuse work between denoising steps (which backend takes which: docs/portrait.md).",
            choices=STEP_CACHES, labels=tuple(STEP_CACHE_LABELS[c] for c in STEP_CACHES),
            backends=("dit",), advanced=True),
    Setting("loras", "", "LoRAs", LORA_HELP, backends=("dit",), advanced=True, lines=2),
    Setting("relative", True, "Relative motion (the first frame is the picture)",
            "With a driving video: follow the driver's motion relative to its first frame "
            "(--absolute: copy the driver's own pose and expression).",
            backends=FACE_BACKENDS),
    Setting("face", 0, "Face (0 = largest)", "Which face to animate or edit when the picture "
            "shows several: 0 the largest, 1 the next, ...", 0, MAX_FACE_INDEX, 1,
            backends=FACE_BACKENDS),
    *EXPRESSION_SETTINGS,
    Setting("still", False, "Edit the picture only (a still, no video)",
            "Write one edited picture (edited.png) with the expression settings instead of a "
            "video (`python cli.py edit` sets it).", backends=FACE_BACKENDS, advanced=True),
))
