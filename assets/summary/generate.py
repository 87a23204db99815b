"""Make the one-image summary tab's examples from scikit-image's bundled pictures (no downloads).

    python assets/summary/generate.py

* ``pan.mp4``: a three-second sideways pan over scikit-image's rocket photo (a panorama);
* ``walk.mp4``: scikit-image's logo hopping across a still photo of a coffee cup (an action
  shot).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from pipelines.media import write_video  # noqa: E402

FPS = 12


def pan() -> list[np.ndarray]:
    photo = data.rocket()[90:330]  # 240 x 640
    lefts = np.linspace(0, photo.shape[1] - 320, 3 * FPS).round().astype(int)
    return [np.ascontiguousarray(photo[:, x:x + 320]) for x in lefts]


def walk() -> list[np.ndarray]:
    background = cv2.resize(data.coffee(), (360, 240), interpolation=cv2.INTER_AREA)
    sprite = cv2.resize(data.logo()[..., :3], (56, 56), interpolation=cv2.INTER_AREA)
    sprite = sprite.astype(np.float32)
    alpha = (sprite.min(axis=2, keepdims=True) < 235).astype(np.float32)  # the logo, not the
    alpha = cv2.GaussianBlur(alpha, (3, 3), 0)[..., None]  # white square around it
    frames = []
    count = 3 * FPS
    for i in range(count):
        x = round(8 + i * (360 - 72) / (count - 1))
        y = round(150 - 110 * abs(np.sin(np.pi * 3 * i / count)))  # three hops
        frame = background.astype(np.float32)
        patch = frame[y:y + 56, x:x + 56]
        frame[y:y + 56, x:x + 56] = alpha * sprite + (1 - alpha) * patch
        frames.append(frame.round().astype(np.uint8))
    return frames


def main() -> None:
    write_video(HERE / "pan.mp4", pan(), FPS)
    write_video(HERE / "walk.mp4", walk(), FPS)


if __name__ == "__main__":
    main()
