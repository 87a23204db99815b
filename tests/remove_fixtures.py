"""Clips for object removal: a textured background (still or panning) with a sprite moving
along a known path over it, the same clip without the sprite, and the sprite's box per frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipelines.media import save_image, write_video
from tests.interpolate_fixtures import texture


@dataclass
class Scene:
    frames: list[np.ndarray]  # with the sprite
    clean: list[np.ndarray]  # the same frames without it
    boxes: list[tuple[int, int, int, int]]  # the sprite's x0, y0, x1, y1 per frame
    masks: list[np.ndarray]  # the sprite's exact pixels per frame


def sprite(size: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A textured disc (RGB) and its alpha (0..1)."""
    picture = texture(size, size, seed)
    alpha = np.zeros((size, size), np.float32)
    cv2.circle(alpha, (size // 2, size // 2), size // 2 - 1, 1.0, -1)
    return picture, alpha


def paste(frame: np.ndarray, picture: np.ndarray, alpha: np.ndarray, x: float, y: float
          ) -> tuple[np.ndarray, np.ndarray]:
    """``picture`` composited over ``frame`` with its top-left at (x, y) (sub-pixel); returns
    the frame and the sprite's coverage (0..1)."""
    height, width = frame.shape[:2]
    place = np.float32([[1, 0, x], [0, 1, y]])
    layer = cv2.warpAffine(picture, place, (width, height), flags=cv2.INTER_LINEAR)
    cover = cv2.warpAffine(alpha, place, (width, height), flags=cv2.INTER_LINEAR)
    out = frame * (1 - cover[..., None]) + layer * cover[..., None]
    return (out + 0.5).astype(np.uint8), cover


def scene(n: int = 24, width: int = 160, height: int = 120, pan=(0.0, 0.0), size: int = 28,
          start=(20.0, 40.0), velocity=(4.0, 1.0), seed: int = 0) -> Scene:
    """``n`` frames: the background moves by ``pan`` pixels per frame (0: a still camera), the
    sprite (a textured disc ``size`` pixels wide) by ``velocity`` from ``start``."""
    margin = int(max(abs(pan[0]), abs(pan[1])) * n) + 8
    big = texture(width + 2 * margin, height + 2 * margin, seed)
    picture, alpha = sprite(size, seed + 1)
    frames, clean, boxes, masks = [], [], [], []
    for i in range(n):
        shift = np.float32([[1, 0, -margin + pan[0] * i], [0, 1, -margin + pan[1] * i]])
        background = cv2.warpAffine(big, shift, (width, height), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REFLECT)
        x, y = start[0] + velocity[0] * i, start[1] + velocity[1] * i
        frame, cover = paste(background, picture, alpha, x, y)
        frames.append(frame)
        clean.append(background)
        boxes.append((round(x), round(y), round(x) + size, round(y) + size))
        masks.append(cover > 0.05)
    return Scene(frames, clean, boxes, masks)


def write_scene(folder: Path, clip: Scene, fps: float = 12.0) -> dict[str, Path]:
    """The clip as an MP4, its first-frame mask as a PNG and its mask video."""
    folder.mkdir(parents=True, exist_ok=True)
    video = write_video(folder / "clip.mp4", clip.frames, fps)
    mask = save_image(folder / "mask.png", np.repeat(clip.masks[0][..., None] * 255, 3,
                                                     axis=2).astype(np.uint8))
    masks = write_video(folder / "masks.mp4", [np.repeat(m[..., None] * 255, 3, axis=2).astype(
        np.uint8) for m in clip.masks], fps)
    return {"video": video, "mask": mask, "mask_video": masks}
