"""Typed text to speech with espeak-ng, a small system program (no Python package, no weights)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from pipelines.errors import InputError, StudioError

INSTALL_HINT = (
    "Install espeak-ng to turn typed text into speech: `sudo apt-get install espeak-ng` on "
    "Debian or Ubuntu, `brew install espeak-ng` on macOS, or the installer from "
    "github.com/espeak-ng/espeak-ng/releases on Windows. Or upload an audio file instead."
)
MAX_CHARS = 3000
RATE_RANGE = (80, 400)  # words per minute espeak-ng speaks well
DEFAULT_RATE = 150
# (label, espeak-ng voice) pairs offered in the tab; the CLI takes any espeak-ng voice name.
VOICES = (
    ("English", "en"),
    ("English (US)", "en-us"),
    ("German", "de"),
    ("French", "fr"),
    ("Spanish", "es"),
    ("Italian", "it"),
    ("Portuguese (Brazil)", "pt-br"),
    ("Dutch", "nl"),
    ("Hindi", "hi"),
    ("Mandarin", "cmn"),
)


def espeak_path() -> str | None:
    """The espeak-ng executable, or None when it is not installed."""
    return shutil.which("espeak-ng")


def synthesize(text: str, path: Path, voice: str = "en", rate: int = DEFAULT_RATE) -> Path:
    """Speak ``text`` into a WAV file at ``path`` (written atomically) and return the path."""
    exe = espeak_path()
    if exe is None:
        raise StudioError(f"Typed text needs espeak-ng, which is not installed. {INSTALL_HINT}")
    text = (text or "").strip()
    if not text:
        raise InputError("The text to speak is empty. Type a sentence or upload an audio file.")
    if len(text) > MAX_CHARS:
        raise InputError(f"The text is {len(text):,} characters long; the limit is {MAX_CHARS:,}. "
                         "Shorten it or split it into several videos.")
    if not re.fullmatch(r"[A-Za-z0-9_+-]{1,40}", voice or ""):
        raise InputError(f"'{voice}' is not an espeak-ng voice name; use one such as 'en' or 'de' "
                         "(`espeak-ng --voices` lists them).")
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise InputError(f"The speaking rate must be {RATE_RANGE[0]} to {RATE_RANGE[1]} words per "
                         f"minute; got {rate}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.part.wav")
    try:
        try:
            done = subprocess.run(
                [exe, "-v", voice, "-s", str(int(rate)), "-w", str(tmp), "--stdin"],
                input=text, capture_output=True, text=True, timeout=300, check=False,
            )
        except subprocess.TimeoutExpired as err:
            raise StudioError("espeak-ng took over 5 minutes; shorten the text.") from err
        if done.returncode != 0 or not tmp.is_file() or tmp.stat().st_size <= 44:
            reason = done.stderr.strip() or f"exit code {done.returncode}"
            if "voice does not exist" in reason:
                raise InputError(f"espeak-ng has no voice '{voice}'. Pick another voice "
                                 "(`espeak-ng --voices` lists them).")
            raise StudioError(f"espeak-ng could not speak the text ({reason}).")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
