"""cli.py: the models table, fetch, and one-sentence errors with exit code 2."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

import cli
from pipelines.catalog import build_registry
from pipelines.task import Schema
from pipelines.tasks import TASKS
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


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every command of the CLI, as its full parser lists them: name -> its parser."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _schemas() -> list[Schema]:
    """Every settings schema: each task's, and any other ``pipelines/<package>/settings.py``
    declares (curate's)."""
    found = {t.settings for t in TASKS}
    for path in sorted((ROOT / "pipelines").glob("*/settings.py")):
        module = importlib.import_module(f"pipelines.{path.parent.name}.settings")
        found.update(v for v in vars(module).values() if isinstance(v, Schema))
    return sorted(found, key=lambda schema: schema.task)


def _squeezed(text: str) -> str:
    return "".join(text.split())  # argparse wraps lines (and breaks at hyphens)


def test_every_schema_help_formats_with_its_text_as_declared():
    schemas = _schemas()
    assert {"curate", *(t.id for t in TASKS)} <= {s.task for s in schemas}
    for schema in schemas:
        parser = argparse.ArgumentParser(prog=schema.task)
        schema.add_arguments(parser)
        shown = _squeezed(parser.format_help())  # a bare % in a help text raises here
        for setting in schema:
            assert _squeezed(setting.help) in shown, (schema.task, setting.name)
            if setting.range_text():  # units such as % shown as declared
                assert _squeezed(f"({setting.range_text()};") in shown, (schema.task, setting.name)


def test_every_command_help_formats_in_process():
    parser = cli.build_parser()
    commands = _commands(parser)
    assert {"models", "fetch", "bench", "curate", *(t.command_name for t in TASKS)} <= set(commands)
    top = parser.format_help()
    for name, command in commands.items():
        assert name in top
        assert command.format_help().startswith("usage: cli.py " + name), name


def test_every_command_help_runs_without_a_traceback():
    """``python cli.py [COMMAND] --help`` for the CLI and each of its commands (cli.py imports
    only the named command's module, so each process starts quickly)."""
    names = ["", *_commands(cli.build_parser())]
    procs = {name: subprocess.Popen([sys.executable, "cli.py", *([name] if name else []), "--help"],
                                    cwd=ROOT, env=studio_env(), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
             for name in names}
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "Traceback" not in out, f"cli.py {name} --help:\n{out}"
        assert out.startswith(f"usage: cli.py {name}".rstrip()), out
