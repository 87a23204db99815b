"""The weight-free talking head: the audio's mouth track drives a warp of the face's mouth."""

from __future__ import annotations

from metrics.timing import StageTimer
from pipelines.registry import LoadContext
from pipelines.talking_head import common
from pipelines.talking_head.types import TalkRequest, TalkResult


class ClassicalTalker:
    """Mouth opening and shape from loudness and formant features; blinks and head motion."""

    device = "cpu"
    dtype = "float32"

    def modules(self) -> dict[str, object]:
        return {}

    def __call__(self, request: TalkRequest,
                 progress: common.Progress | None = None) -> TalkResult:
        timer = StageTimer()
        prepared = common.prepare(request, timer)
        frames = (frame for frame, _ in prepared.source.frames(prepared.track, request, talk=True))
        count = common.write_video(request, prepared, frames, timer, progress)
        return common.result(request, prepared, count, timer, prepared.track.open)


def build(ctx: LoadContext) -> ClassicalTalker:
    return ClassicalTalker()
