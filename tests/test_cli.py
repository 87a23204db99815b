"""cli.py: the models table, fetch, and one-sentence errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import cli
from pipelines.catalog import build_registry
from tests.conftest import ROOT, studio_env


def test_models_prints_every_spec(capsys):
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["id", "task", "kind"]
    for spec in build_registry():
        assert any(line.startswith(spec.id) for line in lines[2:])


def test_models_json(capsys):
    assert cli.main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    clip = next(r for r in rows if r["id"] == "metrics.clip-vit-b32")
    assert clip["on disk"] == "no" and clip["loaded"] == "no"


def test_fetch_offline_is_a_clear_error_not_a_traceback():
    proc = subprocess.run(
        [sys.executable, "cli.py", "fetch", "metrics.clip-vit-b32"],
        cwd=ROOT, env=studio_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "python cli.py fetch metrics.clip-vit-b32" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_fetch_unknown_id(capsys):
    assert cli.main(["fetch", "style.nope"]) == 2
    assert "Unknown backend 'style.nope'" in capsys.readouterr().err
