"""Super-resolution tab: the task is being built; meanwhile it lists its backends."""

from __future__ import annotations

from pipelines.registry import Registry
from tabs.common import pending_tab

TITLE = "Super-resolution"
TASK = "super_res"


def build(registry: Registry) -> None:
    pending_tab(registry, TASK)
