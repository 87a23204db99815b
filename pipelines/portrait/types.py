"""What every portrait backend takes and returns, and the checks shared by all of them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipelines.errors import InputError

CAMERA_PRESETS = ("none", "zoom_in", "zoom_out", "pan", "orbit")
CAMERA_LABELS = {
    "none": "Still camera",
    "zoom_in": "Zoom in (push towards the face)",
    "zoom_out": "Zoom out (pull back from the face)",
    "pan": "Pan (slide sideways)",
    "orbit": "Parallax orbit (face in front of the background)",
}
# How a model backend fits the picture to its resolution.
FITS = ("crop", "pad")
# Memory modes of the model backends (what each means is in docs/portrait.md; the ladder from
# fastest to lowest memory, estimates and `auto` live in pipelines/portrait/memory.py).
MEMORY_MODES = ("gpu", "offload", "chunked", "low", "compile", "fp8", "quant_int8", "group",
                "group_leaf", "auto")
MEMORY_LABELS = {
    "gpu": "All on GPU (fastest)",
    "offload": "Model CPU offload",
    "chunked": "Forward chunking (UNet) / VAE tiling and slicing (DiT)",
    "low": "Model CPU offload + chunking / VAE tiling",
    "compile": "All on GPU + torch.compile",
    "fp8": "fp8 weight storage (layer-wise casting) + VAE tiling",
    "quant_int8": "int8 weight-only transformer (torchao) + model CPU offload + VAE tiling",
    "group": "Group offload, one block at a time (CUDA streams) + VAE tiling",
    "group_leaf": "Lowest memory: leaf-level group offload + fp8 storage + VAE tiling",
    "auto": "Auto: the fastest mode whose estimated peak fits the free GPU memory",
}
# Step caches (diffusers' enable_cache); which backend takes which is in specs.CACHES.
STEP_CACHES = ("none", "first_block", "faster", "pab", "taylorseer")
STEP_CACHE_LABELS = {
    "none": "No step cache",
    "first_block": "First-block cache (skip the rest of the network while its input barely moves)",
    "faster": "FasterCache (reuse attention, skip the unconditional pass)",
    "pab": "Pyramid Attention Broadcast (reuse attention outputs between steps)",
    "taylorseer": "TaylorSeer (predict features from earlier steps)",
}
MAX_LORAS = 4
LORA_EXPERTS = ("both", "high", "low")  # which Wan 2.2 A14B expert a LoRA goes into
MIN_SIDE = 64  # smallest input side that still animates into something a person can see
MAX_FRAMES = 480
MAX_FPS = 60.0


@dataclass(frozen=True)
class MotionSettings:
    """The classical backend's motions; amplitudes scale with ``strength``."""

    camera: str = "zoom_in"
    camera_strength: float = 1.0
    breathing: bool = True
    sway: bool = True
    blink: bool = True
    strength: float = 1.0
    loop: bool = True
    max_side: int = 1024  # larger pictures are animated at this size (longer side)


@dataclass(frozen=True)
class SvdSettings:
    """Stable Video Diffusion's conditioning and sampling options."""

    motion_bucket_id: int = 127
    noise_aug_strength: float = 0.02
    steps: int = 25
    decode_chunk_size: int = 8
    min_guidance: float = 1.0
    max_guidance: float = 3.0
    memory: str = "gpu"
    fit: str = "crop"
    side: int = 768  # the model runs at about side x side pixels (1024x576 for 16:9)


@dataclass(frozen=True)
class LoraChoice:
    """One LoRA: a local ``.safetensors`` file, or a Hub repo id with ``weight_name``."""

    source: str
    weight_name: str | None = None
    strength: float = 1.0
    expert: str = "both"  # two-expert models (Wan 2.2 A14B): "high", "low" or "both" noise experts
    revision: str | None = None  # Hub commit of ``source`` (a preset's pinned LoRA), else main

    @property
    def label(self) -> str:
        return f"{self.source}/{self.weight_name}" if self.weight_name else self.source


@dataclass(frozen=True)
class Keyframe:
    """A picture the video must show at ``frame`` (0-based), for models that take conditions."""

    image: np.ndarray
    frame: int
    strength: float = 1.0


@dataclass(frozen=True)
class DitSettings:
    """The DiT image-to-video model's text and sampling options."""

    prompt: str = "A person looks at the camera, breathing calmly, with subtle natural motion."
    negative_prompt: str = "worst quality, inconsistent motion, blurry, jittery, distorted"
    guidance: float = 3.0
    steps: int = 40
    memory: str = "gpu"
    fit: str = "crop"
    side: int = 640  # about side x side pixels (768x512 for 3:2)
    cache: str = "none"  # one of STEP_CACHES
    loras: tuple[LoraChoice, ...] = ()


@dataclass(frozen=True)
class AnimateRequest:
    """One animation job: an RGB uint8 image and how to move it."""

    image: np.ndarray
    frames: int = 48
    fps: float = 24.0
    seed: int = 0
    motion: MotionSettings = field(default_factory=MotionSettings)
    svd: SvdSettings = field(default_factory=SvdSettings)
    dit: DitSettings = field(default_factory=DitSettings)
    notes: tuple[str, ...] = ()  # what preparing the picture changed (shown with the result)
    last_image: np.ndarray | None = None  # an end picture (first+last frame models)
    keyframes: tuple[Keyframe, ...] = ()  # more pictures at chosen frames (LTX conditions)

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


@dataclass
class AnimateResult:
    """Frames (RGB uint8, all the same size) plus what the backend wants the user to know.

    ``frames`` is a sequence: the classical backend renders each frame when it is read, so a
    long clip is never held in memory; model backends return a list.
    """

    frames: Sequence[np.ndarray]
    fps: float
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        height, width = self.frames[0].shape[:2]
        return width, height


def _finite(value: float, name: str) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{name} must be a number; got {value!r}.")
    return float(value)


def _is_rgb(image: object) -> bool:
    return isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 \
        and image.shape[2] == 3


def check_request(request: AnimateRequest) -> None:
    """Raise :class:`InputError` with a sentence to act on for anything a backend cannot use."""
    image = request.image
    if not _is_rgb(image):
        raise InputError("The picture must be an RGB image; upload a PNG, JPEG or WebP file.")
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise InputError(
            f"The picture is {width}x{height} pixels; portraits need at least {MIN_SIDE} pixels "
            "on the shorter side. Upload a larger picture."
        )
    if not isinstance(request.frames, int) or not 2 <= request.frames <= MAX_FRAMES:
        raise InputError(f"Ask for between 2 and {MAX_FRAMES} frames; got {request.frames!r}.")
    fps = _finite(request.fps, "The frame rate")
    if not 1 <= fps <= MAX_FPS:
        raise InputError(f"Pick a frame rate between 1 and {MAX_FPS:g} fps; got {fps:g}.")
    motion = request.motion
    if motion.camera not in CAMERA_PRESETS:
        raise InputError(
            f"Unknown camera preset '{motion.camera}'; use one of {', '.join(CAMERA_PRESETS)}."
        )
    for name, value in (("Motion strength", motion.strength),
                        ("Camera strength", motion.camera_strength)):
        if not 0 <= _finite(value, name) <= 3:
            raise InputError(f"{name} must be between 0 and 3; got {value:g}.")
    if not 128 <= motion.max_side <= 4096:
        raise InputError(f"The working size must be 128 to 4096 pixels; got {motion.max_side}.")
    svd, dit = request.svd, request.dit
    if not 1 <= svd.motion_bucket_id <= 255:
        raise InputError(f"The motion bucket id goes from 1 to 255; got {svd.motion_bucket_id}.")
    if not 0 <= _finite(svd.noise_aug_strength, "Noise augmentation") <= 1:
        raise InputError("Noise augmentation strength goes from 0 to 1.")
    for steps in (svd.steps, dit.steps):
        if not 1 <= steps <= 200:
            raise InputError(f"Use 1 to 200 sampling steps; got {steps}.")
    if svd.decode_chunk_size < 1:
        raise InputError("The decode chunk size must be at least 1 frame.")
    for memory in (svd.memory, dit.memory):
        if memory not in MEMORY_MODES:
            raise InputError(f"Unknown memory mode '{memory}'; use one of "
                             f"{', '.join(MEMORY_MODES)}.")
    for fit in (svd.fit, dit.fit):
        if fit not in FITS:
            raise InputError(f"Unknown fit '{fit}'; use 'crop' or 'pad'.")
    for side in (svd.side, dit.side):
        if not 32 <= side <= 2048:
            raise InputError(f"The model resolution must be 32 to 2048 pixels; got {side}.")
    if not 0 <= _finite(dit.guidance, "Guidance") <= 30:
        raise InputError(f"Guidance goes from 0 to 30; got {dit.guidance:g}.")
    _check_extras(request)


def _check_extras(request: AnimateRequest) -> None:
    """End picture, keyframes, step cache and LoRAs."""
    height, width = request.image.shape[:2]
    dit = request.dit
    if request.last_image is not None:
        if not _is_rgb(request.last_image):
            raise InputError("The end picture must be an RGB image; upload a PNG, JPEG or WebP "
                             "file.")
        end_h, end_w = request.last_image.shape[:2]
        if (end_h, end_w) != (height, width):
            raise InputError(
                f"The end picture is {end_w}x{end_h} pixels but the first picture is "
                f"{width}x{height}; use an end picture of the same size (crop or resize it)."
            )
    for key in request.keyframes:
        if not isinstance(key, Keyframe) or not _is_rgb(key.image):
            raise InputError("Every keyframe must be an RGB picture with a frame number.")
        if key.image.shape[:2] != (height, width):
            raise InputError(f"The keyframe for frame {key.frame} is {key.image.shape[1]}x"
                             f"{key.image.shape[0]} pixels; keyframes must have the first "
                             f"picture's size, {width}x{height}.")
        if not isinstance(key.frame, int) or not 0 <= key.frame < request.frames:
            raise InputError(f"A keyframe's frame must be between 0 and {request.frames - 1} "
                             f"(the clip has {request.frames} frames); got {key.frame!r}.")
        if not 0 <= _finite(key.strength, "Keyframe strength") <= 1:
            raise InputError(f"Keyframe strength goes from 0 to 1; got {key.strength:g}.")
    if dit.cache not in STEP_CACHES:
        raise InputError(f"Unknown step cache '{dit.cache}'; use one of "
                         f"{', '.join(STEP_CACHES)}.")
    if len(dit.loras) > MAX_LORAS:
        raise InputError(f"Use at most {MAX_LORAS} LoRAs at once; got {len(dit.loras)}.")
    for lora in dit.loras:
        if not isinstance(lora, LoraChoice) or not str(lora.source).strip():
            raise InputError("Each LoRA needs a local .safetensors file or a Hub repo id.")
        if lora.expert not in LORA_EXPERTS:
            raise InputError(f"A LoRA's expert is one of {', '.join(LORA_EXPERTS)}; got "
                             f"{lora.expert!r} for {lora.label}.")
        if not -2 <= _finite(lora.strength, "LoRA strength") <= 2:
            raise InputError(f"LoRA strength goes from -2 to 2; got {lora.strength:g} for "
                             f"{lora.label}.")


def flatten_alpha(rgb: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, bool]:
    """Composite a transparent picture onto white (videos have no alpha); True if it had any."""
    if alpha is None or int(alpha.min()) == 255:
        return rgb, False
    weight = alpha.astype(np.float32)[..., None] / 255.0
    flat = rgb.astype(np.float32) * weight + 255.0 * (1.0 - weight)
    return np.clip(np.rint(flat), 0, 255).astype(np.uint8), True
