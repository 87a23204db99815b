"""Talking heads tab. The task's runners are being built; the tab lists its backends meanwhile."""

from __future__ import annotations

from pipelines.registry import Registry
from tabs.common import pending_tab

TITLE = "Talking heads"
TASK = "talking_head"


def build(registry: Registry) -> None:
    pending_tab(registry, TASK)
