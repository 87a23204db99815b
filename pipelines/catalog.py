"""The one place that registers every backend the studio ships.

Each task declares its specs in a light module of its own (``SPECS``, data only: builders are
``"module:function"`` strings, imported on first load), and this module adds each task's specs
with one ``Registry.add`` call. Declaring the catalog imports no torch or model library.
"""

from __future__ import annotations

import importlib

from pipelines.registry import Registry

# task -> module with that task's SPECS
SPEC_MODULES: dict[str, str] = {
    "metrics": "pipelines.features.specs",
    "keyframes": "pipelines.keyframes.specs",
    "portrait": "pipelines.portrait.specs",
    "talking_head": "pipelines.talking_head.specs",
    "super_res": "pipelines.super_res.specs",
    "style": "pipelines.style.specs",
}


def build_registry() -> Registry:
    """A fresh registry holding every shipped spec (each call has its own cache)."""
    registry = Registry()
    for module in SPEC_MODULES.values():
        registry.add(*importlib.import_module(module).SPECS)
    return registry
