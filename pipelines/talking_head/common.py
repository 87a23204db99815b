"""What every talking-head runner does before and around its own frames.

:func:`prepare` reads the audio (any format, mono 16 kHz), checks it against the limits, analyses
it into a mouth track, and opens the face input. :func:`write_video` writes the runner's frames
with the audio muxed in, so the file lasts as long as the audio (to within one frame).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from metrics.timing import StageTimer
from pipelines import media
from pipelines.errors import InputError
from pipelines.talking_head.analysis import SAMPLE_RATE, MouthTrack, analyse, frame_count
from pipelines.talking_head.settings import SETTINGS
from pipelines.talking_head.source import FaceVideo, StillPortrait, open_face_input
from pipelines.talking_head.types import TalkRequest, TalkResult
from pipelines.task import Progress

__all__ = ["Prepared", "Progress", "check_request", "prepare", "result", "write_video"]


@dataclass
class Prepared:
    samples: np.ndarray  # mono float32 at 16 kHz
    track: MouthTrack
    source: StillPortrait | FaceVideo
    notes: list[str]

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def check_request(request: TalkRequest) -> None:
    """The request's settings against the task's schema (the same ranges as the tab and CLI)."""
    if not 1 <= request.fps <= 60:
        raise InputError(f"The frame rate must be 1 to 60 fps; got {request.fps}.")
    for name in ("head_motion", "mouth_strength", "max_side"):
        SETTINGS[name].check(getattr(request, name))


def prepare(request: TalkRequest, timer: StageTimer) -> Prepared:
    """Audio, mouth track and face input for ``request``; raises InputError for bad inputs."""
    check_request(request)
    limits = media.get_limits()
    with timer.stage("audio"):
        samples = media.read_audio(request.audio, SAMPLE_RATE, limits=limits)
        n_frames = frame_count(len(samples) / SAMPLE_RATE, request.fps)
        limits.check_frames(n_frames, "talking-head video")
        track = analyse(samples, request.fps, n_frames)
    with timer.stage("face"):
        source = open_face_input(request.face, request.max_side)
    notes = list(source.notes)
    if track.silent:
        notes.append("The audio is silent (it never rises above -70 dBFS), so the mouth stays "
                     "closed. Check the recording if you expected speech.")
    return Prepared(samples, track, source, notes)


def write_video(request: TalkRequest, prepared: Prepared, frames: Iterable[np.ndarray],
                timer: StageTimer, progress: Progress | None) -> int:
    """Encode ``frames`` (at most ``len(track)``) with the request's audio; returns the count."""
    total = len(prepared.track)
    with timer.stage("frames"), media.VideoWriter(request.output, request.fps,
                                                  audio=request.audio) as writer:
        for frame in frames:
            writer.write(frame)
            if progress and (writer.frames_written % 10 == 0 or writer.frames_written == total):
                progress(writer.frames_written / total, "rendering frames")
    return writer.frames_written


def result(request: TalkRequest, prepared: Prepared, frames: int, timer: StageTimer,
           mouth_open: np.ndarray | None = None,
           motion: dict[str, np.ndarray] | None = None) -> TalkResult:
    return TalkResult(
        video=request.output,
        frames=frames,
        fps=request.fps,
        audio_seconds=prepared.seconds,
        face_box=prepared.source.face.box,
        faces_found=prepared.source.faces_found,
        face_finder=prepared.source.face.source,
        notes=prepared.notes,
        timings=dict(timer.seconds),
        mouth_open=mouth_open,
        motion=motion,
    )
