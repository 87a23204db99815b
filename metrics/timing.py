"""Wall time per stage and peak memory of a job.

Pure measurement helpers: no gradio, no registry. ``PeakMemory`` samples the process's resident
set size on a background thread (the kernel's own high-water mark, ``ru_maxrss``, never goes
down, so it cannot tell one job from the last) and reads CUDA's peak allocation when torch is
already in use.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psutil


class StageTimer:
    """Accumulates wall-clock seconds per named stage: ``with timer.stage("decode"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def throughput(items: int, seconds: float) -> float:
    """Items per second; 0 when no time has passed."""
    return items / seconds if seconds > 0 else 0.0


def cuda_in_use():
    """``torch.cuda`` when torch is already imported and CUDA initialised, else None (never
    imports torch)."""
    torch = sys.modules.get("torch")
    return torch.cuda if torch is not None and torch.cuda.is_initialized() else None


CLEAR_REFS = "/proc/self/clear_refs"


@functools.cache
def _clear_refs(pid: int) -> int | None:
    """A descriptor open on process ``pid``'s /proc/self/clear_refs (keyed by pid, so a forked
    child opens its own), or None."""
    try:
        return os.open(CLEAR_REFS, os.O_WRONLY)
    except OSError:
        return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process to its current RSS (Linux: write 5 to
    /proc/self/clear_refs); False where that is not possible.

    Exact and nearly free (about a microsecond), but process-wide: for one call timed at a time
    (the benchmark harness). Jobs that may overlap use :class:`PeakMemory`.
    """
    fd = _clear_refs(os.getpid())
    if fd is None:
        return False
    try:
        os.pwrite(fd, b"5", 0)
    except OSError:
        return False
    return True


def peak_rss_since_reset() -> int:
    """Peak RSS in bytes since :func:`reset_peak_rss` (Linux reports ``ru_maxrss`` in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakMemory:
    """Peak RSS of this process (and peak CUDA allocation) between ``start`` and ``stop``."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.peak_rss_bytes = 0
        self.start_rss_bytes = 0
        self.cuda_peak_bytes: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._process = psutil.Process()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_rss_bytes = max(self.peak_rss_bytes, self._process.memory_info().rss)

    def start(self) -> PeakMemory:
        self.start_rss_bytes = self.peak_rss_bytes = self._process.memory_info().rss
        cuda = cuda_in_use()
        if cuda is not None:
            cuda.reset_peak_memory_stats()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> PeakMemory:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_rss_bytes = max(self.peak_rss_bytes, self._process.memory_info().rss)
        cuda = cuda_in_use()
        if cuda is not None:
            self.cuda_peak_bytes = int(cuda.max_memory_allocated())
        return self

    def __enter__(self) -> PeakMemory:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def as_dict(self) -> dict[str, int | None]:
        return {
            "peak_rss_bytes": self.peak_rss_bytes,
            "start_rss_bytes": self.start_rss_bytes,
            "cuda_peak_bytes": self.cuda_peak_bytes,
        }
