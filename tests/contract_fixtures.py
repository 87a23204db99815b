"""Checks shared by the per-task contract tests: the tab's widgets, the CLI's flags and the job's
validation all follow the task's settings schema (one declaration, three consumers)."""

from __future__ import annotations

import argparse
from typing import Any

from pipelines.task import Setting, Task


def widgets_by_id(demo: Any) -> dict[str, Any]:
    """Every component of a built app that has an ``elem_id``, by that id."""
    return {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}


def choice_values(component: Any) -> list[Any]:
    """The values of a dropdown's or checkbox group's choices (labels dropped)."""
    return [c[1] if isinstance(c, (tuple, list)) else c for c in component.choices]


def check_widget(task: Task, setting: Setting, component: Any) -> None:
    """The widget shows the setting's range, choices and default."""
    where = f"{task.id}-{setting.name}"
    if setting.bounded:
        assert (component.minimum, component.maximum) == (setting.minimum, setting.maximum), where
    if setting.choices:
        assert choice_values(component) == list(setting.choices), where
    value = list(setting.default) if setting.multi else setting.default
    assert component.value == value, where


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[name]


def check_flag(parser: argparse.ArgumentParser, setting: Setting) -> None:
    """The flag exists, parses into the setting's type and offers the setting's choices."""
    flags = {o: a for a in parser._actions for o in a.option_strings}
    assert setting.cli_flag in flags, setting.cli_flag
    action = flags[setting.cli_flag]
    assert action.dest == setting.name, setting.cli_flag
    if setting.kind in ("int", "float"):
        assert action.type is (int if setting.kind == "int" else float), setting.cli_flag
    if setting.kind == "choice":
        assert list(action.choices) == list(setting.choices), setting.cli_flag


def outside(setting: Setting) -> list[Any]:
    """Values just outside the setting's range (or not among its choices)."""
    if setting.bounded:
        step = setting.step or 1
        below, above = setting.minimum - step, setting.maximum + step
        if setting.kind == "int":
            below, above = int(below), int(above)
        return [below, above]
    if setting.kind == "choice":
        return ["not-a-choice"]
    return []


def cli_word(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
