"""Make the super-resolution tab's examples from scikit-image's bundled photos (no downloads).

    python assets/super_res/generate.py

* ``astronaut_128.png`` with its original ``astronaut_256.png`` (a reference for PSNR/SSIM),
* ``coffee_160.jpg``, a small JPEG,
* ``logo_rgba.png``, a transparent logo (alpha is kept through upscaling),
* ``pan_160x120.mp4``, a two-second pan over a photo with a tone as its audio track.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from pipelines.media import save_image, write_video  # noqa: E402


def area(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def main() -> None:
    astronaut = area(data.astronaut(), (256, 256))
    save_image(HERE / "astronaut_256.png", astronaut)
    save_image(HERE / "astronaut_128.png", area(astronaut, (128, 128)))
    save_image(HERE / "coffee_160.jpg", area(data.coffee(), (160, 107)), quality=90)
    logo = area(data.logo(), (96, 96))
    save_image(HERE / "logo_rgba.png", np.ascontiguousarray(logo[..., :3]),
               np.ascontiguousarray(logo[..., 3]))
    photo = area(data.chelsea(), (300, 198))
    fps, seconds = 12, 2
    frames = [np.ascontiguousarray(photo[40:160, i * 5:i * 5 + 160]) for i in range(fps * seconds)]
    t = np.arange(16000 * seconds) / 16000
    tone = (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    write_video(HERE / "pan_160x120.mp4", frames, fps, audio_samples=(tone, 16000))


if __name__ == "__main__":
    main()
