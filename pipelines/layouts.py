"""Which files a Hugging Face loader opens, and whether a folder holds all of them.

A spec names its files as the loader sees them: a weights file such as
``transformer/diffusion_pytorch_model.safetensors`` stands for the file itself *or* its shards,
because ``save_pretrained`` splits a large component into
``diffusion_pytorch_model-00001-of-00004.safetensors`` ... plus the shard index
``diffusion_pytorch_model.safetensors.index.json`` that ``from_pretrained`` opens first. A variant
(``fp16``) is part of the name: ``unet/diffusion_pytorch_model.fp16.safetensors``, sharded as
``diffusion_pytorch_model.fp16-00001-of-00002.safetensors`` with the index
``diffusion_pytorch_model.safetensors.index.fp16.json``.

* :func:`allow_patterns` turns a spec's names into the patterns a download filters the repo's
  file list with (``snapshot_download(allow_patterns=...)`` matching: :mod:`fnmatch`);
* :func:`missing` says which names a folder lacks (a shard index counts only with every shard it
  lists);
* :func:`diffusers_files` derives a diffusers pipeline's files from its ``model_index.json``
  (each component's config, its weights in the spec's variant, tokenizer and processor folders),
  so no spec lists folders by hand.

Pure file-name logic: no network, no torch.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

MODEL_INDEX = "model_index.json"
SHARD_SUFFIX = "-?????-of-?????"  # save_pretrained numbers shards with five digits
_GLOB_CHARS = set("*?[")

# Weight file stems of the two libraries a diffusers pipeline draws its components from.
WEIGHT_STEMS = {"diffusers": "diffusion_pytorch_model", "transformers": "model"}
# Component classes that are configuration only, never weights: name fragment -> files.
_CONFIG_ONLY = (
    ("Scheduler", ("scheduler_config.json",)),
    ("Tokenizer", ("*",)),
    ("Processor", ("*",)),
    ("FeatureExtractor", ("*",)),
    ("Guidance", ("*",)),  # diffusers guiders (ClassifierFreeGuidance, ...): guider_config.json
)


def is_literal(pattern: str) -> bool:
    return not (_GLOB_CHARS & set(pattern))


def is_weights(name: str) -> bool:
    """A literal safetensors name, which its shards may stand in for."""
    return is_literal(name) and name.endswith(".safetensors")


def _stem_and_variant(name: str) -> tuple[str, str]:
    """``a/model.fp16.safetensors`` -> (``a/model``, ``.fp16``); no variant -> (``a/model``, "")."""
    base = name[: -len(".safetensors")]
    folder, _, file = base.rpartition("/")
    stem, dot, variant = file.partition(".")
    prefix = f"{folder}/" if folder else ""
    return prefix + stem, (dot + variant if dot else "")


def index_name(name: str) -> str:
    """The shard index that stands for the weights file ``name``."""
    stem, variant = _stem_and_variant(name)
    return f"{stem}.safetensors.index{variant}.json"


def shard_pattern(name: str) -> str:
    """The pattern of the shards of the weights file ``name``."""
    stem, variant = _stem_and_variant(name)
    return f"{stem}{variant}{SHARD_SUFFIX}.safetensors"


def allow_patterns(files: Iterable[str]) -> tuple[str, ...]:
    """The download filter for a spec's names: each weights file with its index and shards."""
    out: list[str] = []
    for name in files:
        for pattern in ((name, index_name(name), shard_pattern(name)) if is_weights(name)
                        else (name,)):
            if pattern not in out:
                out.append(pattern)
    return tuple(out)


def matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def folder_names(folder: Path) -> set[str]:
    """Every file under ``folder`` as a relative POSIX path (links to blobs followed)."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def shards_of(folder: Path, index: str) -> list[str] | None:
    """The shard files an index lists (relative to ``folder``), or None when it is unreadable."""
    try:
        weight_map = json.loads((folder / index).read_text())["weight_map"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    parent = index.rpartition("/")[0]
    return sorted({f"{parent}/{shard}" if parent else shard for shard in weight_map.values()})


def missing(folder: Path | None, files: Iterable[str], names: set[str] | None = None
            ) -> list[str]:
    """The names of ``files`` that ``folder`` does not hold: a literal name is there as a file,
    a weights file also as its index with every shard the index lists, a pattern when at least
    one file matches it. With ``folder`` None, ``names`` is a remote listing: an index there
    counts (its shards are matched by the shard pattern)."""
    names = folder_names(folder) if names is None else names
    gone: list[str] = []
    for name in files:
        if not is_literal(name):
            ok = any(fnmatch.fnmatch(n, name) for n in names)
        elif name in names:
            ok = True
        elif is_weights(name) and index_name(name) in names:
            shards = shards_of(folder, index_name(name)) if folder is not None else None
            ok = folder is None or (bool(shards) and all(s in names for s in shards))
        else:
            ok = False
        if not ok:
            gone.append(name)
    return gone


def _component_files(name: str, entry: Any, variant: str | None) -> tuple[str, ...]:
    """The files of one ``model_index.json`` entry (``[library, class]``); () for an absent
    component (``[null, null]``) or a plain attribute (a number, a flag)."""
    if not (isinstance(entry, list) and len(entry) == 2 and all(entry)):
        return ()
    library, cls = entry
    for fragment, files in _CONFIG_ONLY:
        if fragment in cls:
            return tuple(f"{name}/{f}" for f in files)
    stem = WEIGHT_STEMS.get(library, "diffusion_pytorch_model")
    weights = f"{stem}.{variant}.safetensors" if variant else f"{stem}.safetensors"
    return f"{name}/config.json", f"{name}/{weights}"


def diffusers_files(model_index: Mapping[str, Any], variant: str | None = None) -> tuple[str, ...]:
    """A diffusers pipeline's files, from its ``model_index.json``: the index itself, then per
    component its config and its weights in ``variant`` (tokenizer, processor and guider
    folders whole; schedulers their config)."""
    files = [MODEL_INDEX]
    for name, entry in model_index.items():
        if not name.startswith("_"):
            files += _component_files(name, entry, variant)
    return tuple(files)


def read_model_index(folder: Path | None) -> dict[str, Any] | None:
    if folder is None:
        return None
    try:
        return json.loads((folder / MODEL_INDEX).read_text())
    except (OSError, ValueError):
        return None


def spec_files(spec: Any, folder: Path | None = None) -> tuple[str, ...]:
    """The names a spec's loader opens: its ``files``, and for a diffusers layout the files its
    ``model_index.json`` (read from ``folder`` when given and present) derives. Without the index
    a diffusers spec names the index alone, so a folder lacking it is incomplete."""
    if spec.layout != "diffusers":
        return tuple(spec.files)
    index = read_model_index(folder)
    derived = diffusers_files(index, spec.variant) if index is not None else (MODEL_INDEX,)
    return derived + tuple(f for f in spec.files if f not in derived)
