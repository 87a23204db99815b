"""Procedural inputs for the style tests and benchmark: a panning video with sensor noise and an
optional hard cut, and small style images (scikit-image's bundled photos, no downloads).

``python -m tests.style_fixtures`` regenerates the tab's examples in assets/style/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from pipelines.media import save_image, write_video


def scene(which: int, width: int, height: int, margin: int) -> np.ndarray:
    """A photo large enough to pan ``margin`` pixels across a ``width`` x ``height`` view."""
    photo = (data.astronaut, data.coffee, data.chelsea, data.rocket)[which % 4]()
    size = (width + margin, height + margin)
    return cv2.resize(photo, size, interpolation=cv2.INTER_AREA)


def panning_frames(frames: int, width: int = 160, height: int = 96, *, step: int = 2,
                   cut_at: int | None = None, noise: float = 6.0,
                   seed: int = 0) -> Iterator[np.ndarray]:
    """A camera panning right ``step`` pixels a frame, with Gaussian noise; a hard cut to another
    photo at frame ``cut_at`` (panning on from there)."""
    rng = np.random.default_rng(seed)
    margin = step * frames + 2
    shots = [scene(0, width, height, margin), scene(1, width, height, margin)]
    for index in range(frames):
        shot = 1 if cut_at is not None and index >= cut_at else 0
        x = step * (index - (cut_at if shot else 0))
        view = shots[shot][: height, x : x + width].astype(np.float32)
        view += rng.normal(0.0, noise, view.shape)
        yield np.clip(view + 0.5, 0, 255).astype(np.uint8)


def write_panning_video(path: Path, frames: int = 24, fps: float = 12.0, **kwargs) -> Path:
    return write_video(path, panning_frames(frames, **kwargs), fps)


def style_image(path: Path, which: int = 1, size: int = 96) -> Path:
    """A small style image from a bundled photo (coffee by default: warm browns)."""
    photo = (data.astronaut, data.coffee, data.chelsea, data.rocket)[which % 4]()
    return save_image(path, cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA))


def write_examples(folder: Path) -> None:
    """The tab's examples: a 2-second panning clip with a cut, two style images, a photo."""
    folder.mkdir(parents=True, exist_ok=True)
    write_panning_video(folder / "pan_cut.mp4", frames=48, fps=24.0, width=320, height=192,
                        cut_at=24, noise=4.0)
    style_image(folder / "style_coffee.jpg", which=1, size=192)
    style_image(folder / "style_rocket.jpg", which=3, size=192)
    photo = cv2.resize(data.chelsea(), (320, 212), interpolation=cv2.INTER_AREA)
    save_image(folder / "content_cat.jpg", photo, quality=88)


if __name__ == "__main__":
    write_examples(Path(__file__).resolve().parent.parent / "assets" / "style")
