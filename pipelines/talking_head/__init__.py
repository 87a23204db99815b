"""Talking heads: a portrait (or a short face video) plus speech in, a lip-synced MP4 out.

Backends: ``classical`` (audio features drive a mouth warp, with blinks and head motion; no
weights) and Wav2Lip (our implementation of the published network, loading the public
checkpoints). ``job.talk`` is the one entry point the tab and the CLI share.
"""

from pipelines.task import Schema, Task

TASK = Task(
    id="talking_head",
    title="Talking heads",
    specs="pipelines.talking_head.specs",
    settings=Schema("talking_head", ()),
    inputs=(),
    tab="tabs.talking_head",
    command="pipelines.talking_head.command",
    adapter="pipelines.bench.adapters:TalkingHeadAdapter",
    cli_name="talk",
)
