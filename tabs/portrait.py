"""Portrait animation tab: the task is being built; meanwhile it lists its backends."""

from __future__ import annotations

from pipelines.registry import Registry
from tabs.common import pending_tab

TITLE = "Portrait animation"
TASK = "portrait"


def build(registry: Registry) -> None:
    pending_tab(registry, TASK)
