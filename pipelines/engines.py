"""Where a job runs: in this process, in a local process pool, or as Ray tasks.

A job is a pure function of its inputs (``fn(item) -> result``, module-level so it can be
pickled by reference), so the engine only moves inputs and results and never changes them:

- ``inline``: one item at a time in this process (debugging, tests, a single job).
- ``local`` (alias ``process``): a process pool over the cores (``workers``, default all); a
  worker that crashes (a decoder segfault) costs its item an error, not the run.
- ``ray``: one Ray task per item with ``num_cpus``/``num_gpus`` resources. Ray is imported only
  here and only when asked for. Without an address (argument or ``RAY_ADDRESS``) a local Ray is
  started for the run (and shut down after it); with one, the cluster is joined. Workers import
  ``fn``'s module, so the studio must be installed (or the repository on ``PYTHONPATH``) on every
  node; a local Ray gets the repository on its path automatically.

:func:`run_jobs` yields ``(item, result)`` or ``(item, exception)`` as jobs finish (completion
order); exceptions are rebuilt in the caller: a :class:`~pipelines.errors.StudioError` stays one
(same message), anything else becomes :class:`JobFailed` carrying the worker's traceback.
:func:`run_remote` runs one call, and :func:`run_with_files` one call whose input and output
files travel as bytes (:func:`pack_files`/:func:`unpack_files`), so the caller and the worker
need not share a disk.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sys
import tarfile
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.errors import InputError, StudioError

ENGINES = ("inline", "local", "process", "ray")
ROOT = Path(__file__).resolve().parent.parent
CountProgress = Callable[[int, int, Any], None]  # (done, total, item just finished): jobs


class JobFailed(RuntimeError):
    """A job raised something other than a StudioError; ``details`` is the worker's traceback."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


# --------------------------------------------------------------------------------------------
# What a worker runs: the job, with its outcome made picklable


def _call(fn: Callable[..., Any], item: Any, args: tuple = (), kwargs: dict | None = None
          ) -> tuple[str, Any]:  # fmt: skip
    try:
        return "ok", fn(item, *args, **(kwargs or {}))
    except Exception as err:  # handed back to the caller, rebuilt there
        kind = "input" if isinstance(err, InputError) else \
            "studio" if isinstance(err, StudioError) else "other"  # fmt: skip
        return "error", (kind, str(err) or type(err).__name__, type(err).__name__,
                         traceback.format_exc())  # fmt: skip


def _outcome(packed: tuple[str, Any]) -> Any:
    """The result, or the exception to hand over, from :func:`_call`'s return value."""
    status, value = packed
    if status == "ok":
        return value
    kind, message, name, details = value
    if kind == "input":
        return InputError(message)
    if kind == "studio":
        return StudioError(message)
    return JobFailed(f"{name}: {message}", details)


def _check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise InputError(f"Unknown engine {engine!r}; use one of {', '.join(ENGINES)}.")
    return "local" if engine == "process" else engine


def _check_workers(workers: int | None) -> int:
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count < 1:
        raise InputError(f"--workers {workers} is not possible; use 1 or more.")
    return count


# --------------------------------------------------------------------------------------------
# Many jobs


def run_jobs(fn: Callable[[Any], Any], items: Iterable[Any], *, engine: str = "local",
             workers: int | None = None, address: str | None = None, num_gpus: float = 0.0,
             num_cpus: float = 1.0, progress: CountProgress | None = None
             ) -> Iterator[tuple[Any, Any]]:  # fmt: skip
    """Run ``fn(item)`` for every item on ``engine``; yield ``(item, result | exception)``."""
    engine = _check_engine(engine)
    items = list(items)
    report = progress or (lambda done, total, item: None)
    if not items:
        return
    if engine == "inline":
        for done, item in enumerate(items, 1):
            outcome = _outcome(_call(fn, item))
            report(done, len(items), item)
            yield item, outcome
    elif engine == "local":
        yield from _pool_jobs(fn, items, _check_workers(workers), report)
    else:
        yield from _ray_jobs(fn, items, workers, address, num_gpus, num_cpus, report)


def _pool_context() -> multiprocessing.context.BaseContext:
    # forkserver: workers start from a clean process (safe beside threads, e.g. a Gradio server)
    # yet cheaply; spawn where forkserver does not exist.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _pool_jobs(fn: Callable, items: list, workers: int, report: CountProgress
               ) -> Iterator[tuple[Any, Any]]:  # fmt: skip
    queue = list(range(len(items)))[::-1]  # indices still to submit (pop from the end)
    done = 0
    while queue:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(queue)),
                                   mp_context=_pool_context())  # fmt: skip
        running: dict[Future, int] = {}
        broken: list[int] = []
        try:
            while queue or running:
                while queue and len(running) < 2 * workers:  # a little ahead, not all at once
                    index = queue.pop()
                    running[pool.submit(_call, fn, items[index])] = index
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = running.pop(future)
                    try:
                        outcome = _outcome(future.result())
                    except BrokenProcessPool:
                        broken.append(index)
                        continue
                    done += 1
                    report(done, len(items), items[index])
                    yield items[index], outcome
                if broken:
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        # A worker died, and every job sharing the pool failed with it: run each of those
        # alone in a fresh process, so only the one that crashes again is lost; then go on.
        for index in sorted(broken + list(running.values())):
            done += 1
            report(done, len(items), items[index])
            yield items[index], _alone(fn, items[index])


def _alone(fn: Callable, item: Any) -> Any:
    with ProcessPoolExecutor(max_workers=1, mp_context=_pool_context()) as pool:
        try:
            return _outcome(pool.submit(_call, fn, item).result())
        except BrokenProcessPool:
            return JobFailed("The worker process died while running this job (a crash in "
                             "native code, or out of memory).")  # fmt: skip


# --------------------------------------------------------------------------------------------
# Ray


def ray_available() -> bool:
    """Whether Ray is installed (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def _ray(address: str | None, workers: int | None) -> tuple[Any, bool]:
    """The ``ray`` module, initialised; True when this call started a local Ray."""
    if not ray_available():
        raise StudioError("The Ray engine needs the `ray` package: pip install 'ray>=2.50,<3'.")
    import ray

    if ray.is_initialized():
        return ray, False
    address = address or os.environ.get("RAY_ADDRESS") or None
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                               "configure_logging": False}  # fmt: skip
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    if address is None:
        options |= {"num_cpus": _check_workers(workers), "object_store_memory": 256 * 2**20,
                    "runtime_env": {"env_vars": {"PYTHONPATH": path}}}  # fmt: skip
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise StudioError(f"Could not start or join {where} ({err}). Check --address / "
                          f"RAY_ADDRESS, or use --engine local.") from err  # fmt: skip
    return ray, address is None


@contextmanager
def engine_session(engine: str, workers: int | None = None,
                   address: str | None = None) -> Iterator[None]:  # fmt: skip
    """Keep one Ray up across several :func:`run_jobs` calls (a no-op for other engines)."""
    if _check_engine(engine) != "ray":
        yield
        return
    ray, started = _ray(address, workers)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def shutdown_ray() -> None:
    """Disconnect from (or stop the local) Ray, if this process started it."""
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        sys.modules["ray"].shutdown()


def _ray_jobs(fn: Callable, items: list, workers: int | None, address: str | None,
              num_gpus: float, num_cpus: float, report: CountProgress
              ) -> Iterator[tuple[Any, Any]]:  # fmt: skip
    ray, started = _ray(address, workers)
    try:
        remote = ray.remote(_call).options(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=1)
        limit = workers if workers else len(items)  # tasks in flight at once
        queue = list(range(len(items)))[::-1]
        running: dict[Any, int] = {}
        done = 0
        while queue or running:
            while queue and len(running) < max(1, limit):
                index = queue.pop()
                running[remote.remote(fn, items[index])] = index
            finished, _ = ray.wait(list(running), num_returns=1)
            for ref in finished:
                index = running.pop(ref)
                try:
                    outcome = _outcome(ray.get(ref))
                except Exception as err:  # the task itself died (worker crash, node lost)
                    outcome = JobFailed(f"The Ray task failed: {type(err).__name__}: {err}")
                done += 1
                report(done, len(items), items[index])
                yield items[index], outcome
    finally:
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------------------------
# One job


def run_remote(fn: Callable[..., Any], *args: Any, engine: str = "inline",
               num_gpus: float = 0.0, num_cpus: float = 1.0, address: str | None = None,
               **kwargs: Any) -> Any:  # fmt: skip
    """``fn(*args, **kwargs)`` run once on ``engine`` and its result; its exception re-raised.

    ``ray`` joins (or starts, and keeps for later calls) a Ray and runs one task with the given
    resources; ``local`` runs in a fresh worker process; ``inline`` calls ``fn`` here.
    """
    engine = _check_engine(engine)
    if engine == "inline":
        return fn(*args, **kwargs)
    if not args:
        raise InputError("run_remote needs at least one positional argument for the job.")
    if engine == "local":
        with ProcessPoolExecutor(max_workers=1, mp_context=_pool_context()) as pool:
            packed = pool.submit(_call, fn, args[0], args[1:], kwargs).result()
    else:
        ray, _ = _ray(address, None)
        remote = ray.remote(_call).options(num_cpus=num_cpus, num_gpus=num_gpus)
        packed = ray.get(remote.remote(fn, args[0], args[1:], kwargs))
    outcome = _outcome(packed)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def pack_files(paths: Iterable[str | Path], root: str | Path | None = None) -> bytes:
    """Files (or folders, recursively) as one uncompressed tar in memory.

    Names are relative to ``root`` when given, else each path's own name.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in map(Path, paths):
            if not path.exists():
                raise InputError(f"The file {path} does not exist; nothing to send.")
            name = path.relative_to(root).as_posix() if root is not None else path.name
            archive.add(path, arcname=name, recursive=True)
    return buffer.getvalue()


def unpack_files(blob: bytes, folder: str | Path) -> list[Path]:
    """Extract :func:`pack_files`'s bytes into ``folder``; the regular files written, in order.

    Only plain files and folders with relative names inside ``folder`` are accepted.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r") as archive:
        for member in archive.getmembers():
            name = PurePosixPath(member.name)
            if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
                raise InputError(f"Refusing the packed entry {member.name!r}: only plain files "
                                 f"with relative names can be unpacked.")  # fmt: skip
            target = folder.joinpath(*name.parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            with open(target, "wb") as handle:
                handle.write(source.read())
            written.append(target)
    return written


def _with_files(blob: bytes, fn: Callable[..., Any], args: tuple, kwargs: dict
                ) -> tuple[bytes, Any]:  # fmt: skip
    """Worker side of :func:`run_with_files`: inputs unpacked, ``fn`` run, outputs packed."""
    with tempfile.TemporaryDirectory(prefix="studio-job-") as scratch:
        inputs = unpack_files(blob, Path(scratch) / "in")
        out = Path(scratch) / "out"
        out.mkdir()
        result = fn(inputs, out, *args, **kwargs)
        produced = sorted(p for p in out.rglob("*") if p.is_file())
        return pack_files(produced, out), result


def run_with_files(fn: Callable[..., Any], inputs: Sequence[str | Path], folder: str | Path,
                   *args: Any, engine: str = "inline", num_gpus: float = 0.0,
                   address: str | None = None, **kwargs: Any
                   ) -> tuple[list[Path], Any]:  # fmt: skip
    """Run ``fn(input_paths, out_folder, *args, **kwargs)`` on ``engine`` with its files moved as
    bytes: the inputs are packed here and unpacked in a scratch folder by the worker; whatever
    ``fn`` writes into ``out_folder`` comes back into ``folder``. Returns the files written
    into ``folder`` and ``fn``'s return value (paths in it refer to the worker's scratch)."""
    blob = pack_files(inputs)
    packed, result = run_remote(_with_files, blob, fn, args, kwargs, engine=engine,
                                num_gpus=num_gpus, address=address)  # fmt: skip
    return unpack_files(packed, folder), result
