"""Run folders: complete only with a manifest; a failed job leaves nothing that looks done."""

from __future__ import annotations

import json

import pytest

from pipelines.catalog import build_registry
from pipelines.manifest import (
    cleanup_runs,
    is_complete,
    list_runs,
    run_max_age_hours,
    start_run,
    write_json_atomic,
)


def test_successful_run_writes_a_full_manifest(tmp_path):
    spec = build_registry().get("metrics.clip-vit-b32")
    with start_run("style", spec=spec, params={"strength": 0.8}, seed=7, root=tmp_path) as run:
        with run.stage("decode"):
            out = run.file("frames/out.png")
            out.write_bytes(b"png")
        run.add_output("image", out)
        run.device, run.dtype = "cpu", "float32"
        assert not is_complete(run.path)  # not complete while the job runs
    manifest = json.loads(run.manifest_path.read_text())
    assert manifest["status"] == "complete"
    assert manifest["spec_id"] == "metrics.clip-vit-b32"
    assert manifest["repo_id"] == "openai/clip-vit-base-patch32"
    assert manifest["parameters"] == {"strength": 0.8} and manifest["seed"] == 7
    assert manifest["outputs"] == {"image": "frames/out.png"}
    assert set(manifest["timings_seconds"]) == {"decode"}
    assert manifest["memory"]["peak_rss_bytes"] >= manifest["memory"]["start_rss_bytes"] > 0
    for lib in ("torch", "diffusers", "transformers", "gradio"):
        assert manifest["versions"][lib]
    assert manifest["device"] == "cpu"
    assert list_runs("style", root=tmp_path) == [run.path]


def test_failed_run_leaves_no_folder(tmp_path):
    started = []

    def job():
        with start_run("style", root=tmp_path) as run:
            started.append(run.path)
            run.file("half.mp4").write_bytes(b"half")
            raise RuntimeError("decoder crashed")

    with pytest.raises(RuntimeError):
        job()
    assert started
    assert not started[0].exists()
    assert list_runs(root=tmp_path) == []


def test_output_names_cannot_leave_the_run_folder(tmp_path):
    with start_run("style", root=tmp_path) as run, pytest.raises(ValueError, match="leaves"):
        run.file("../../escape.txt")


def test_atomic_json_write_replaces_whole_files(tmp_path):
    target = tmp_path / "m.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"b": object.__new__(type("X", (), {"__str__": None}))})
    assert json.loads(target.read_text()) == {"a": 1}  # the failed write changed nothing
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # and left no temp file


def test_old_runs_are_cleaned_and_recent_ones_kept(tmp_path, monkeypatch):
    import os
    import time

    with start_run("style", root=tmp_path) as old:
        pass
    with start_run("portrait", root=tmp_path) as recent:
        pass
    stale = time.time() - 10 * 3600
    os.utime(old.path, (stale, stale))
    outside = tmp_path.parent / "not-a-run"
    outside.mkdir(exist_ok=True)
    assert cleanup_runs(0, root=tmp_path) == 0  # 0 means keep forever
    assert cleanup_runs(5, root=tmp_path) == 1
    assert not old.path.exists()
    assert recent.path.exists()
    assert outside.exists()
    monkeypatch.setenv("STUDIO_RUN_MAX_AGE_HOURS", "soon")
    with pytest.raises(ValueError, match="STUDIO_RUN_MAX_AGE_HOURS"):
        run_max_age_hours()


def test_list_runs_is_newest_first_within_one_second(tmp_path):
    paths = []
    for _ in range(5):
        with start_run("style", root=tmp_path) as run:
            paths.append(run.path)
    assert list_runs("style", root=tmp_path) == paths[::-1]
