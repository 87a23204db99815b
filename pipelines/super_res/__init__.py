"""Super-resolution of images and videos: a classical filter, Swin2SR and ESRGAN-family models.

Modules: ``settings`` (every setting, declared once), ``types`` (request/result types, checks,
resampling), ``classical`` (the weight-free default), ``tiling`` (overlapping, feathered, batched
tiles), ``models`` (Swin2SR and spandrel runners), ``job`` (``prepare`` and ``job`` of the task
contract, and the older ``run_image``/``run_video``), ``command`` (``cli.py upscale``), ``specs``.
:data:`TASK` declares the task.
"""

from pipelines.super_res.settings import SETTINGS
from pipelines.task import Input, Task

TASK = Task(
    id="super_res",
    title="Super-resolution",
    specs="pipelines.super_res.specs",
    settings=SETTINGS,
    inputs=(Input("input", "media", "Image or video"),
            Input("reference", "image", "Reference: the high-resolution original",
                  optional=True)),
    prepare="pipelines.super_res.job:prepare",
    job="pipelines.super_res.job:job",
    result="pipelines.super_res.types:UpscaleResult",
    tab="tabs.super_res",
    command="pipelines.super_res.command",
    adapter="pipelines.benchmark.adapters:SuperResAdapter",
    examples=("super_res/astronaut_128.png", "super_res/coffee_160.jpg",
              "super_res/logo_rgba.png", "super_res/pan_160x120.mp4"),
    cli_name="upscale",
)

__all__ = ["TASK"]
