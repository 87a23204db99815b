"""Talking heads: a portrait (or a short face video) plus speech in, a lip-synced MP4 out.

Backends: ``classical`` (audio features drive a mouth warp, with blinks and head motion; no
weights) and Wav2Lip (our implementation of the published network, loading the public
checkpoints). :data:`TASK` declares the task: its settings (:mod:`pipelines.talking_head.settings`),
``prepare`` and ``job`` (:mod:`pipelines.talking_head.job`); ``job.talk`` wraps it for callers
that pass a :class:`~pipelines.talking_head.job.TalkOptions`.
"""

from pipelines.talking_head.settings import SETTINGS, group_of
from pipelines.task import Input, Task

TASK = Task(
    id="talking_head",
    title="Talking heads",
    specs="pipelines.talking_head.specs",
    settings=SETTINGS,
    inputs=(Input("face", "media", "Portrait image or short face video"),
            Input("audio", "audio", "Speech (WAV, MP3, M4A, OGG, FLAC)", optional=True),
            Input("text", "text", "Text to speak (espeak-ng)", optional=True)),
    prepare="pipelines.talking_head.job:prepare",
    job="pipelines.talking_head.job:job",
    result="pipelines.talking_head.types:TalkResult",
    tab="tabs.talking_head",
    command="pipelines.talking_head.command",
    adapter="pipelines.benchmark.adapters:TalkingHeadAdapter",
    examples=("talking_head/astronaut.jpg",),
    group_of=group_of,
    cli_name="talk",
)

__all__ = ["TASK"]
