"""Keyframe extraction: shot detection, representative frames, contact sheets and shot lists.

Modules: ``settings`` (every knob, light to import), ``frames`` (decoding for the pass),
``analysis`` (per-frame measurements on a downscaled frame), ``detectors`` (push-style shot
detectors behind one ABC), ``select`` (keyframes per shot or by clustering), ``runner`` (the
classical backend: one streaming pass), ``timecodes`` (frame times from container timestamps),
``outputs`` (images, ZIP, contact sheet, CSV, JSON, score plot), ``job`` (run folder and manifest,
shared by the tab and the CLI), ``command`` (CLI), ``evaluate`` (boundary F1 for tests and the
benchmark).
"""

from pipelines.task import Schema, Task

TASK = Task(
    id="keyframes",
    title="Keyframe extraction",
    specs="pipelines.keyframes.specs",
    settings=Schema("keyframes", ()),
    inputs=(),
    tab="tabs.keyframes",
    command="pipelines.keyframes.command",
    adapter="pipelines.bench.adapters:KeyframesAdapter",
    cli_name="keyframes",
)
