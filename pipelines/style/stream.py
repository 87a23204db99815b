"""Threads that let a video's stages overlap: a producer that runs ahead of the caller
(decoding), a pool that works on several frames at once and hands the results back in order
(stylising, optical flow), and a consumer that runs behind (encoding).

OpenCV, NumPy's loops over large arrays and PyAV's codecs release the GIL, so these stages run
side by side on a machine with several cores. Every helper passes an exception raised on one of
its threads to the caller's thread (raised where the caller next touches it, the original
exception object) and stops its threads when the caller stops early, so nothing hangs and no
error is lost. With one worker everything runs on the caller's thread, in the same order: the
sequential path the pipelined one is tested against.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_POLL = 0.05  # seconds between checks of a stop flag while a queue is full or empty
_ITEM, _END, _ERROR = "item", "end", "error"


class Clock:
    """Seconds spent per stage, added up over every thread that works on it."""

    def __init__(self, *stages: str):
        self.seconds = dict.fromkeys(stages, 0.0)
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            with self._lock:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed


class Prefetch(Iterator[T]):
    """Iterate ``iterable`` on a background thread, up to ``depth`` items ahead of the caller.

    The iterable is created, advanced and closed on that thread only. An exception it raises is
    raised by the caller's ``next()`` once the items before it are taken. :meth:`close` (also
    on leaving a ``with`` block) stops the thread early.
    """

    def __init__(self, iterable: Iterable[T], depth: int = 4, name: str = "prefetch"):
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(max(1, depth))
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(iterable,), name=name,
                                        daemon=True)
        self._thread.start()

    def _run(self, iterable: Iterable[T]) -> None:
        iterator = None
        try:
            iterator = iter(iterable)
            for item in iterator:
                if not self._put((_ITEM, item)):
                    return
            self._put((_END, None))
        except BaseException as err:  # handed to the caller's thread
            self._put((_ERROR, err))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def _put(self, entry: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == _ITEM:
            return value
        self._done = True
        self._thread.join()
        if kind == _ERROR:
            raise value
        raise StopIteration

    def close(self) -> None:
        self._done = True
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Behind:
    """Feed items to ``consume`` on a background thread, at most ``depth`` queued.

    :meth:`put` raises the consumer's exception once it has failed; :meth:`close` waits for
    the queue to drain and raises it too; :meth:`abort` drops what is queued and stops.
    """

    def __init__(self, consume: Callable[[Any], None], depth: int = 4, name: str = "behind"):
        self._consume = consume
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(max(1, depth))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                kind, item = self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue
            if kind == _END:
                return
            try:
                self._consume(item)
            except BaseException as err:  # handed to the caller's thread
                self._error = err
                return

    def put(self, item: Any) -> None:
        while True:
            if self._error is not None:
                raise self._error
            if not self._thread.is_alive():
                raise RuntimeError("the background consumer has stopped")
            try:
                self._queue.put((_ITEM, item), timeout=_POLL)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Wait until every item is consumed; raises the consumer's exception, if any."""
        while self._thread.is_alive():
            try:
                self._queue.put((_END, None), timeout=_POLL)
                break
            except queue.Full:
                continue
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        self._stop.set()
        self._thread.join()


class Workers:
    """``count`` threads for per-frame work (one: the caller's thread, nothing concurrent)."""

    def __init__(self, count: int, name: str = "frames"):
        self.count = max(1, int(count))
        self._pool = (ThreadPoolExecutor(self.count, thread_name_prefix=name)
                      if self.count > 1 else None)

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """Run ``fn(*args)`` on a worker (at once on this thread with one worker)."""
        if self._pool is not None:
            return self._pool.submit(fn, *args)
        future: Future[R] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as err:
            future.set_exception(err)
        return future

    def ordered(self, fn: Callable[[T], R], items: Iterable[T],
                ahead: int | None = None) -> Iterator[R]:
        """``fn(item)`` for each item, computed up to ``ahead`` items ahead on the workers and
        yielded in the items' order. A worker's exception is raised here, at its item."""
        if self._pool is None:
            for item in items:
                yield fn(item)
            return
        ahead = ahead or 2 * self.count
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(self._pool.submit(fn, item))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Cancel what has not started and wait for what has."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
