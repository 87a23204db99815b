"""Download throughput: the studio's fetch beside a plain huggingface_hub download.

Serves the same files from a local stand-in for the Hub (tests/hub_server.py, 127.0.0.1) and
downloads them, alternately, with ``huggingface_hub.hf_hub_download`` (one call per file, into
one fresh cache) and with the studio's ``pipelines.hub.fetch`` (into another fresh cache; it
streams with Range resume and hashes every LFS file as it arrives). Prints the median of each,
their ratio (target: studio / plain >= 0.95), and the cost of SHA-256 verification per GB (the
same fetch with hashing off, and a standalone ``sha256_file`` pass over the downloaded files).

    python bench/fetch.py [--mb 512] [--files 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=512, help="total size of the files")
    parser.add_argument("--files", type=int, default=4, help="number of files")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="studio-bench-fetch-"))
    os.environ.update(HF_HUB_OFFLINE="0", HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1",
                      HF_HUB_DISABLE_PROGRESS_BARS="1", STUDIO_URL_CACHE=str(work / "urls"),
                      HF_HOME=str(work / "home"))
    from huggingface_hub import constants, hf_hub_download

    from pipelines import hub
    from pipelines.registry import PipelineSpec
    from tests.hub_server import COMMIT

    constants.HF_HUB_OFFLINE = False
    constants.HF_HUB_DISABLE_XET = True
    # The stand-in Hub runs in its own process, as a remote server would.
    server = subprocess.Popen([sys.executable, "-m", "tests.hub_server", str(args.mb),
                               str(args.files)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    files = [server.stdout.readline().strip() for _ in range(args.files)]
    os.environ["HF_ENDPOINT"] = url
    spec = PipelineSpec(id="style.bench", task="style", label="bench", kind="torch",
                        builder="x:y", repo_id="bench/weights", revision=COMMIT,
                        files=tuple(files))

    def use_cache(name: str) -> Path:
        cache = work / name
        shutil.rmtree(cache, ignore_errors=True)
        os.environ["HF_HUB_CACHE"] = str(cache)
        constants.HF_HUB_CACHE = str(cache)
        return cache

    def plain() -> float:
        use_cache("plain")
        start = time.perf_counter()
        for name in files:
            hf_hub_download("bench/weights", name, revision=COMMIT, endpoint=url)
        return time.perf_counter() - start

    def studio() -> float:
        use_cache("studio")
        start = time.perf_counter()
        hub.fetch(spec)
        return time.perf_counter() - start

    original_stream = hub._stream_to_blob

    def studio_unhashed() -> float:
        hub._stream_to_blob = lambda s, r, b, m, expected, h: original_stream(s, r, b, m, None, h)
        try:
            return studio()
        finally:
            hub._stream_to_blob = original_stream

    runs: dict[str, list[float]] = {"plain": [], "studio": [], "studio_nohash": []}
    try:
        plain(), studio()  # warm-up: imports, page cache, connections
        for _ in range(args.repeats):
            runs["plain"].append(plain())
            runs["studio"].append(studio())
            runs["studio_nohash"].append(studio_unhashed())
        folder = hub.hub_repo_dir(spec) / "blobs"
        start = time.perf_counter()
        for blob in folder.iterdir():
            hub.sha256_file(blob)
        hash_seconds = time.perf_counter() - start
        total = sum(b.stat().st_size for b in folder.iterdir())
    finally:
        server.stdin.close()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    gb = total / 1e9
    medians = {k: statistics.median(v) for k, v in runs.items()}
    rate = {k: total / v / 1e6 for k, v in medians.items()}
    print(f"{args.files} files, {total / 1e6:.0f} MB from a local Hub stand-in, median of "
          f"{args.repeats} alternating runs")
    print(f"  plain hf_hub_download      {medians['plain']:.2f} s  {rate['plain']:.0f} MB/s")
    print(f"  studio fetch (sha256 on)   {medians['studio']:.2f} s  {rate['studio']:.0f} MB/s")
    print(f"  studio fetch (sha256 off)  {medians['studio_nohash']:.2f} s  "
          f"{rate['studio_nohash']:.0f} MB/s")
    print(f"  throughput ratio studio / plain: {rate['studio'] / rate['plain']:.3f} "
          "(target >= 0.95)")
    inline = (medians["studio"] - medians["studio_nohash"]) / gb
    print(f"  hash verification: {inline:+.2f} s per GB inline while downloading; "
          f"{hash_seconds / gb:.2f} s per GB as a separate pass (sha256_file)")


if __name__ == "__main__":
    main()
