"""The request every talking-head runner takes and the result it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.faces import Box
from pipelines.talking_head.settings import SETTINGS

FPS = 25.0  # Wav2Lip was trained at 25 fps; the classical backend uses the same rate

# An optional sharpener for a batch of generated face crops: RGB uint8 crops of one size and a
# scale factor in, the crops that much larger out.
Enhancer = Callable[[list[np.ndarray], float], list[np.ndarray]]


@dataclass(frozen=True)
class TalkRequest:
    """One job: a face (portrait image or short face video) speaks an audio file."""

    face: Path
    audio: Path
    output: Path  # the MP4 to write
    fps: float = FPS
    # The settings' defaults come from the task's schema (pipelines.talking_head.settings).
    blinks: bool = SETTINGS["blinks"].default  # stills only: a video keeps its own blinks
    head_motion: float = SETTINGS["head_motion"].default  # stills only: 0 keeps the head still
    mouth_strength: float = SETTINGS["mouth_strength"].default  # classical: mouth at full voice
    seed: int = 0
    max_side: int = SETTINGS["max_side"].default  # larger inputs are scaled down to this side
    batch_size: int = SETTINGS["batch_size"].default  # Wav2Lip: face crops per forward pass
    chin_padding: float = SETTINGS["chin_padding"].default  # Wav2Lip: crop below the face box
    enhancer: Enhancer | None = None  # Wav2Lip: sharpen each generated mouth crop


@dataclass
class TalkResult:
    video: Path
    frames: int
    fps: float
    audio_seconds: float
    face_box: Box  # where the face was found in the (possibly scaled) first frame
    faces_found: int
    notes: list[str] = field(default_factory=list)  # things the user should know, as sentences
    timings: dict[str, float] = field(default_factory=dict)
    mouth_open: np.ndarray | None = None  # per frame, 0..1 (classical backend)
    face_finder: str = "haar"  # "mediapipe" (landmark model) or "haar" (cascades)
    # Per-frame curves a portrait's motion followed (yaw, pitch, roll in degrees; brow, blink,
    # activity 0..1; the LivePortrait backend adds its mouth keypoint offset); None for videos.
    motion: dict[str, np.ndarray] | None = None
