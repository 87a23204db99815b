"""WebDataset-style tar shards: each kept shot is one sample, its files sharing one key.

A sample holds ``<key>.jpg`` (the keyframe), ``<key>.json`` (its manifest row) and, when clips
were written, ``<key>.mp4``. Shards are ``shards/shard-000000.tar``, ... with ``shard_size``
samples each, written atomically (loadable with ``webdataset.WebDataset(".../shard-{000000..
000009}.tar")``).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    archive.addfile(info, io.BytesIO(data))


def write_shards(out: Path, rows: Sequence[dict], shard_size: int) -> list[Path]:
    """Shards of ``rows`` (kept manifest rows; paths relative to ``out``); old shards replaced."""
    folder = out / "shards"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("shard-*.tar"):
        old.unlink()
    written = []
    for number, first in enumerate(range(0, len(rows), shard_size)):
        path = folder / f"shard-{number:06d}.tar"
        tmp = path.with_suffix(".tar.tmp")
        with tarfile.open(tmp, "w") as archive:
            for row in rows[first:first + shard_size]:
                key = row["sample"]
                _add_bytes(archive, f"{key}.json", json.dumps(row, sort_keys=True).encode())
                if row.get("keyframe"):
                    _add_bytes(archive, f"{key}.jpg", (out / row["keyframe"]).read_bytes())
                if row.get("clip"):
                    _add_bytes(archive, f"{key}.mp4", (out / row["clip"]).read_bytes())
        os.replace(tmp, path)
        written.append(path)
    return written
