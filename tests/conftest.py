"""Test isolation: never touch the network, the user's Hugging Face cache or ./outputs.

The environment is set at import, before any test module imports huggingface_hub (which reads
these variables once).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

_SANDBOX = Path(tempfile.mkdtemp(prefix="studio-tests-"))
os.environ["HF_HOME"] = str(_SANDBOX / "hf")
os.environ["HF_HUB_CACHE"] = str(_SANDBOX / "hf" / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["STUDIO_OUTPUTS"] = str(_SANDBOX / "outputs")
os.environ["STUDIO_DEVICE"] = "cpu"
os.environ.pop("STUDIO_AUTO_FETCH", None)
os.environ.pop("SPACE_ID", None)

ROOT = Path(__file__).resolve().parent.parent


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SANDBOX, ignore_errors=True)


def _closed(stream) -> bool:
    return bool(getattr(stream, "closed", False))


def rebind_closed_log_streams() -> None:
    """A log handler keeps the ``sys.stderr`` of the moment it was made (diffusers' and
    transformers' own, or a root handler from ``logging.basicConfig``); under pytest that can be
    an earlier test's capture stream, closed by now, and a warning then prints "--- Logging
    error ---" with a traceback. Point every such handler at the current stderr. diffusers and
    transformers also pin ``handler.flush`` to that stream's own ``flush`` (an instance
    attribute), so that is dropped too and the handler flushes the stream it writes to."""
    import logging

    loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict
                                      .values() if isinstance(logger, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler) is not logging.StreamHandler:
                continue
            pinned_flush = handler.__dict__.get("flush")
            if _closed(handler.stream) or _closed(getattr(pinned_flush, "__self__", None)):
                handler.stream = sys.stderr  # (setStream would flush the closed one)
                handler.__dict__.pop("flush", None)


@pytest.fixture(autouse=True)
def library_log_streams() -> None:
    rebind_closed_log_streams()


@pytest.fixture(scope="session")
def studio_widgets() -> dict:
    """elem_id -> component of the whole studio, built as ``python app.py`` builds it (the
    contract tests compare each setting's widget with its schema)."""
    import app
    from pipelines.catalog import build_registry
    from tests.contract_fixtures import widgets_by_id

    return widgets_by_id(app.build_app(build_registry()))


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny models are all per-op overhead: one torch thread avoids OpenMP spinning on a busy
    CPU (modules use it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def hub_cache() -> Path:
    """The (sandboxed) Hugging Face hub cache folder."""
    path = Path(os.environ["HF_HUB_CACHE"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def pick_free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    return pick_free_port()


@contextmanager
def served_studio(registry, downloads: Path, tasks=None) -> Iterator:
    """The whole studio around ``registry`` (and ``tasks``, default the studio's list), served
    in-process on a free loopback port, as ``python app.py`` serves it; yields a
    ``gradio_client.Client`` and closes the server after."""
    from gradio_client import Client

    import app
    from pipelines.manifest import outputs_dir

    demo = app.build_app(registry, tasks)
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=pick_free_port(),
        allowed_paths=[str(outputs_dir())],
        quiet=True,
    )
    try:
        yield Client(
            demo.local_url, verbose=False, analytics_enabled=False, download_files=str(downloads)
        )
    finally:
        demo.close()


def studio_env(**extra: str) -> dict[str, str]:
    """Environment for a studio subprocess: the sandbox above plus ``extra``."""
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONPATH"] = str(ROOT)
    return env

@dataclass
class StudioProcess:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log.read_text(errors="replace")


@contextmanager
def studio_process(folder: Path, *args: str, timeout: float = 90,
                   **env: str) -> Iterator[StudioProcess]:
    """``python app.py --host 127.0.0.1 --port <free> *args`` with the test environment plus
    ``env``, its output in ``folder/app.log``; stopped afterwards."""
    port = pick_free_port()
    log = folder / "app.log"
    with open(log, "w") as handle:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(
            [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=ROOT, env=studio_env(**env), stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    served = StudioProcess(f"http://127.0.0.1:{port}/", process, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"app.py exited early:\n{served.output()}")
            try:
                with urllib.request.urlopen(served.url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{served.url} did not answer in {timeout} s") from None
                time.sleep(0.3)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
