"""Super-resolution of images and videos: a classical filter, Swin2SR and ESRGAN-family models.

Modules: ``base`` (request/result types, checks, resampling), ``classical`` (the weight-free
default), ``tiling`` (overlapping, feathered, batched tiles), ``models`` (Swin2SR and spandrel
runners), ``job`` (what the tab and the CLI run), ``command`` (``cli.py upscale``), ``specs``.
"""

from pipelines.task import Schema, Task

TASK = Task(
    id="super_res",
    title="Super-resolution",
    specs="pipelines.super_res.specs",
    settings=Schema("super_res", ()),
    inputs=(),
    tab="tabs.super_res",
    command="pipelines.super_res.command",
    adapter="pipelines.bench.adapters:SuperResAdapter",
    cli_name="upscale",
)
