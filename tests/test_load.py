"""Load: 16 concurrent gradio_client callers for 60 seconds against ``python app.py``.

The callers mix three classical endpoints (super-resolution of images, keyframes of videos, style
transfer of images). Every input is distinguishable: its size names the caller and the request,
its colour (where the output keeps colours) names them too, so an output that belongs to another
request is caught. The queue holds fewer requests than there are callers
(``STUDIO_QUEUE_SIZE=8``), so refusals happen and are checked as well: a refused request gets
Gradio's queue-full message and its caller retries after a pause.

The server's resident memory is sampled twice a second; the last 10 seconds of the minute may not
exceed its first 10 by more than 20 percent. The first 10 seconds of load are a warm-up outside
the measured minute: the server's worker threads, their malloc arenas and lazily imported
libraries settle then (measured without it, memory grew 14-16 percent, nearly all of it in those
seconds). Select the test alone with ``pytest -m load``; ``pytest -s`` prints the figures, which
also go to ``test-artifacts/load.json``.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
from PIL import Image

from pipelines.media import write_video
from tests.conftest import ROOT, studio_process

pytestmark = pytest.mark.load

CALLERS = 16
SECONDS = 60.0
WARM_UP = 10.0  # seconds of load before the measured minute (threads, arenas, lazy imports)
WINDOW = 10.0  # seconds at each end of the measured minute whose memory is compared
QUEUE_SIZE = 8
REQUEST_TIMEOUT = 120.0
KINDS = ("super_res", "keyframes", "style")


def colour(caller: int, request: int) -> tuple[int, int, int]:
    """A colour that names the caller and the request (the request modulo 32)."""
    return 40 + caller * 12, 40 + (request % 32) * 6, 200 - caller * 8


def solid(path: Path, size: tuple[int, int], rgb: tuple[int, int, int]) -> Path:
    Image.fromarray(np.full((size[1], size[0], 3), rgb, np.uint8)).save(path)
    return path


def mean_colour(path: str | Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), float).reshape(-1, 3).mean(axis=0)


@dataclass
class Tally:
    completed: Counter = field(default_factory=Counter)
    refused: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, text: str) -> None:
        with self.lock:
            self.failures.append(text)


class Caller(threading.Thread):
    """One client sending requests of one kind until the deadline, checking every output."""

    def __init__(self, index: int, url: str, folder: Path, deadline: float, tally: Tally):
        super().__init__(name=f"caller-{index}", daemon=True)
        self.index, self.url, self.folder = index, url, folder
        self.kind = KINDS[index % len(KINDS)]
        self.deadline, self.tally = deadline, tally
        self.video: Path | None = None

    def run(self) -> None:
        from gradio_client import Client

        try:
            client = Client(self.url, verbose=False, analytics_enabled=False,
                            download_files=str(self.folder / "downloads"))  # fmt: skip
            request = 0
            while time.monotonic() < self.deadline:
                self.one(client, request)
                request += 1
        except Exception as err:  # a failure the assertions below report
            self.tally.fail(f"caller {self.index}: {type(err).__name__}: {err}")

    def one(self, client: Any, request: int) -> None:
        from gradio_client.exceptions import AppError
        from gradio_client.utils import QueueError

        inputs, check = getattr(self, self.kind)(request)
        job = client.submit(*inputs, api_name=f"/{self.kind}")
        try:
            outputs = job.result(timeout=REQUEST_TIMEOUT)
        except (QueueError, AppError) as err:
            if "queue is full" not in str(err).lower():
                raise
            with self.tally.lock:
                self.tally.refused += 1
            time.sleep(0.5)
            return
        check(outputs)
        with self.tally.lock:
            self.tally.completed[self.kind] += 1

    # -- the three kinds: (inputs, check) for request number ``request``

    def super_res(self, request: int) -> tuple[list, Any]:
        from gradio_client import handle_file

        size = (8 + self.index, 8 + request % 32)
        rgb = colour(self.index, request)
        path = solid(self.folder / f"in-{request}.png", size, rgb)

        def check(outputs: Any) -> None:
            result = outputs[1]
            with Image.open(result) as image:
                assert image.size == (2 * size[0], 2 * size[1]), (self.index, request, image.size)
            assert np.abs(mean_colour(result) - rgb).max() <= 2, (self.index, request)

        return [handle_file(str(path)), None, "classical", 2, 0, "png", False], check

    def style(self, request: int) -> tuple[list, Any]:
        from gradio_client import handle_file

        size = (24 + self.index, 24 + request % 32)
        content = solid(self.folder / f"content-{request}.png", size, colour(self.index, request))
        style = solid(self.folder / "style.png", (16, 16), (200, 120, 40))

        def check(outputs: Any) -> None:
            with Image.open(outputs[1]) as image:
                assert image.size == size, (self.index, request, image.size)

        inputs = [handle_file(str(content)), handle_file(str(style)), "classical", "reinhard",
                  0.8, None, 0.5, False, 0.7, 1024, "png"]  # fmt: skip
        return inputs, check

    def keyframes(self, request: int) -> tuple[list, Any]:
        from gradio_client import handle_file

        size = (32 + 2 * self.index, 24)
        rgb = colour(self.index, 0)
        if self.video is None:
            frame = np.full((size[1], size[0], 3), rgb, np.uint8)
            self.video = write_video(self.folder / "clip.mp4", [frame] * 12, 12)

        def check(outputs: Any) -> None:
            gallery = outputs[0]
            assert gallery, (self.index, request)
            for item in gallery:
                path = item["image"] if isinstance(item, dict) else item[0]
                with Image.open(path) as image:
                    assert image.size == size, (self.index, request, image.size)
                assert np.abs(mean_colour(path) - rgb).max() <= 8, (self.index, request)

        return [handle_file(str(self.video))], check


class MemorySampler(threading.Thread):
    """Samples a process's resident memory (bytes) every half second until stopped."""

    def __init__(self, pid: int):
        super().__init__(name="memory", daemon=True)
        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), self.process.memory_info().rss))
            self.stop.wait(0.5)

    def mean_between(self, start: float, end: float) -> float:
        return statistics.fmean(rss for t, rss in self.samples if start <= t <= end)

    def profile(self, start: float, end: float, step: float) -> list[float]:
        """Mean MiB over each ``step`` seconds from ``start`` to ``end``."""
        edges = np.arange(start, end, step)
        return [round(self.mean_between(a, a + step) / 2**20, 1) for a in edges
                if any(a <= t <= a + step for t, _ in self.samples)]


def test_sixteen_callers_for_a_minute(tmp_path):
    with studio_process(tmp_path, STUDIO_QUEUE_SIZE=str(QUEUE_SIZE),
                        STUDIO_OUTPUTS=str(tmp_path / "outputs")) as server:  # fmt: skip
        memory = MemorySampler(server.process.pid)
        memory.start()
        began = time.monotonic()
        start = began + WARM_UP  # the measured minute
        tally = Tally()
        callers = [Caller(i, server.url, tmp_path / f"caller-{i}", start + SECONDS, tally)
                   for i in range(CALLERS)]  # fmt: skip
        for caller in callers:
            caller.folder.mkdir()
            caller.start()
        for caller in callers:
            caller.join(timeout=SECONDS + REQUEST_TIMEOUT)
        end = time.monotonic()
        memory.stop.set()
        memory.join()
        alive = [c.name for c in callers if c.is_alive()]
        first = memory.mean_between(start, start + WINDOW)
        last = memory.mean_between(end - WINDOW, end)
        profile = memory.profile(began, end, WINDOW)
        served_after = server.process.poll() is None

    figures = {
        "callers": CALLERS, "seconds": round(end - began, 1), "warm_up_seconds": WARM_UP,
        "queue_size": QUEUE_SIZE,
        "completed": sum(tally.completed.values()), "completed_by_kind": dict(tally.completed),
        "refused_queue_full": tally.refused, "failures": tally.failures,
        "rss_first_10s_mib": round(first / 2**20, 1), "rss_last_10s_mib": round(last / 2**20, 1),
        "rss_growth_percent": round(100 * (last / first - 1), 1),
        "rss_mib_per_10s_from_the_first_request": profile,
    }  # fmt: skip
    print("\nload:", json.dumps(figures, indent=2))
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "load.json").write_text(json.dumps(figures, indent=2) + "\n")

    assert not alive, f"callers still waiting after the deadline: {alive}"
    assert not tally.failures, tally.failures[:5]
    assert served_after
    assert set(tally.completed) == set(KINDS) and tally.refused > 0
    assert end - start >= SECONDS
    assert last <= 1.2 * first, figures
