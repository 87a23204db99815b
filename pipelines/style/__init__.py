"""Style transfer: colour/tone and painterly effects (classical) and AdaIN, for images and videos,
with optical-flow temporal consistency for videos."""

from pipelines.task import Schema, Task

TASK = Task(
    id="style",
    title="Style transfer",
    specs="pipelines.style.specs",
    settings=Schema("style", ()),
    inputs=(),
    tab="tabs.style",
    command="pipelines.style.command",
    adapter="pipelines.bench.adapters:StyleAdapter",
    cli_name="style",
)
