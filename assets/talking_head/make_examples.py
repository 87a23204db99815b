"""Regenerate this folder's examples: ``python assets/talking_head/make_examples.py``.

astronaut.jpg: scikit-image's bundled public-domain portrait (Eileen Collins, NASA).
speech.wav: a sentence spoken by espeak-ng, resampled to 16 kHz mono 16-bit.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

SENTENCE = ("Hello! I am an astronaut. Today I will tell you about the moon, "
            "the stars, and our beautiful blue planet.")


def main() -> None:
    from PIL import Image
    from skimage import data

    from pipelines import media
    from pipelines.talking_head import speech

    Image.fromarray(data.astronaut()).save(HERE / "astronaut.jpg", quality=90)
    with tempfile.TemporaryDirectory() as tmp:
        raw = speech.synthesize(SENTENCE, Path(tmp) / "speech.wav", voice="en", rate=150)
        media.write_wav(HERE / "speech.wav", media.read_audio(raw, 16000), 16000)
    for name in ("astronaut.jpg", "speech.wav"):
        print(f"{name}: {(HERE / name).stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
