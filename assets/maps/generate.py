"""Make the depth-and-masks tab's example from scikit-image's bundled pictures (no downloads).

    python assets/maps/generate.py

* ``layers.mp4``: a camera sliding sideways past three layers at three depths (parallax): a far
  photo (the astronaut) moving 1 px a frame, a middle band (the coffee cup) 2 px and a near
  band at the bottom (the cat) 4 px, 2 s at 12 fps, 320x240.
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
WIDTH, HEIGHT, FRAMES = 320, 240, 24
LAYERS = (("astronaut", 1, (0, HEIGHT)), ("coffee", 2, (70, 150)), ("chelsea", 4, (170, 240)))


def layers() -> list[np.ndarray]:
    wide = WIDTH + 4 * FRAMES
    photos = [(cv2.resize(getattr(data, name)(), (wide, HEIGHT), interpolation=cv2.INTER_AREA),
               speed, rows) for name, speed, rows in LAYERS]
    frames = []
    for i in range(FRAMES):
        frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        for photo, speed, (top, bottom) in photos:
            left = wide - WIDTH - speed * i
            frame[top:bottom] = photo[top:bottom, left:left + WIDTH]
        frames.append(frame)
    return frames


if __name__ == "__main__":
    write_video(HERE / "layers.mp4", layers(), FPS)
