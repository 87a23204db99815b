"""Inputs for the talking-head tests, all made here: synthetic voices, portraits, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage import data

from pipelines import media
from pipelines.talking_head import speech

SR = 16000
needs_espeak = pytest.mark.skipif(
    speech.espeak_path() is None,
    reason="espeak-ng is not installed (sudo apt-get install espeak-ng)",
)

# Formant frequencies (Hz) of a few vowels, after Peterson & Barney's averages for men.
VOWELS = {
    "a": (730, 1090, 2440),
    "i": (270, 2290, 3010),
    "u": (300, 870, 2240),
    "m": (250,),  # nasal murmur: one low resonance, little above it
}


def vowel(formants: tuple[float, ...], seconds: float, f0: float = 120.0) -> np.ndarray:
    """A sustained voiced sound: harmonics of ``f0`` shaped by resonances at ``formants``."""
    t = np.arange(int(seconds * SR)) / SR
    out = np.zeros_like(t)
    for k in range(1, int(7600 / f0)):
        f = k * f0
        gain = sum(1 / (1 + ((f - centre) / 80) ** 2) for centre in formants)
        out += gain / np.sqrt(k) * np.sin(2 * np.pi * f * t + k)
    return (out / np.abs(out).max()).astype(np.float32)


def modulated_voice(seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """An /a/ whose loudness follows a slow envelope (0..1); returns (samples, envelope)."""
    t = np.arange(int(seconds * SR)) / SR
    envelope = np.clip(0.55 + 0.45 * np.sin(2 * np.pi * 1.3 * t) * np.sin(2 * np.pi * 0.37 * t + 1),
                       0, 1)
    return (0.6 * vowel(VOWELS["a"], seconds) * envelope).astype(np.float32), envelope


def write_wav(path: Path, samples: np.ndarray) -> Path:
    return media.write_wav(path, samples, SR)


def portrait(path: Path) -> Path:
    """scikit-image's public-domain astronaut portrait (512x512, one face) as a PNG."""
    return media.save_image(path, data.astronaut())


def two_faces(path: Path) -> Path:
    """The astronaut beside a 0.7-size copy of herself: two faces, the left one larger."""
    import cv2

    big = data.astronaut()
    small = cv2.resize(big, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    canvas = np.full((512, 522 + small.shape[1], 3), 200, np.uint8)
    canvas[:, :512] = big
    canvas[: small.shape[0], 522:] = small
    return media.save_image(path, canvas)


def landscape(path: Path) -> Path:
    """A sky gradient with noise: no face anywhere."""
    rng = np.random.default_rng(0)
    sky = np.tile(np.linspace(80, 220, 256, dtype=np.uint8)[:, None, None], (1, 320, 3))
    return media.save_image(path, sky + rng.integers(0, 10, sky.shape, dtype=np.uint8))


def face_video(path: Path, frames: int = 10, fps: int = 10) -> Path:
    """A short video of the astronaut drifting right by a pixel per frame."""
    image = data.astronaut()[::2, ::2]
    clips = (np.roll(image, i, axis=1) for i in range(frames))
    return media.write_video(path, clips, fps)


def save_wav2lip_checkpoint(path: Path, *, wrapped: bool = True) -> dict:
    """A random-weight Wav2Lip saved like the published files: the legacy (non-zip) torch
    format, a ``{"state_dict": ...}`` wrapper and ``module.`` prefixes from DataParallel."""
    import torch

    from pipelines.talking_head.network import Wav2Lip

    torch.manual_seed(0)
    model = Wav2Lip().eval()
    state = model.state_dict()
    payload = ({"state_dict": {f"module.{k}": v for k, v in state.items()}, "global_step": 3,
                "global_epoch": 1} if wrapped else state)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path, _use_new_zipfile_serialization=False)
    return state
