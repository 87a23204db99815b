"""Portrait animation: one still image in, a short video (or an edited picture) out.

Backends: ``classical`` (face-aware warps and classical driving, no weights beyond the face
landmark model), Stable Video Diffusion, the prompted DiT image-to-video models (LTX-Video, Wan,
CogVideoX, HunyuanVideo) and LivePortrait (driving video, expression editing). Image-to-video
runners take an :class:`AnimateRequest` and return an :class:`AnimateResult`; a driving video or
a still edit is a :class:`pipelines.portrait.job.DriveRequest`. :data:`TASK` declares the task:
its settings (:mod:`pipelines.portrait.settings`), inputs (the picture, an optional driving
video and an optional end picture), ``prepare`` and ``job`` (:mod:`pipelines.portrait.job`).
"""

from pipelines.portrait.settings import SETTINGS, group_of
from pipelines.portrait.types import (
    AnimateRequest,
    AnimateResult,
    DitSettings,
    MotionSettings,
    SvdSettings,
)
from pipelines.task import Input, Task

TASK = Task(
    id="portrait",
    title="Portrait animation",
    specs="pipelines.portrait.specs",
    settings=SETTINGS,
    inputs=(Input("image", "image", "Picture"),
            Input("driving", "video", "Driving video", optional=True),
            Input("last", "image", "End picture", optional=True)),
    prepare="pipelines.portrait.job:prepare",
    job="pipelines.portrait.job:job",
    result="pipelines.portrait.types:AnimateResult",
    tab="tabs.portrait",
    command="pipelines.portrait.command",
    adapter="pipelines.benchmark.adapters:PortraitAdapter",
    examples=("portrait/astronaut.jpg", "portrait/coffee.jpg"),
    group_of=group_of,
    cli_name="animate",
)

__all__ = ["TASK", "AnimateRequest", "AnimateResult", "DitSettings", "MotionSettings",
           "SvdSettings"]
