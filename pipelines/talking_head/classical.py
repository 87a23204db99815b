"""The weight-free talking head: the audio's mouth track drives a warp of the face's mouth."""

from __future__ import annotations

from metrics.timing import StageTimer
from pipelines.registry import LoadContext
from pipelines.talking_head import common
from pipelines.talking_head.source import StillPortrait
from pipelines.talking_head.types import TalkRequest, TalkResult


class ClassicalTalker:
    """Mouth opening and shape from loudness and formant features; blinks, brows and head
    motion that follow the speech's loudness and pitch (portraits)."""

    device = "cpu"
    dtype = "float32"

    def modules(self) -> dict[str, object]:
        return {}

    def __call__(self, request: TalkRequest,
                 progress: common.Progress | None = None) -> TalkResult:
        timer = StageTimer()
        prepared = common.prepare(request, timer)
        source, track = prepared.source, prepared.track
        motion = source.motion(track, request) if isinstance(source, StillPortrait) else None
        if motion is None:
            pairs = source.frames(track, request, talk=True)
        else:
            pairs = source.frames(track, request, talk=True, motion=motion)
        frames = (frame for frame, _ in pairs)
        count = common.write_video(request, prepared, frames, timer, progress)
        return common.result(request, prepared, count, timer, track.open,
                             motion.curves() if motion is not None else None)


def build(ctx: LoadContext) -> ClassicalTalker:
    return ClassicalTalker()
