"""Model files a new user can fetch and trust: planned, downloaded with progress, resumed,
verified, and removed again.

Two kinds of source:

* **Hub** specs (``repo_id`` at a pinned ``revision``): huggingface_hub describes each file (size,
  blob name, commit), then the studio streams it into the Hub cache's own layout
  (``blobs/<etag>``, ``snapshots/<commit>/<file>``, ``refs/<revision>``), so huggingface_hub and
  diffusers/transformers find it offline. (huggingface_hub 2.x discards partial files between
  calls; streaming here keeps ``<etag>.incomplete`` and resumes it with a Range request.)
* **URL** specs (``urls``: file -> HTTPS address, each with a ``sha256``) download with ranged
  GETs into a content-addressed folder beside the Hub cache (``<cache>/blobs/<sha256>``), linked
  into one folder per spec (``<cache>/specs/<spec id>/<file>``).

Progress (bytes, speed, time left) goes to a callback; a cancel event stops a download at its
next chunk and keeps the partial file for the next attempt.

Every pickled checkpoint (``.pth``, ``.pt``, ``.bin``, ...) is checked against its sha256 after
download and again before its first load: the spec's ``sha256`` entry, or for a Hub file without
one, the SHA-256 the Hub records for it (the LFS object id, which names its blob). A file whose
digest differs is removed and never loaded. Verified digests are remembered by path, size and
modification time, so a load re-hashes only files that changed on disk.

A gated or private Hub repo (HTTP 401/403) gives one sentence saying what to do; the access
token never appears in a message (:func:`scrub`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from pipelines import layouts
from pipelines.errors import StudioError, WeightsUnavailable
from pipelines.spec import PipelineSpec

log = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".pkl", ".pickle")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX40 = re.compile(r"^[0-9a-f]{40}$")
CHUNK = 4 * 1024 * 1024  # bytes per read when hashing or streaming a URL download
REACH_TIMEOUT_S = 0.8  # "is the Hub reachable?" must answer in under a second
_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{8,}")


# --------------------------------------------------------------------------------------------
# Errors


class FetchCancelled(StudioError):
    """The user cancelled a download; what was downloaded stays for the next attempt."""


class ChecksumMismatch(StudioError):
    """A downloaded file's SHA-256 differs from the one the spec pins; the file is removed."""

    def __init__(self, spec_id: str, name: str, expected: str, actual: str):
        self.spec_id, self.name, self.expected, self.actual = spec_id, name, expected, actual
        super().__init__(
            f"The file {name} of '{spec_id}' failed its SHA-256 check (expected {expected[:12]}…, "
            f"got {actual[:12]}…), so it was removed and not loaded. Fetch it again with "
            f"`python cli.py fetch {spec_id}`; if this repeats, the source has changed."
        )


class GatedRepo(WeightsUnavailable):
    """The Hub refused the download (401/403): a gated or private repo, or no accepted licence."""

    def __init__(self, spec_id: str, repo_id: str):
        self.spec_id, self.repo_id = spec_id, repo_id
        StudioError.__init__(self, gated_message(spec_id, repo_id))


def gated_message(spec_id: str, repo_id: str) -> str:
    """The one sentence for a gated or private repo."""
    return (
        f"'{spec_id}' comes from the gated repo {repo_id}: accept its licence at "
        f"https://huggingface.co/{repo_id} while logged in, then set HF_TOKEN or run "
        f"`hf auth login`, and fetch again."
    )


def _token() -> str | None:
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:  # no token configured, or an unreadable token file
        return None


def scrub(text: str) -> str:
    """``text`` without the Hub access token (or anything shaped like one)."""
    token = _token()
    if token:
        text = text.replace(token, "hf_***")
    return _TOKEN_PATTERN.sub("hf_***", text)


# --------------------------------------------------------------------------------------------
# Where things live


def hub_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)


def url_cache_dir() -> Path:
    """Cache of URL-sourced files, beside the Hub cache (``STUDIO_URL_CACHE`` overrides)."""
    override = os.environ.get("STUDIO_URL_CACHE")
    return Path(override) if override else hub_cache_dir().parent / "spacetime-urls"


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def url_folder(spec: PipelineSpec) -> Path:
    """The folder holding a URL spec's files (links into the content-addressed blobs)."""
    return url_cache_dir() / "specs" / spec.id


def hub_repo_dir(spec: PipelineSpec) -> Path:
    """The Hub cache folder of the spec's repo (``models--org--name``)."""
    return _repo_dir(spec.repo_id, spec.repo_type)


def _repo_dir(repo_id: str, repo_type: str = "model") -> Path:
    return hub_cache_dir() / f"{repo_type}s--{repo_id.replace('/', '--')}"


def is_pickle(name: str) -> bool:
    return name.lower().endswith(PICKLE_SUFFIXES)


is_literal = layouts.is_literal


class SpecCatalog(Protocol):
    """What pruning and disk use need of a :class:`pipelines.registry.Registry`."""

    cache: Any

    def __iter__(self) -> Iterator[PipelineSpec]: ...

    def get(self, spec_id: str) -> PipelineSpec: ...

    def unload(self, spec_id: str) -> int: ...


# --------------------------------------------------------------------------------------------
# Plans: what a fetch would download


@dataclass(frozen=True)
class RemoteFile:
    name: str  # path inside the spec's folder
    size: int | None
    sha256: str | None  # expected digest (the spec's, or the Hub's LFS object id)
    url: str
    on_disk: bool = False
    etag: str = ""  # Hub: the blob's name in the cache (LFS sha256 or git blob id)
    commit: str = ""  # Hub: the commit the revision resolved to
    repo_id: str = ""  # Hub: a companion's repo ("" for the spec's own)
    revision: str | None = None  # Hub: a companion's pinned revision

    @property
    def label(self) -> str:
        return f"{self.repo_id}:{self.name}" if self.repo_id else self.name


@dataclass(frozen=True)
class FetchPlan:
    spec_id: str
    source: str  # "hub" or "url"
    revision: str | None
    files: tuple[RemoteFile, ...]
    free_bytes: int  # free space on the cache's disk now

    @property
    def total_bytes(self) -> int:
        return sum(f.size or 0 for f in self.files)

    @property
    def missing(self) -> tuple[RemoteFile, ...]:
        return tuple(f for f in self.files if not f.on_disk)

    @property
    def download_bytes(self) -> int:
        return sum(f.size or 0 for f in self.missing)

    @property
    def free_after(self) -> int:
        return self.free_bytes - self.download_bytes

    def describe(self) -> str:
        lines = [f"{self.spec_id}: {len(self.files)} file(s), {human_bytes(self.total_bytes)}"
                 + (f" at revision {self.revision}" if self.revision else "")]
        for f in self.files:
            state = "on disk" if f.on_disk else "to download"
            digest = f" sha256 {f.sha256[:12]}…" if f.sha256 else ""
            size = human_bytes(f.size) if f.size is not None else "size unknown"
            lines.append(f"  {f.label}  {size}  ({state}){digest}")
        lines.append(f"  download {human_bytes(self.download_bytes)}; free disk after: "
                     f"{human_bytes(self.free_after)}")
        return "\n".join(lines)


def human_bytes(count: float | None) -> str:
    if count is None:
        return "?"
    value = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    return f"{value:.2f} TB"


def _free_bytes(path: Path) -> int:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def plan(spec: PipelineSpec, *, timeout: float = 10.0) -> FetchPlan:
    """The files ``spec`` needs with their sizes and digests (asks the Hub or the URLs' hosts)."""
    _require_remote(spec)
    if spec.urls:
        files = tuple(_url_remote(spec, name, timeout) for name in spec.files)
        return FetchPlan(spec.id, "url", None, files, _free_bytes(url_cache_dir()))
    files = tuple(_hub_remotes(spec, timeout))
    return FetchPlan(spec.id, "hub", spec.revision, files, _free_bytes(hub_cache_dir()))


def describe_patterns(spec: PipelineSpec, reason: str) -> str:
    """What a download of ``spec`` would take when the Hub cannot say sizes: its patterns (a
    diffusers layout's components when its model_index.json is in the cache)."""
    folder = local_folder(spec) or _snapshot(spec)
    patterns = spec_patterns(spec, folder)
    lines = [f"{spec.id}: sizes unknown ({reason}); a download takes the files of "
             f"{spec.repo_id}" + (f" at revision {spec.revision}" if spec.revision else "")
             + " matching:"]
    lines += [f"  {p}" for p in patterns]
    if spec.layout == "diffusers" and layouts.read_model_index(folder) is None:
        lines.append("  + each component model_index.json names: its config, tokenizer or "
                     "processor files, weights" + (f" ({spec.variant})" if spec.variant else "")
                     + " with their shard index")
    return "\n".join(lines)


def _require_remote(spec: PipelineSpec) -> None:
    if not spec.needs_weights:
        raise StudioError(f"'{spec.id}' needs no weights: nothing to fetch.")
    if hub_offline():
        raise WeightsUnavailable(spec.id, spec.repo_id or "", "HF_HUB_OFFLINE=1 is set")


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _url_remote(spec: PipelineSpec, name: str, timeout: float) -> RemoteFile:
    import httpx

    url, digest = spec.urls[name], spec.sha256[name]
    on_disk = (url_cache_dir() / "blobs" / digest).is_file()
    try:
        response = httpx.head(url, follow_redirects=True, timeout=timeout)
    except httpx.HTTPError as err:
        raise WeightsUnavailable(spec.id, spec.repo_id,
                                 scrub(f"{type(err).__name__}: {err}")) from None
    _raise_for_url_status(spec, response.status_code, url)
    length = response.headers.get("Content-Length")
    return RemoteFile(name, int(length) if length else None, digest, url, on_disk)


def _raise_for_url_status(spec: PipelineSpec, status: int, url: str) -> None:
    if status in (401, 403) and urlsplit(url).hostname == urlsplit(hub_endpoint()).hostname:
        raise GatedRepo(spec.id, spec.repo_id)
    if status >= 400:
        host = urlsplit(url).hostname
        raise WeightsUnavailable(spec.id, spec.repo_id, f"{host} answered HTTP {status} for {url}")


def _hub_call(spec: PipelineSpec, call: Callable[[], Any]) -> Any:
    """Run a huggingface_hub call, turning refusals into the gated sentence and anything else
    into WeightsUnavailable with the token scrubbed."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return call()
    except (FetchCancelled, ChecksumMismatch):
        raise
    except (GatedRepoError, RepositoryNotFoundError) as err:
        if isinstance(err, RevisionNotFoundError):
            raise WeightsUnavailable(
                spec.id, spec.repo_id, f"the repo has no revision {spec.revision}"
            ) from None
        raise GatedRepo(spec.id, spec.repo_id) from None
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status in (401, 403):
            raise GatedRepo(spec.id, spec.repo_id) from None
        raise WeightsUnavailable(spec.id, spec.repo_id,
                                 scrub(f"{type(err).__name__}: {err}")) from None
    except Exception as err:  # connection errors come in many types; all mean the same here
        raise WeightsUnavailable(
            spec.id, spec.repo_id, scrub(f"{type(err).__name__}: {err}")
        ) from None


def _hub_remotes(spec: PipelineSpec, timeout: float) -> Iterable[RemoteFile]:
    """Each file the spec needs, with the size, blob name and commit the Hub reports (a HEAD
    per file). A diffusers layout reads the repo's model_index.json first (it names the
    components); names with patterns or shards are matched against the repo's tree."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    endpoint = hub_endpoint()
    headers = _auth_headers()
    wanted = layouts.spec_files(spec, _model_index_folder(spec, endpoint, timeout))
    patterns = layouts.allow_patterns(wanted)
    if patterns and all(is_literal(p) for p in patterns):
        names = list(patterns)
    else:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=endpoint)
        entries = _hub_call(spec, lambda: list(api.list_repo_tree(
            spec.repo_id, revision=spec.revision, repo_type=spec.repo_type, recursive=True)))
        listed = [e.path for e in entries if getattr(e, "size", None) is not None]
        names = [n for n in listed if not patterns or layouts.matches(n, patterns)]
        absent = layouts.missing(None, wanted, set(names))
        if absent:
            raise WeightsUnavailable(spec.id, spec.repo_id, "the repo at revision "
                                     f"{spec.revision or 'main'} has no file matching {absent}")
    wanted_files = [(spec.repo_id, name, spec.revision) for name in names]
    for repo_id, name, revision in wanted_files + companions(spec):
        url = hf_hub_url(repo_id, name, revision=revision, repo_type=spec.repo_type,
                         endpoint=endpoint)
        meta = _hub_call(spec, lambda url=url: get_hf_file_metadata(
            url, timeout=timeout, endpoint=endpoint, headers=headers))
        etag = (meta.etag or "").strip('"').lower()
        if not meta.commit_hash or not etag:
            raise WeightsUnavailable(spec.id, spec.repo_id,
                                     f"{endpoint} did not describe {name} (no commit or etag)")
        own = repo_id == spec.repo_id
        digest = (spec.sha256.get(name) if own else None) or (etag if HEX64.match(etag) else None)
        yield RemoteFile(name, meta.size, digest, meta.location or url,
                         _cached(repo_id, name, revision, spec.repo_type), etag,
                         meta.commit_hash, "" if own else repo_id, None if own else revision)


def companions(spec: PipelineSpec) -> list[tuple[str, str, str | None]]:
    """``(repo_id, path, revision)`` of each file of another repo the spec's runner opens."""
    out = []
    for text in spec.companions:
        head, _, revision = text.partition("@")
        repo_id, _, path = head.partition(":")
        out.append((repo_id, path, revision or None))
    return out


def _model_index_folder(spec: PipelineSpec, endpoint: str, timeout: float) -> Path | None:
    """For a diffusers layout, the cache folder holding the repo's model_index.json at the
    pinned revision (downloaded first: a few hundred bytes); None for other layouts."""
    if spec.layout != "diffusers":
        return None
    from huggingface_hub import hf_hub_download

    path = _hub_call(spec, lambda: hf_hub_download(
        spec.repo_id, layouts.MODEL_INDEX, revision=spec.revision, repo_type=spec.repo_type,
        endpoint=endpoint, etag_timeout=timeout))
    return Path(path).parent


def _auth_headers() -> dict[str, str]:
    token = _token()
    return {"authorization": f"Bearer {token}"} if token else {}


def _cached(repo_id: str, name: str, revision: str | None, repo_type: str = "model") -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, name, revision=revision, repo_type=repo_type)
    return isinstance(found, str) and Path(found).is_file()


# --------------------------------------------------------------------------------------------
# Progress


@dataclass
class FetchProgress:
    """What a progress bar shows: bytes, speed and time left for one spec's download."""

    spec_id: str
    file: str
    done_bytes: int
    total_bytes: int
    elapsed_s: float
    start_bytes: int = 0  # already on disk when this fetch started (not counted in the speed)
    finished: bool = False

    @property
    def fraction(self) -> float:
        return min(1.0, self.done_bytes / self.total_bytes) if self.total_bytes else 0.0

    @property
    def speed_bps(self) -> float:
        moved = self.done_bytes - self.start_bytes
        return moved / self.elapsed_s if self.elapsed_s > 0 and moved > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        speed = self.speed_bps
        return (self.total_bytes - self.done_bytes) / speed if speed and self.total_bytes else None

    def describe(self) -> str:
        eta = self.eta_s
        left = "" if eta is None else f", {_human_seconds(eta)} left"
        percent = f" ({self.fraction:.0%})" if self.total_bytes else ""
        return (f"{human_bytes(self.done_bytes)} of {human_bytes(self.total_bytes)}{percent} at "
                f"{human_bytes(self.speed_bps)}/s{left} ({self.file})")


def _human_seconds(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


ProgressCallback = Callable[[FetchProgress], None]


class _Meter:
    """Adds up bytes over a spec's files and calls back at most every ``interval`` seconds."""

    def __init__(self, spec_id: str, total: int, callback: ProgressCallback | None,
                 cancel: threading.Event | None, interval: float = 0.1):
        self.spec_id, self.total, self.callback, self.cancel = spec_id, total, callback, cancel
        self.interval = interval
        self.done: dict[str, int] = {}
        self.start = time.perf_counter()
        self.start_bytes = 0
        self.current = ""
        self._last = 0.0
        self._lock = threading.Lock()

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise FetchCancelled(
                f"The download of '{self.spec_id}' was cancelled; what was downloaded is kept, "
                "and fetching again resumes from there."
            )

    def begin(self, name: str, initial: int) -> None:
        with self._lock:
            if name not in self.done:
                self.start_bytes += initial
            self.done[name] = initial
            self.current = name
        self.emit(force=True)

    def add(self, name: str, count: int) -> None:
        self.check_cancel()
        with self._lock:
            self.done[name] = self.done.get(name, 0) + count
        self.emit()

    def set(self, name: str, count: int) -> None:
        with self._lock:
            self.done[name] = count
        self.emit(force=True)

    def snapshot(self, finished: bool = False) -> FetchProgress:
        with self._lock:
            done = sum(self.done.values())
        return FetchProgress(self.spec_id, self.current, done, max(self.total, done),
                             time.perf_counter() - self.start, self.start_bytes, finished)

    def emit(self, force: bool = False, finished: bool = False) -> None:
        if self.callback is None:
            return
        now = time.perf_counter()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        self.callback(self.snapshot(finished))


# --------------------------------------------------------------------------------------------
# Verification


_STAMP_LOCK = threading.Lock()


def _stamp_file() -> Path:
    return url_cache_dir() / "verified.json"


def _read_stamps() -> dict[str, Any]:
    try:
        return json.loads(_stamp_file().read_text())
    except (OSError, ValueError):
        return {}


def _stamp(path: Path, digest: str) -> None:
    real = path.resolve()
    info = real.stat()
    with _STAMP_LOCK:
        stamps = _read_stamps()
        stamps[str(real)] = {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256": digest}
        target = _stamp_file()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(stamps, indent=1))
        os.replace(tmp, target)


def _stamped_digest(path: Path) -> str | None:
    real = path.resolve()
    try:
        info = real.stat()
    except OSError:
        return None
    entry = _read_stamps().get(str(real))
    if entry and entry["size"] == info.st_size and entry["mtime_ns"] == info.st_mtime_ns:
        return entry["sha256"]
    return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while True:
            count = handle.readinto(buffer)
            if not count:
                break
            digest.update(view[:count])
    return digest.hexdigest()


def expected_sha256(spec: PipelineSpec, name: str, path: Path) -> str | None:
    """The digest a file must have: the spec's entry, else (for a Hub cache file) the LFS
    object id that names its blob."""
    if name in spec.sha256:
        return spec.sha256[name]
    blob = path.resolve().name
    return blob if HEX64.match(blob) else None


def verify_file(spec: PipelineSpec, name: str, path: Path, expected: str,
                *, remove_on_mismatch: bool = True) -> None:
    """Check ``path`` against ``expected``; on a mismatch remove it and raise ChecksumMismatch."""
    if _stamped_digest(path) == expected:
        return
    actual = sha256_file(path)
    if actual != expected:
        if remove_on_mismatch:
            _remove_file_and_blob(path)
        raise ChecksumMismatch(spec.id, name, expected, actual)
    _stamp(path, actual)


def _remove_file_and_blob(path: Path) -> None:
    real = path.resolve()
    for target in {real, path}:
        with contextlib.suppress(OSError):
            target.unlink()


def spec_patterns(spec: PipelineSpec, folder: Path | None = None) -> tuple[str, ...]:
    """The patterns a spec's files match in ``folder`` (weights with their shards and index;
    a diffusers layout's components read from the folder's model_index.json)."""
    return layouts.allow_patterns(layouts.spec_files(spec, folder))


def files_to_verify(spec: PipelineSpec, folder: Path) -> list[tuple[str, Path]]:
    """The spec's files in ``folder`` whose digest is checked before a load: every file with a
    pinned sha256 and every pickled checkpoint."""
    patterns = spec_patterns(spec, folder)
    names = sorted(n for n in layouts.folder_names(folder) if layouts.matches(n, patterns))
    return [(n, folder / n) for n in names if n in spec.sha256 or is_pickle(n)]


def verify_weights(spec: PipelineSpec, folder: Path | None) -> None:
    """Before a load: every pinned or pickled file of a cached spec matches its sha256.

    A hand-made local folder (a repo id that is a folder: tests, converted checkpoints) is the
    user's own and is not checked."""
    if folder is None or not spec.needs_weights or local_folder(spec) is not None:
        return
    for name, path in files_to_verify(spec, folder):
        expected = expected_sha256(spec, name, path)
        if expected is None:
            if is_pickle(name):
                log.warning("%s of %s has no sha256 to check against", name, spec.id)
            continue
        verify_file(spec, name, path, expected)


# --------------------------------------------------------------------------------------------
# Weights on disk


def auto_fetch_enabled() -> bool:
    """Whether a load may download missing weights by itself.

    Off by default (a local studio downloads only when asked: Models tab or ``cli.py fetch``);
    on by default inside a Hugging Face Space, where there is no other way to get weights.
    ``STUDIO_AUTO_FETCH`` overrides both; ``HF_HUB_OFFLINE=1`` always wins.
    """
    if hub_offline():
        return False
    flag = os.environ.get("STUDIO_AUTO_FETCH")
    if flag is not None:
        return flag.strip().lower() in {"1", "true", "yes", "on"}
    return bool(os.environ.get("SPACE_ID"))


def local_folder(spec: PipelineSpec) -> Path | None:
    """A repo id that is an existing folder is used in place (tests, hand-made checkpoints)."""
    path = Path(spec.repo_id).expanduser() if spec.repo_id else None
    return path if path is not None and path.is_dir() else None


def _snapshot(spec: PipelineSpec) -> Path | None:
    """The Hub cache's snapshot of the spec's repo at its revision, if one is on disk."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(spec.repo_id, revision=spec.revision,
                                      local_files_only=True, repo_type=spec.repo_type))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None


def missing_files(spec: PipelineSpec, folder: Path) -> list[str]:
    """The files of the spec that ``folder`` lacks (a sharded weights file counts only with its
    index and every shard the index lists)."""
    return layouts.missing(folder, layouts.spec_files(spec, folder))


def cached_weights(spec: PipelineSpec) -> Path | None:
    """The local folder with every file the spec needs, or None; never touches the network.

    A URL or package spec's folder lives beside the Hub cache (:func:`url_folder`); a Hub
    spec's is its snapshot at the pinned revision.
    """
    if not spec.needs_weights:
        return None
    folder = local_folder(spec)
    if folder is None and spec.source in ("url", "package"):
        folder = url_folder(spec)
        return folder if all((folder / name).is_file() for name in spec.files) else None
    if folder is None:
        folder = _snapshot(spec)
    if folder is None or missing_files(spec, folder):
        return None
    if not all(_cached(repo, name, rev, spec.repo_type) for repo, name, rev in companions(spec)):
        return None
    return folder


def folder_bytes(folder: Path, patterns: tuple[str, ...] = ()) -> int:
    """Size of the files in ``folder`` (following the Hub cache's symlinks to blobs)."""
    return sum((folder / n).stat().st_size for n in layouts.folder_names(folder)
               if not patterns or layouts.matches(n, patterns))


# --------------------------------------------------------------------------------------------
# Fetching


def fetch(spec: PipelineSpec, *, progress: ProgressCallback | None = None,
          cancel: threading.Event | None = None, timeout: float = 10.0) -> Path:
    """Download the spec's missing files (resuming partial ones), verify them, and return the
    folder holding them all."""
    the_plan = plan(spec, timeout=timeout)
    need = the_plan.download_bytes
    if need > the_plan.free_bytes:
        raise StudioError(
            f"'{spec.id}' needs {human_bytes(need)} of disk and only "
            f"{human_bytes(the_plan.free_bytes)} is free. Free some space (the Models tab's "
            "Delete, or `python cli.py models --prune ID`) and fetch again."
        )
    meter = _Meter(spec.id, the_plan.total_bytes, progress, cancel)
    for remote in the_plan.files:
        if remote.on_disk:
            meter.set(remote.name, remote.size or 0)
    if the_plan.source == "url":
        folder = _fetch_urls(spec, the_plan, meter)
    else:
        folder = _fetch_hub(spec, the_plan, meter)
    meter.emit(force=True, finished=True)
    return folder


def _fetch_hub(spec: PipelineSpec, the_plan: FetchPlan, meter: _Meter) -> Path:
    """Stream each missing file into the Hub cache's layout (``blobs/<etag>``, linked from
    ``snapshots/<commit>/<path>``, ``refs/<revision>``), as huggingface_hub itself reads it."""
    folder: Path | None = None
    for remote in the_plan.files:
        meter.check_cancel()
        meter.current = remote.name
        repo = _repo_dir(remote.repo_id or spec.repo_id, spec.repo_type)
        snapshot = repo / "snapshots" / remote.commit
        folder = folder if remote.repo_id else snapshot  # the spec's own files' folder
        blob = repo / "blobs" / remote.etag
        if not blob.is_file():
            blob.parent.mkdir(parents=True, exist_ok=True)
            hashed = remote.sha256 if remote.sha256 else None
            headers = _auth_headers() if _same_host(remote.url, hub_endpoint()) else {}
            _stream_to_blob(spec, remote, blob, meter, hashed, headers)
        elif remote.sha256 and (remote.name in spec.sha256 or is_pickle(remote.name)):
            verify_file(spec, remote.name, blob, remote.sha256)
        _link(snapshot / remote.name, blob)
        meter.set(remote.name, blob.stat().st_size)
        revision = (remote.revision if remote.repo_id else spec.revision) or "main"
        if revision != remote.commit:
            (repo / "refs").mkdir(parents=True, exist_ok=True)
            (repo / "refs" / revision).write_text(remote.commit)
    if folder is None:
        raise WeightsUnavailable(spec.id, spec.repo_id, "the repo has no file matching "
                                 f"{list(spec.files)}")
    return folder


def _same_host(url: str, other: str) -> bool:
    return urlsplit(url).netloc == urlsplit(other).netloc


def _fetch_urls(spec: PipelineSpec, the_plan: FetchPlan, meter: _Meter) -> Path:
    blobs = url_cache_dir() / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    folder = url_folder(spec)
    folder.mkdir(parents=True, exist_ok=True)
    for remote in the_plan.files:
        meter.check_cancel()
        meter.current = remote.name
        blob = blobs / remote.sha256
        if not blob.is_file():
            _stream_to_blob(spec, remote, blob, meter, remote.sha256, {})
        _link(folder / remote.name, blob)
        meter.set(remote.name, blob.stat().st_size)
    return folder


def _link(link: Path, blob: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        if link.resolve() == blob.resolve():
            return
        link.unlink()
    try:
        link.symlink_to(os.path.relpath(blob, link.parent))
    except OSError:  # no symlinks (some Windows setups): a hard link, else a copy
        try:
            os.link(blob, link)
        except OSError:
            shutil.copy2(blob, link)


class _Hasher:
    """Feeds a digest from a second thread (hashlib releases the GIL on large buffers), so
    hashing overlaps receiving and writing instead of adding to them."""

    def __init__(self, digest: Any | None):
        import queue

        self.digest = digest
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=256)
        self.thread = threading.Thread(target=self._run, daemon=True) if digest else None
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            while (chunk := self.queue.get()) is not None:
                self.digest.update(chunk)
        except BaseException as err:  # surfaced by __exit__
            self.error = err

    def feed(self, chunk: bytes) -> None:
        if self.thread is not None:
            self.queue.put(chunk)

    def __enter__(self) -> _Hasher:
        if self.thread is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            if self.error is not None:
                raise self.error


def _stream_to_blob(spec: PipelineSpec, remote: RemoteFile, blob: Path, meter: _Meter,
                    expected: str | None, headers: dict[str, str]) -> None:
    """Stream ``remote`` into ``blob`` through ``blob.incomplete``: a partial file from an
    earlier try is resumed with a Range request; the digest is computed as bytes arrive, and
    the blob appears only when it matches ``expected``."""
    import httpx

    partial = blob.with_name(blob.name + ".incomplete")
    digest = hashlib.sha256() if expected else None
    have = partial.stat().st_size if partial.is_file() else 0
    if have and digest is not None:
        with open(partial, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
    meter.begin(remote.name, have)
    headers = dict(headers, **({"Range": f"bytes={have}-"} if have else {}))
    try:
        with httpx.stream("GET", remote.url, headers=headers, follow_redirects=True,
                          timeout=httpx.Timeout(30.0, connect=10.0)) as response:
            if not (response.status_code == 416 and have):  # 416: it was already complete
                _raise_for_url_status(spec, response.status_code, remote.url)
                if have and response.status_code != 206:  # the server ignored the Range
                    have = 0
                    digest = hashlib.sha256() if expected else None
                    meter.set(remote.name, 0)
                with open(partial, "ab" if have else "wb") as out, _Hasher(digest) as hasher:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        hasher.feed(chunk)
                        meter.add(remote.name, len(chunk))
    except httpx.HTTPError as err:
        raise WeightsUnavailable(spec.id, spec.repo_id, scrub(
            f"{type(err).__name__} while downloading {remote.name}: {err}; fetching again "
            "resumes")) from None
    if remote.size is not None and partial.stat().st_size != remote.size:
        raise WeightsUnavailable(spec.id, spec.repo_id, f"{remote.name} arrived incomplete "
                                 f"({partial.stat().st_size} of {remote.size} bytes); fetching "
                                 "again resumes")
    if digest is not None:
        actual = digest.hexdigest()
        if actual != expected:
            partial.unlink(missing_ok=True)
            raise ChecksumMismatch(spec.id, remote.name, expected, actual)
    os.replace(partial, blob)
    if digest is not None:
        _stamp(blob, actual)


# --------------------------------------------------------------------------------------------
# Pins that one public source alone gives

ONE_SOURCE_TAG = "pin:one-source"
PIN_CHECK_TIMEOUT_S = 3.0


def one_source_note(spec: PipelineSpec, timeout: float = PIN_CHECK_TIMEOUT_S) -> str | None:
    """For a spec whose revision only one public source gives (tag ``pin:one-source``): ask the
    Hub for the repo's current commit and return a note when it differs from the pin; None when
    they agree, for other specs, offline, or when the Hub does not answer in ``timeout`` seconds.
    Never raises: the pin stays what the spec says either way."""
    if (ONE_SOURCE_TAG not in spec.tags or not spec.revision or spec.urls
            or not spec.needs_weights or local_folder(spec) is not None or not reachable(spec)):
        return None
    try:
        from huggingface_hub import HfApi

        info = HfApi(endpoint=hub_endpoint()).repo_info(
            spec.repo_id, repo_type=spec.repo_type, timeout=timeout)
    except Exception as err:  # offline, gated, timed out: nothing to compare with
        log.info("could not read the current commit of %s: %s", spec.repo_id, scrub(str(err)))
        return None
    current = (getattr(info, "sha", None) or "").lower()
    if not current or current == spec.revision:
        return None
    return (f"note: '{spec.id}' is pinned to {spec.repo_id} at {spec.revision}, a commit only one "
            f"public source gives; the repo's current commit is {current}. The pinned files are "
            "fetched and checked as usual; compare the repo's history before moving the pin.")


# --------------------------------------------------------------------------------------------
# Reachability


def reachable(spec: PipelineSpec | None = None, timeout: float = REACH_TIMEOUT_S) -> bool:
    """Whether the hosts a spec downloads from accept a connection within ``timeout`` seconds
    in all (never true with ``HF_HUB_OFFLINE=1``)."""
    if hub_offline():
        return False
    urls = list(spec.urls.values()) if spec is not None and spec.urls else [hub_endpoint()]
    hosts = {(urlsplit(u).hostname, urlsplit(u).port or (443 if urlsplit(u).scheme == "https"
                                                          else 80)) for u in urls}
    deadline = time.monotonic() + timeout
    for host, port in hosts:
        left = deadline - time.monotonic()
        if left <= 0 or host is None:
            return False
        try:
            with socket.create_connection((host, port), timeout=left):
                pass
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------------------------
# Disk use and pruning


def spec_files_on_disk(spec: PipelineSpec) -> list[Path]:
    """Paths (links into blobs) of the spec's files present in the cache, any revision."""
    if not spec.needs_weights or local_folder(spec) is not None:
        return []
    if spec.source in ("url", "package"):
        folder = url_folder(spec)
        return [folder / n for n in spec.files if (folder / n).is_file()]
    snapshots = hub_repo_dir(spec) / "snapshots"
    if not snapshots.is_dir():
        return []
    chosen = [s for s in snapshots.iterdir() if s.is_dir()]
    pinned = _snapshot_for(spec)
    if pinned is not None:
        chosen = [s for s in chosen if s.name == pinned]
    found = []
    for snap in chosen:
        patterns = spec_patterns(spec, snap)
        found += [snap / n for n in sorted(layouts.folder_names(snap))
                  if layouts.matches(n, patterns)]
    return found


def _snapshot_for(spec: PipelineSpec) -> str | None:
    revision = spec.revision or "main"
    if HEX40.match(revision):
        return revision
    ref = hub_repo_dir(spec) / "refs" / revision
    return ref.read_text().strip() if ref.is_file() else None


def spec_disk_bytes(spec: PipelineSpec) -> int:
    return sum(p.resolve().stat().st_size for p in spec_files_on_disk(spec))


def disk_usage(registry: Iterable[PipelineSpec]) -> tuple[dict[str, int], int]:
    """Bytes per spec, and the total with blobs shared by several specs counted once."""
    per_spec: dict[str, int] = {}
    blobs: dict[Path, int] = {}
    for spec in registry:
        total = 0
        for path in spec_files_on_disk(spec):
            real = path.resolve()
            size = real.stat().st_size
            total += size
            blobs[real] = size
        per_spec[spec.id] = total
    return per_spec, sum(blobs.values())


@dataclass
class PruneResult:
    spec_id: str
    removed: list[str] = field(default_factory=list)  # the spec's file names unlinked
    kept_shared: list[str] = field(default_factory=list)  # files another spec still uses
    freed_bytes: int = 0

    def describe(self) -> str:
        kept = (f"; kept {len(self.kept_shared)} file(s) another backend uses"
                if self.kept_shared else "")
        return (f"Deleted {len(self.removed)} file(s) of '{self.spec_id}', freeing "
                f"{human_bytes(self.freed_bytes)}{kept}.")


def prune(registry: SpecCatalog, spec_id: str) -> PruneResult:
    """Delete one spec's files from the cache; blobs another spec still links to stay."""
    spec = registry.get(spec_id)
    result = PruneResult(spec_id)
    if not spec.needs_weights:
        raise StudioError(f"'{spec_id}' has no weights: nothing to delete.")
    if local_folder(spec) is not None:
        raise StudioError(f"'{spec_id}' reads its files from the folder {spec.repo_id}, which "
                          "the studio does not manage; delete that folder yourself.")
    if registry.cache.entries_for(spec_id):
        registry.unload(spec_id)
    # Files of the other specs that are complete on disk stay (a partial spec protects nothing).
    others = [p for other in registry if other.id != spec_id and other.needs_weights
              and cached_weights(other) is not None for p in spec_files_on_disk(other)]
    keep_links = {p.absolute() for p in others}
    keep_blobs = {p.resolve() for p in others}
    for path in spec_files_on_disk(spec):
        name = (path.relative_to(url_folder(spec)).as_posix() if spec.source in ("url", "package")
                else path.relative_to(_snapshot_root(path)).as_posix())
        if path.resolve() in keep_blobs:
            result.kept_shared.append(name)
        if path.absolute() not in keep_links:
            path.unlink()
            result.removed.append(name)
    if spec.source in ("url", "package"):
        derived = _remove_derived(spec)
        _remove_empty(url_folder(spec), url_cache_dir() / "specs")
        result.freed_bytes = derived + _collect_blobs(url_cache_dir() / "blobs",
                                                      url_cache_dir() / "specs", spec)
    else:
        repo = hub_repo_dir(spec)
        for snap in (repo / "snapshots").iterdir() if (repo / "snapshots").is_dir() else ():
            _remove_empty(snap, repo / "snapshots")
        result.freed_bytes = _collect_blobs(repo / "blobs", repo / "snapshots", spec)
        if (repo / "snapshots").is_dir() and not any((repo / "snapshots").iterdir()):
            shutil.rmtree(repo, ignore_errors=True)
    return result


def _remove_derived(spec: PipelineSpec) -> int:
    """Delete what a builder derived from a URL or package spec's files and cached beside them
    in the spec's own folder (a converted checkpoint); returns the bytes freed. The folder is
    the spec's alone, so nothing else lives there."""
    folder, freed = url_folder(spec), 0
    own = {folder / name for name in spec.files}
    for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
        if path not in own and path.is_file() and not path.is_symlink():
            freed += path.stat().st_size
            path.unlink()
    return freed


def _snapshot_root(path: Path) -> Path:
    for parent in path.parents:
        if parent.parent.name == "snapshots":
            return parent
    return path.parent


def _remove_empty(folder: Path, stop: Path) -> None:
    """Remove empty folders under and including ``folder``, never ``stop`` itself."""
    if not folder.is_dir():
        return
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(sub.iterdir()):
            sub.rmdir()
    if folder != stop and not any(folder.iterdir()):
        folder.rmdir()


def _collect_blobs(blobs: Path, links_root: Path, spec: PipelineSpec) -> int:
    """Delete blobs no link under ``links_root`` points to; returns the bytes freed."""
    if not blobs.is_dir():
        return 0
    used = set()
    if links_root.is_dir():
        for link in links_root.rglob("*"):
            if link.is_symlink() or link.is_file():
                used.add(link.resolve())
    own = {spec.sha256[n] for n in spec.files if n in spec.sha256}
    freed = 0
    for blob in blobs.iterdir():
        if not blob.is_file():
            continue
        stem = blob.name.removesuffix(".incomplete")
        partial_of_spec = blob.name.endswith(".incomplete") and stem in own
        if blob.resolve() in used or (blob.name.endswith(".incomplete")
                                      and not partial_of_spec):
            continue
        freed += blob.stat().st_size
        blob.unlink()
    return freed
