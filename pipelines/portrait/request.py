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
# Memory modes of the model backends (what each means is in docs/portrait.md).
MEMORY_MODES = ("gpu", "offload", "chunked", "low", "compile")
MEMORY_LABELS = {
    "gpu": "All on GPU (fastest)",
    "offload": "Model CPU offload",
    "chunked": "Forward chunking (UNet) / VAE tiling (DiT)",
    "low": "Lowest memory: offload + chunking",
    "compile": "All on GPU + torch.compile",
}
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
class DitSettings:
    """The DiT image-to-video model's text and sampling options."""

    prompt: str = "A person looks at the camera, breathing calmly, with subtle natural motion."
    negative_prompt: str = "worst quality, inconsistent motion, blurry, jittery, distorted"
    guidance: float = 3.0
    steps: int = 40
    memory: str = "gpu"
    fit: str = "crop"
    side: int = 640  # about side x side pixels (768x512 for 3:2)


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


def check_request(request: AnimateRequest) -> None:
    """Raise :class:`InputError` with a sentence to act on for anything a backend cannot use."""
    image = request.image
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
            or image.shape[2] != 3:
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


def flatten_alpha(rgb: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, bool]:
    """Composite a transparent picture onto white (videos have no alpha); True if it had any."""
    if alpha is None or int(alpha.min()) == 255:
        return rgb, False
    weight = alpha.astype(np.float32)[..., None] / 255.0
    flat = rgb.astype(np.float32) * weight + 255.0 * (1.0 - weight)
    return np.clip(np.rint(flat), 0, 255).astype(np.uint8), True
