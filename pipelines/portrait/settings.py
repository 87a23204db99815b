"""Every setting of portrait animation, declared once (light: no numpy, no torch).

Settings are in the order of the tab's API parameters (``/portrait``: picture, backend, frames,
fps, seed, then the rest); new settings go at the end. The tab's widgets, the CLI's flags
(``python cli.py animate``), request validation, the manifest's
parameters and the benchmark's variants all come from :data:`SETTINGS`. Backend groups:
``classical`` (face-aware motion), ``svd`` (Stable Video Diffusion) and ``dit`` (prompted
diffusion transformers such as LTX-Video).
"""

from __future__ import annotations

from pipelines.registry import PipelineSpec
from pipelines.task import Schema, Setting

CAMERA_PRESETS = ("none", "zoom_in", "zoom_out", "pan", "orbit")
CAMERA_LABELS = ("Still camera", "Zoom in (push towards the face)",
                 "Zoom out (pull back from the face)", "Pan (slide sideways)",
                 "Parallax orbit (face in front of the background)")
MOTIONS = ("breathing", "sway", "blink")
MOTION_LABELS = ("Breathing", "Head sway", "Blinks")
FITS = ("crop", "pad")
MEMORY_MODES = ("gpu", "offload", "chunked", "low", "compile")
MEMORY_LABELS = ("All on GPU (fastest)", "Model CPU offload",
                 "Forward chunking (UNet) / VAE tiling (DiT)",
                 "Lowest memory: offload + chunking", "All on GPU + torch.compile")
MODELS = ("svd", "dit")
MAX_FRAMES = 480
MAX_FPS = 60.0

PROMPT = "A person looks at the camera, breathing calmly, with subtle natural motion."
NEGATIVE = "worst quality, inconsistent motion, blurry, jittery, distorted"


def group_of(spec: PipelineSpec) -> str:
    """Which controls a backend takes: classical, svd or dit (from its tags)."""
    return next((g for g in MODELS if g in spec.tags), "classical")


SETTINGS = Schema("portrait", (
    Setting("frames", 48, "Frames", "Number of frames in the clip.", 2, MAX_FRAMES, 1,
            defaults=(("portrait.svd", 14), ("portrait.svd-xt", 25), ("dit", 49))),
    Setting("fps", 24.0, "Frames per second", "Playback rate of the clip.", 1.0, MAX_FPS, 1.0,
            unit="fps", defaults=(("svd", 7.0),)),
    Setting("camera", "zoom_in", "Camera", "Camera move over the picture.",
            choices=CAMERA_PRESETS, labels=CAMERA_LABELS, backends=("classical",)),
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
            backends=MODELS, defaults=(("dit", 40),), advanced=True),
    Setting("decode_chunk_size", 8, "Decode chunk size (SVD: frames decoded at once)",
            "Frames the VAE decodes at once (fewer: less memory).", 1, 32, 1,
            backends=("svd",), advanced=True, flag="--decode-chunk"),
    Setting("memory", "gpu", "Memory mode", "How the model is placed in memory.",
            choices=MEMORY_MODES, labels=MEMORY_LABELS, backends=MODELS, advanced=True),
    Setting("fit", "crop", "Fit to the model's resolution",
            "Crop (keeps the face) or pad the picture to the model's size.", choices=FITS,
            labels=("Crop (keeps the face)", "Pad"), backends=MODELS, advanced=True),
    Setting("side", 768, "Model resolution (about side x side pixels)",
            "The model runs at about side x side pixels.", 32, 2048, 32, unit="px",
            backends=MODELS, defaults=(("dit", 640),), advanced=True),
    Setting("prompt", PROMPT, "Prompt", "What should happen in the clip.", backends=("dit",),
            lines=2),
    Setting("negative_prompt", NEGATIVE, "Negative prompt", "What to avoid.",
            backends=("dit",)),
    Setting("guidance", 3.0, "Guidance scale", "Classifier-free guidance of the prompt.",
            0.0, 20.0, 0.1, backends=("dit",)),
    Setting("smooth_fps", 0.0, "Smooth to fps (0: off)",
            "Interpolate the finished clip up to this frame rate (frame interpolation, "
            "classical backend; SVD makes 7 fps).", 0.0, 120.0, 1.0, unit="fps",
            advanced=True),
))
