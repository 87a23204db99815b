"""Example pictures for the Portrait tab, taken from scikit-image's bundled sample data.

``python -m pipelines.portrait.examples`` (re)writes them into ``assets/portrait/``: a
public-domain portrait (NASA's photo of Eileen Collins) and a picture without a face (a cup of
coffee, CC0), which shows the camera-only fallback. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.media import save_image

FOLDER = Path(__file__).resolve().parents[2] / "assets" / "portrait"
EXAMPLES = ("astronaut", "coffee")


def write_examples(folder: Path = FOLDER) -> list[Path]:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    return [save_image(folder / f"{name}.jpg", getattr(data, name)(), quality=92)
            for name in EXAMPLES]


if __name__ == "__main__":
    for path in write_examples():
        print(f"{path} ({path.stat().st_size / 1024:.0f} KiB)")
