"""Curation inputs: video files, folders (searched recursively) and text files listing paths."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pipelines.errors import InputError
from pipelines.media import VIDEO_SUFFIXES

LIST_SUFFIXES = (".txt", ".lst", ".list")


def gather_videos(inputs: Iterable[str | Path]) -> list[Path]:
    """Every video named by ``inputs``, each once, in the order given (folders sorted).

    A folder contributes every file with a video suffix below it; a ``.txt``/``.lst``/``.list``
    file contributes the paths on its lines (blank lines and ``#`` comments skipped; relative
    paths are relative to the list); any other file is taken as a video, whatever its suffix, so
    a damaged or mislabelled file still gets its error row.
    """
    found: list[Path] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            found.append(resolved)

    for raw in inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in VIDEO_SUFFIXES:
                    add(child)
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    listed = Path(line).expanduser()
                    add(listed if listed.is_absolute() else path.parent / listed)
        elif path.exists():
            add(path)
        else:
            raise InputError(f"The input {raw} does not exist; give video files, folders or a "
                             f"text file listing video paths.")  # fmt: skip
    if not found:
        raise InputError("No videos were found in the inputs; give video files (MP4, MOV, "
                         "WebM, MKV, ...), folders holding them, or a text list of paths.")
    return found
