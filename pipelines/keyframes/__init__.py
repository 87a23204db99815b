"""Keyframe extraction: shot detection, representative frames, contact sheets and shot lists.

Modules: ``settings`` (every setting, declared once; light to import), ``frames`` (decoding for
the pass), ``analysis`` (per-frame measurements on a downscaled frame), ``detectors`` (push-style
shot detectors behind one ABC), ``select`` (keyframes per shot or by clustering), ``classical`` (the
classical backend: one streaming pass), ``timecodes`` (frame times from container timestamps),
``outputs`` (images, ZIP, contact sheet, CSV, JSON, score plot), ``job`` (``prepare`` and
``job`` of the task contract, shared by the tab, the CLI and the benchmark), ``command`` (CLI),
``evaluate`` (boundary F1 for tests and the benchmark), ``transnet`` (the TransNetV2 backend: its
network's detector in the same pass). :data:`TASK` declares the task.
"""

from pipelines.keyframes.settings import SETTINGS, backend_group
from pipelines.task import Input, Task

TASK = Task(
    id="keyframes",
    title="Keyframe extraction",
    specs="pipelines.keyframes.specs",
    settings=SETTINGS,
    inputs=(Input("video", "video", "Video"),),
    prepare="pipelines.keyframes.job:prepare",
    job="pipelines.keyframes.job:job",
    result="pipelines.keyframes.classical:KeyframeResult",
    tab="tabs.keyframes",
    command="pipelines.keyframes.command",
    adapter="pipelines.benchmark.adapters:KeyframesAdapter",
    examples=("keyframes/example.mp4",),
    group_of=backend_group,
    cli_name="keyframes",
)

__all__ = ["TASK"]
