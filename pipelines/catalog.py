"""The one place that registers every backend the studio ships.

Each task declares its specs in a light module of its own (``SPECS``, data only: builders are
``"module:function"`` strings, imported on first load), named by its :class:`~pipelines.task.Task`;
this module adds them, task by task, from :data:`pipelines.tasks.TASKS`, plus the shared network
specs. Declaring the catalog imports no torch or model library.
"""

from __future__ import annotations

import importlib

from pipelines.registry import Registry
from pipelines.task import Task


def build_registry(tasks: tuple[Task, ...] | None = None) -> Registry:
    """A fresh registry holding every shipped spec (each call has its own cache)."""
    from pipelines.tasks import SHARED_SPECS, TASKS

    registry = Registry()
    for module in SHARED_SPECS:
        registry.add(*importlib.import_module(module).SPECS)
    for task in TASKS if tasks is None else tasks:
        registry.add(*task.spec_list())
    return registry
