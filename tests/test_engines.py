"""Engines: the same pure job in-process, in a local process pool and as Ray tasks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipelines import engines
from pipelines.engines import (
    JobFailed,
    pack_files,
    run_jobs,
    run_remote,
    run_with_files,
    unpack_files,
)
from pipelines.errors import InputError, LimitExceeded, StudioError


def square(n: int) -> int:
    if n < 0:
        raise LimitExceeded("max_frames", -n, 10, "Negative.")  # custom __init__: not picklable
    if n == 13:
        raise ZeroDivisionError("unlucky")
    return n * n


def crash(n: int) -> int:
    if n == 2:
        os._exit(3)  # a worker dying in native code
    return n + 100


def reverse_files(inputs, out, suffix):
    written = []
    for path in inputs:
        target = out / f"{path.stem}{suffix}"
        target.write_bytes(path.read_bytes()[::-1])
        written.append(target.name)
    return written


@pytest.mark.parametrize("engine", ["inline", "local"])
def test_results_and_errors_come_back_per_item(engine):
    seen = []
    outcomes = dict(run_jobs(square, [3, -2, 13, 5], engine=engine, workers=2,
                             progress=lambda done, total, item: seen.append((done, total))))
    assert outcomes[3] == 9 and outcomes[5] == 25
    assert isinstance(outcomes[-2], InputError) and "max_frames" in str(outcomes[-2])
    assert isinstance(outcomes[13], JobFailed) and "ZeroDivisionError: unlucky" in str(
        outcomes[13]) and "Traceback" in outcomes[13].details
    assert [d for d, _ in seen] == [1, 2, 3, 4] and {t for _, t in seen} == {4}


def test_a_crashed_worker_costs_one_item_not_the_run():
    outcomes = dict(run_jobs(crash, [1, 2, 3, 4], engine="local", workers=2))
    assert outcomes[1] == 101 and outcomes[3] == 103 and outcomes[4] == 104
    assert isinstance(outcomes[2], JobFailed) and "died" in str(outcomes[2])


def test_pool_runs_jobs_in_other_processes():
    pids = {pid for _, pid in run_jobs(_pid, range(6), engine="local", workers=2)}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def _pid(_: int) -> int:
    return os.getpid()


def test_bad_engine_and_workers_are_clear_errors():
    with pytest.raises(InputError, match="Unknown engine 'spark'"):
        list(run_jobs(square, [1], engine="spark"))
    with pytest.raises(InputError, match="--workers 0"):
        list(run_jobs(square, [1], engine="local", workers=0))


def test_pack_and_unpack_files(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"\x00\x01abc")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "b.txt").write_text("hello")
    blob = pack_files([tmp_path / "a.bin", tmp_path / "dir"])
    written = unpack_files(blob, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["a.bin",
                                                                                  "dir/b.txt"]
    assert (tmp_path / "out" / "a.bin").read_bytes() == b"\x00\x01abc"
    import io
    import tarfile

    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as archive:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(InputError, match="Refusing"):
        unpack_files(evil.getvalue(), tmp_path / "out2")
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize("engine", ["inline", "local"])
def test_run_with_files_moves_inputs_and_outputs_as_bytes(tmp_path, engine):
    source = tmp_path / "clip.dat"
    source.write_bytes(b"0123456789")
    written, names = run_with_files(reverse_files, [source], tmp_path / "back", ".rev",
                                    engine=engine)  # fmt: skip
    assert names == ["clip.rev"] and written == [tmp_path / "back" / "clip.rev"]
    assert written[0].read_bytes() == b"9876543210"


def test_run_remote_reraises_studio_errors():
    assert run_remote(square, 4, engine="local") == 16
    with pytest.raises(StudioError, match="max_frames"):
        run_remote(square, -1, engine="local")


def test_ray_is_not_imported_until_asked():
    code = ("import sys; import pipelines.engines, pipelines.curate.run, app; "
            "print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=engines.ROOT, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.slow  # a local Ray starts in about 50 s here; test_curate covers Ray by default
@pytest.mark.skipif(os.environ.get("STUDIO_SLOW_TESTS") != "1", reason="slow: STUDIO_SLOW_TESTS=1")
@pytest.mark.skipif(not engines.ray_available(), reason="ray is not installed")
def test_ray_engine_gives_the_same_outcomes_as_local():
    items = [3, -2, 13, 5]
    local = dict(run_jobs(square, items, engine="local", workers=2))
    ray = dict(run_jobs(square, items, engine="ray", workers=2))
    assert ray[3] == local[3] == 9 and ray[5] == local[5] == 25
    assert type(ray[-2]) is type(local[-2]) is InputError and str(ray[-2]) == str(local[-2])
    assert isinstance(ray[13], JobFailed) and str(ray[13]) == str(local[13])
    assert "ray" in sys.modules and not sys.modules["ray"].is_initialized()  # shut down after
