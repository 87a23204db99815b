"""The face a talking head animates: a still portrait or a short video, frame by frame.

Both kinds yield ``(frame, face)`` pairs at the output frame rate, for as many frames as the
audio needs. A still gets blinks, brows and head movements that follow the speech (and, for the
classical backend, the talking mouth); a video is resampled to the output rate, looped when
the audio is longer, and its face is tracked (detected every few frames, smoothed between
detections).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines import media
from pipelines.errors import InputError
from pipelines.faces import Box, Face
from pipelines.landmarks import find_faces
from pipelines.talking_head.analysis import MouthTrack
from pipelines.talking_head.motion import (
    BrowRig,
    EyeRig,
    HeadRig,
    MouthRig,
    SpeechMotion,
    speech_motion,
    speech_poses,
)
from pipelines.talking_head.types import TalkRequest

DETECT_EVERY = 5  # video: find the face again every this many output frames
SMOOTHING = 0.5  # video: how far a new detection moves the tracked box (0..1)
FACE_HINT = (
    "Use a portrait where one face looks at the camera, evenly lit and at least about 80 pixels "
    "tall, or crop the picture closer to the face."
)


def no_face_error(name: str, what: str = "image") -> InputError:
    return InputError(f"No face was found in the {what} '{name}'. {FACE_HINT}")


def moved_face(face: Face, box: Box) -> Face:
    """``face`` with its eyes and mouth carried along when its box moves and scales to ``box``."""
    sx, sy = box.w / max(1, face.box.w), box.h / max(1, face.box.h)

    def carry(part: Box) -> Box:
        x = box.x + (part.x - face.box.x) * sx
        y = box.y + (part.y - face.box.y) * sy
        return Box(round(x), round(y), round(part.w * sx), round(part.h * sy))

    left, right = face.eyes
    return Face(box, (carry(left), carry(right)), carry(face.mouth), face.eyes_detected)


def _pick(faces: list[Face], name: str, what: str, notes: list[str]) -> Face:
    if not faces:
        raise no_face_error(name, what)
    if len(faces) > 1:
        box = faces[0].box
        notes.append(
            f"Found {len(faces)} faces in the {what}; animating the largest one (at x={box.x}, "
            f"y={box.y}, {box.w}x{box.h} pixels). Crop the {what} to animate another."
        )
    return faces[0]


@dataclass
class StillPortrait:
    """A portrait image that blinks, moves its head a little and (optionally) talks."""

    rgb: np.ndarray
    face: Face
    faces_found: int
    notes: list[str] = field(default_factory=list)

    def motion(self, track: MouthTrack, request: TalkRequest) -> SpeechMotion:
        """The head turns, nods, brows and blinks that go with ``track``'s speech (seeded)."""
        return speech_motion(track.loudness, track.pitch, track.fps,
                             np.random.default_rng(request.seed), request.head_motion,
                             request.blinks)

    def frames(self, track: MouthTrack, request: TalkRequest, talk: bool,
               motion: SpeechMotion | None = None) -> Iterator[tuple[np.ndarray, Face]]:
        """``len(track)`` frames with the request's blinks and head motion (``motion``, else
        :meth:`motion`) following the speech; the mouth follows ``track`` when ``talk`` is set.
        Frames are made one at a time, so memory does not grow with the audio's length."""
        n = len(track)
        motion = motion if motion is not None else self.motion(track, request)
        poses = speech_poses(motion, self.face.box)
        mouth = MouthRig(self.rgb, self.face, request.mouth_strength) if talk else None
        eyes = EyeRig(self.rgb, self.face) if request.blinks else None
        brows = BrowRig(self.rgb, self.face) if request.head_motion > 0 else None
        head = HeadRig(self.rgb, self.face)
        for i in range(n):
            frame = self.rgb.copy()
            if mouth is not None:
                mouth.apply(frame, float(track.open[i]), float(track.shape[i]))
            if brows is not None:
                brows.apply(frame, float(motion.brow[i]) * min(1.0, 2 * request.head_motion))
            if eyes is not None:
                eyes.apply(frame, float(motion.blink[i]))
            head.apply(frame, poses[i])
            yield frame, moved_face(self.face, head.move_box(self.face.box, poses[i]))


@dataclass
class FaceVideo:
    """A short video of a face, resampled to the output rate and looped as needed."""

    info: media.VideoInfo
    face: Face  # in the first frame, after scaling to max_side
    faces_found: int
    max_side: int
    notes: list[str] = field(default_factory=list)

    def _resampled(self, n: int, fps: float) -> Iterator[np.ndarray]:
        produced = 0
        while produced < n:
            start = produced
            step = self.info.fps / fps  # source frames per output frame
            for index, frame in media.iter_frames(self.info.path, max_side=self.max_side):
                while produced < n and int((produced - start) * step + 1e-6) == index:
                    yield frame
                    produced += 1
                if produced >= n:
                    return
            if produced == start:
                raise InputError(f"The video '{Path(self.info.path).name}' has no frames to use. "
                                 f"{media.VIDEO_HINT}")

    def frames(self, track: MouthTrack, request: TalkRequest,
               talk: bool) -> Iterator[tuple[np.ndarray, Face]]:
        """``len(track)`` frames with the tracked face; the mouth talks when ``talk`` is set.
        The video keeps its own blinks and head motion."""
        face = self.face
        box = np.array([face.box.x, face.box.y, face.box.w, face.box.h], np.float64)
        for i, frame in enumerate(self._resampled(len(track), track.fps)):
            frame = frame.copy()
            if i % DETECT_EVERY == 0 and i:
                found = find_faces(frame)
                if found:
                    near = min(found, key=lambda f: abs(f.box.center[0] - face.box.center[0])
                               + abs(f.box.center[1] - face.box.center[1]))
                    target = np.array([near.box.x, near.box.y, near.box.w, near.box.h])
                    box += SMOOTHING * (target - box)
                    face = near
            face = moved_face(face, Box(*(round(v) for v in box)))
            if talk:
                MouthRig(frame, face, request.mouth_strength).apply(
                    frame, float(track.open[i]), float(track.shape[i]))
            yield frame, face


def open_face_input(path: Path, max_side: int) -> StillPortrait | FaceVideo:
    """Load a portrait image or a face video and find its face (the largest, with a note)."""
    path = Path(path)
    try:
        image = media.load_image(path)
    except InputError as image_error:
        try:
            info = media.probe_video(path)
        except InputError:
            raise InputError(
                f"The face input '{path.name}' is neither a readable image nor a readable video. "
                f"{media.IMAGE_HINT} Or upload a short MP4, MOV or WebM video of a face."
            ) from image_error
        return _open_video(info, max_side)
    notes: list[str] = []
    rgb = media.resize_max_side(image.rgb, max_side)
    if rgb is not image.rgb:
        notes.append(f"The portrait was scaled from {image.width}x{image.height} to "
                     f"{rgb.shape[1]}x{rgb.shape[0]} pixels (the longer side limit is {max_side}).")
    faces = find_faces(rgb)
    face = _pick(faces, path.name, "image", notes)
    return StillPortrait(np.ascontiguousarray(rgb), face, len(faces), notes)


def _open_video(info: media.VideoInfo, max_side: int) -> FaceVideo:
    name = Path(info.path).name
    notes = ["The face comes from a video: its own blinks and head motion are kept."]
    faces: list[Face] = []
    for index, frame in media.iter_frames(info.path, max_side=max_side,
                                          end=max(1, round(info.fps)), stride=5):
        faces = find_faces(frame)
        if faces:
            if index:
                notes.append(f"The face first shows at frame {index}; earlier frames use its box.")
            break
    face = _pick(faces, name, "video", notes)
    return FaceVideo(info, face, len(faces), max_side, notes)
