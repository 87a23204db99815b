"""Portrait animation: one still image in, a short video out.

Backends: ``classical`` (face-aware warps, no weights), Stable Video Diffusion (img2vid and
img2vid-xt) and LTX-Video, a DiT image-to-video model. All take an :class:`AnimateRequest` and
return an :class:`AnimateResult`. :data:`TASK` declares the task: its settings
(:mod:`pipelines.portrait.settings`), ``prepare`` and ``job`` (:mod:`pipelines.portrait.job`).
"""

from pipelines.portrait.request import (
    AnimateRequest,
    AnimateResult,
    DitSettings,
    MotionSettings,
    SvdSettings,
)
from pipelines.portrait.settings import SETTINGS, group_of
from pipelines.task import Input, Task

TASK = Task(
    id="portrait",
    title="Portrait animation",
    specs="pipelines.portrait.specs",
    settings=SETTINGS,
    inputs=(Input("image", "image", "Picture"),),
    prepare="pipelines.portrait.job:prepare",
    job="pipelines.portrait.job:job",
    result="pipelines.portrait.request:AnimateResult",
    tab="tabs.portrait",
    command="pipelines.portrait.command",
    adapter="pipelines.bench.adapters:PortraitAdapter",
    examples=("portrait/astronaut.jpg", "portrait/coffee.jpg"),
    group_of=group_of,
    cli_name="animate",
)

__all__ = ["TASK", "AnimateRequest", "AnimateResult", "DitSettings", "MotionSettings",
           "SvdSettings"]
