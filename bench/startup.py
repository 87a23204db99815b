"""Start-up time: `python app.py` against a bare Gradio Blocks app with as many tabs.

Prints seconds from process start to the first HTTP 200 for each, the median of N runs, and the
ratio studio / bare (target: at most 1.2). Run from the repository root:

    python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BARE_APP = """
import os
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import sys
import gradio as gr
with gr.Blocks(title="bare") as demo:
    for i in range({tabs}):
        with gr.Tab(f"Tab {{i}}"):
            gr.Markdown("text")
            gr.Button("run")
demo.queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_to_first_200(command: list[str], port: int, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command} exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.02)
            if time.perf_counter() - start > 120:
                raise RuntimeError(f"{command} did not answer in 120 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from pipelines.tasks import TASKS
    from tabs import TOOL_TABS

    tabs = len(TASKS) + len(TOOL_TABS)  # every task's tab, then Benchmark and Models

    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    env["STUDIO_OUTPUTS"] = tempfile.mkdtemp(prefix="studio-bench-")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(BARE_APP.format(tabs=tabs))
        bare_script = handle.name
    times: dict[str, list[float]] = {"studio": [], "bare": []}
    for run in range(args.runs):  # interleaved, so drift in machine load hits both alike
        port = free_port()
        times["studio"].append(
            time_to_first_200([sys.executable, "app.py", "--port", str(port)], port, env)
        )
        port = free_port()
        times["bare"].append(time_to_first_200([sys.executable, bare_script, str(port)], port, env))
        print(f"run {run + 1}: studio {times['studio'][-1]:.2f} s, bare {times['bare'][-1]:.2f} s")
    os.unlink(bare_script)
    studio, bare = (statistics.median(times[k]) for k in ("studio", "bare"))
    print(f"\n{tabs} tabs, median of {args.runs} runs")
    print(f"{'app':<8}{'seconds to first HTTP 200':>28}")
    print(f"{'studio':<8}{studio:>28.2f}")
    print(f"{'bare':<8}{bare:>28.2f}")
    print(f"ratio studio/bare: {studio / bare:.2f} (target <= 1.20)")


if __name__ == "__main__":
    main()
