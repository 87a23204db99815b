"""Style transfer: colour/tone and painterly effects (classical) and AdaIN, for images and videos,
with optical-flow temporal consistency for videos.

:data:`TASK` declares the task: its settings (:mod:`pipelines.style.settings`), ``prepare`` and
``job`` (:mod:`pipelines.style.job`); every backend takes a ``StyleRequest`` and returns a
``StyleResult`` (:mod:`pipelines.style.types`).
"""

from pipelines.style.settings import SETTINGS
from pipelines.task import Input, Task

TASK = Task(
    id="style",
    title="Style transfer",
    specs="pipelines.style.specs",
    settings=SETTINGS,
    inputs=(Input("content", "media", "Content image or video"),
            Input("style", "image", "Style image"),
            Input("style2", "image", "Second style image", optional=True)),
    prepare="pipelines.style.job:prepare",
    job="pipelines.style.job:job",
    result="pipelines.style.types:StyleResult",
    tab="tabs.style",
    command="pipelines.style.command",
    adapter="pipelines.benchmark.adapters:StyleAdapter",
    examples=("style/content_cat.jpg", "style/pan_cut.mp4"),
    cli_name="style",
)

__all__ = ["TASK"]
