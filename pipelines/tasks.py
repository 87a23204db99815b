"""The one list of the studio's tasks, in the order the app shows them.

The catalog registers each task's specs, ``cli.py`` adds each task's command, the app builds each
task's tab, and the Benchmark tab offers each task: all by iterating :data:`TASKS`. Adding a task
is one new package exporting ``TASK`` plus its import and its place in TASKS here (see
docs/architecture.md).
"""

from __future__ import annotations

from pipelines.interpolate import TASK as INTERPOLATE
from pipelines.keyframes import TASK as KEYFRAMES
from pipelines.maps import TASK as MAPS
from pipelines.portrait import TASK as PORTRAIT
from pipelines.remove import TASK as REMOVE
from pipelines.style import TASK as STYLE
from pipelines.summary import TASK as SUMMARY
from pipelines.super_res import TASK as SUPER_RES
from pipelines.talking_head import TASK as TALKING_HEAD
from pipelines.task import Task

TASKS: tuple[Task, ...] = (PORTRAIT, TALKING_HEAD, STYLE, SUPER_RES, INTERPOLATE, KEYFRAMES,
                           REMOVE, SUMMARY, MAPS)

# Specs that tasks use but that are no task of their own (metric networks, face landmarks).
SHARED_SPECS: tuple[str, ...] = ("pipelines.networks.specs",)


def task_by_id(task_id: str, tasks: tuple[Task, ...] = TASKS) -> Task:
    for task in tasks:
        if task.id == task_id:
            return task
    from pipelines.errors import InputError

    raise InputError(f"No task '{task_id}'; the tasks are {', '.join(t.id for t in tasks)}.")
