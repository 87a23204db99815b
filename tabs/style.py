"""Style transfer tab. The task's runners are being built; the tab lists its backends meanwhile."""

from __future__ import annotations

from pipelines.registry import Registry
from tabs.common import pending_tab

TITLE = "Style transfer"
TASK = "style"


def build(registry: Registry) -> None:
    pending_tab(registry, TASK)
