"""A tab's job on another engine (STUDIO_ENGINE / app.py --engine): a worker process or a Ray
task, files moved as bytes, the same result as a job run in the app's process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from pipelines import engines
from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.media import read_frames
from pipelines.portrait import TASK as PORTRAIT
from pipelines.remote import run_job_on_engine
from pipelines.task import run_job

PICTURE = Path(__file__).resolve().parent.parent / "assets" / "portrait" / "coffee.jpg"
SETTINGS = {"frames": 6, "fps": 12, "max_side": 128, "camera": "pan"}


@pytest.fixture(scope="module")
def inline_run(tmp_path_factory):
    return run_job(build_registry(), PORTRAIT, "classical", {"image": PICTURE}, SETTINGS,
                   seed=5, root=tmp_path_factory.mktemp("inline"))


def _same_job(remote, inline, root: Path) -> None:
    assert remote.run_dir.parent.parent == root and remote.run_dir.is_dir()
    assert set(remote.outputs) == set(inline.outputs)
    record = json.loads(remote.manifest.read_text())
    assert record["status"] == "complete" and record["seed"] == 5
    assert record["parameters"] == json.loads(inline.manifest.read_text())["parameters"]
    ours, theirs = read_frames(remote.outputs["video"]), read_frames(inline.outputs["video"])
    assert len(ours) == len(theirs) == 6
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
    assert remote.summary == inline.summary


def test_a_job_in_a_worker_process_matches_the_inline_job(inline_run, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_ENGINE", "local")
    remote = run_job_on_engine(build_registry(), PORTRAIT, "classical", {"image": PICTURE},
                               SETTINGS, seed=5, root=tmp_path)
    _same_job(remote, inline_run, tmp_path)


def test_bad_input_on_another_engine_is_the_same_sentence(tmp_path):
    with pytest.raises(InputError, match="'frames'"):
        run_job_on_engine(build_registry(), PORTRAIT, "classical", {"image": PICTURE},
                          {"frames": 1}, root=tmp_path, engine="local")
    with pytest.raises(InputError, match="takes its inputs as files"):
        run_job_on_engine(build_registry(), PORTRAIT, "classical",
                          {"image": np.zeros((8, 8, 3))}, root=tmp_path, engine="local")
    assert not list(tmp_path.glob("portrait/*"))


@pytest.mark.skipif(not engines.ray_available(), reason="ray is not installed")
def test_a_job_as_a_ray_task_matches_the_inline_job(inline_run, tmp_path):
    try:
        remote = run_job_on_engine(build_registry(), PORTRAIT, "classical", {"image": PICTURE},
                                   SETTINGS, seed=5, root=tmp_path, engine="ray")
    finally:
        engines.shutdown_ray()
    _same_job(remote, inline_run, tmp_path)


def test_app_engine_flag_sets_the_job_engine(monkeypatch):
    import app

    monkeypatch.setattr(sys, "argv", ["app.py"])
    assert app.parse_args(["--engine", "ray"]).engine == "ray"
    with pytest.raises(SystemExit):
        app.parse_args(["--engine", "gpu-farm"])
