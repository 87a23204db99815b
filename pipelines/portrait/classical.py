"""The weight-free portrait backend: face-aware warps rendered with ``cv2.remap``.

Per frame, the motions of :mod:`pipelines.portrait.motion` weight the fields of
:mod:`pipelines.portrait.fields` into one displacement map; a virtual camera (zoom, pan, the
orbit's parallax) looks at that warped scene, and one bicubic remap makes the frame. Frames are
rendered when read, so a clip costs two full-size maps of memory however long it is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import overload

import cv2
import numpy as np

from pipelines.errors import InputError
from pipelines.faces import Face
from pipelines.landmarks import find_faces, source_note
from pipelines.portrait.fields import Fields, build_fields, stretch_map
from pipelines.portrait.motion import Choreography, FrameMotion, scaled
from pipelines.portrait.types import AnimateRequest, AnimateResult, check_request
from pipelines.progress import Progress
from pipelines.registry import LoadContext


def working_image(image: np.ndarray, max_side: int) -> tuple[np.ndarray, list[str]]:
    """``image`` shrunk (INTER_AREA) so its longer side is at most ``max_side``, plus a note."""
    height, width = image.shape[:2]
    if max(height, width) <= max_side:
        return image, []
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, [f"The picture ({width}x{height}) was animated at {size[0]}x{size[1]}; raise "
                   "the working size in the advanced settings for a larger video."]


def _min_zoom(size: float, centre: float, shift: float, margin: float) -> float:
    """Smallest zoom about ``centre`` that keeps a view shifted by ``shift`` ``margin`` inside."""
    need = 1.0
    for room, push in ((centre, margin - shift), (size - centre, margin + shift)):
        if push > 0:
            need = max(need, 1.0 / max(1e-3, 1.0 - push / max(room, 1e-3)))
    return need


class ClassicalClip(Sequence[np.ndarray]):
    """The frames of one classical animation, rendered on access (deterministic per index)."""

    def __init__(self, image: np.ndarray, fields: Fields, choreography: Choreography,
                 pan_direction: float):
        self.image = np.ascontiguousarray(image)
        self.fields = fields
        self.choreography = choreography
        self.pan_direction = pan_direction
        height, width = image.shape[:2]
        self._xs, self._ys = np.meshgrid(np.arange(width, dtype=np.float32),
                                         np.arange(height, dtype=np.float32))
        # Zooms centre on the face (kept far enough from the edges to leave room); pans and the
        # orbit's overscan zoom about the picture's centre, which needs the least zoom.
        px, py = fields.pivot
        if choreography.settings.camera in ("zoom_in", "zoom_out"):
            self.pivot = (float(np.clip(px, 0.25 * width, 0.75 * width)),
                          float(np.clip(py, 0.25 * height, 0.75 * height)))
        else:
            self.pivot = (width / 2, height / 2)
        self.gain = self._fold_gain()

    def _fold_gain(self, limit: float = 0.95) -> float:
        """Scale for every warp (not blinks or camera moves) so that no frame folds over.

        Sums each field's local stretch weighted by how far it is pushed, per tile and frame;
        if the worst frame would stretch space by more than ``limit``, the whole clip's motion
        is scaled down (uniformly, so it stays smooth). At ordinary strengths this is 1.
        """
        f = self.fields
        maps = [stretch_map(f.rotation), stretch_map(f.head), stretch_map(f.inner),
                stretch_map(f.breath), stretch_map(f.parallax)]
        short = min(f.width, f.height)
        peak = 0.0
        for index in range(len(self)):
            m = self.choreography.at(index)
            weights = (abs(m.roll), (abs(m.head_dx) + abs(m.head_dy)) * f.face_width,
                       abs(m.turn) * f.face_width, abs(m.breath), float(np.hypot(*m.orbit)) * short)
            if any(weights):
                total = sum(w * s for w, s in zip(weights, maps, strict=True) if w)
                peak = max(peak, float(total.max()))
        return min(1.0, limit / peak) if peak > 0 else 1.0

    def __len__(self) -> int:
        return self.choreography.frames

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...
    @overload
    def __getitem__(self, index: slice) -> list[np.ndarray]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.render(self.motion_at(index % len(self)))

    def motion_at(self, index: int) -> FrameMotion:
        """The motion of frame ``index``, with the clip's fold-guard gain applied."""
        return scaled(self.choreography.at(index), self.gain)

    # -- one frame --------------------------------------------------------------------------
    def displacement(self, motion: FrameMotion) -> np.ndarray:
        """The scene's warp (H, W, 2) in picture pixels: a weighted sum of the fields."""
        f = self.fields
        if motion.roll:
            field = np.float32(motion.roll) * f.rotation
        else:
            field = np.zeros((f.height, f.width, 2), np.float32)
        if motion.head_dx or motion.head_dy:
            field[..., 0] -= (motion.head_dx * f.face_width) * f.head
            field[..., 1] -= (motion.head_dy * f.face_width) * f.head
        if motion.turn:
            field[..., 0] -= (motion.turn * f.face_width) * f.inner
        if motion.breath:
            field += motion.breath * f.breath
        for closure, window in zip(motion.blinks, f.blinks, strict=False):
            if closure > 0:
                field[window.y0:window.y1, window.x0:window.x1] += closure * window.field
        ox, oy = motion.orbit
        if ox or oy:
            short = min(f.width, f.height)
            field[..., 0] += (ox * short) * f.parallax
            field[..., 1] += (oy * short) * f.parallax
        return field

    def camera(self, motion: FrameMotion) -> tuple[float, float, float, float]:
        """(zoom, pan shift in pixels, pivot x, pivot y) keeping every sample inside the picture."""
        f = self.fields
        shift = motion.pan * f.width * self.pan_direction
        ox, oy = motion.orbit
        margin = float(np.hypot(ox, oy)) * min(f.width, f.height) * f.border_parallax
        px, py = self.pivot
        zoom = max(motion.zoom,
                   _min_zoom(f.width, px, shift, margin),
                   _min_zoom(f.height, py, 0.0, margin))
        return zoom, shift, px, py

    def maps(self, motion: FrameMotion) -> tuple[np.ndarray, np.ndarray]:
        """Where each output pixel samples the picture (x map, y map), float32."""
        field = self.displacement(motion)
        zoom, shift, px, py = self.camera(motion)
        if zoom == 1.0 and shift == 0.0:
            return self._xs + field[..., 0], self._ys + field[..., 1]
        cam_x = (self._xs - px) / zoom + (px + shift)
        cam_y = (self._ys - py) / zoom + py
        # The scene's warp, looked at through the camera: sample the field where the camera is.
        moved = cv2.remap(field, cam_x, cam_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return cam_x + moved[..., 0], cam_y + moved[..., 1]

    def render(self, motion: FrameMotion) -> np.ndarray:
        if motion.still:
            return self.image.copy()
        map_x, map_y = self.maps(motion)
        return cv2.remap(self.image, map_x, map_y, cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_REFLECT101)


def pick_face(image: np.ndarray) -> tuple[Face | None, list[str]]:
    """The largest face and what to tell the user about the faces found."""
    faces = find_faces(image)
    if not faces:
        return None, ["No face was found, so only the camera moves (breathing, head sway and "
                      "blinks need a face)."]
    notes = []
    if len(faces) > 1:
        notes.append(f"Found {len(faces)} faces; the largest one is animated.")
    if not faces[0].eyes_detected:
        notes.append("The eyes were placed from the face's shape (not detected); blinks may "
                     "look off. Turn blinks off if they do.")
    return faces[0], notes


class ClassicalAnimator:
    """Runner of ``portrait.classical``: no weights, no torch."""

    device = "cpu"
    dtype = "float32"

    def modules(self) -> dict[str, object]:
        return {}

    def prepare(self, request: AnimateRequest) -> tuple[ClassicalClip, list[str], dict]:
        """Find the face, build the fields and the choreography; returns the lazy clip."""
        check_request(request)
        motion = request.motion
        image, notes = working_image(request.image, motion.max_side)
        face, face_notes = pick_face(image)
        notes += face_notes
        if face is None and motion.camera == "none":
            raise InputError("No face was found in the picture and the camera is still, so "
                             "nothing would move. Pick a camera preset (zoom, pan or orbit).")
        height, width = image.shape[:2]
        fields = build_fields(image, face)
        choreography = Choreography(motion, request.frames, request.fps, request.seed,
                                    face is not None)
        pan_direction = choreography.pan_sign
        if face is not None and abs(face.box.center[0] - width / 2) > 0.05 * width:
            pan_direction = 1.0 if face.box.center[0] > width / 2 else -1.0
        info = {"face": vars(face.box) if face else None, "working_size": [width, height],
                "face_finder": face.source if face else None}
        if face is not None and face.source != "mediapipe":
            info["face_finder_note"] = source_note(face.source)
        return ClassicalClip(image, fields, choreography, pan_direction), notes, info

    def __call__(self, request: AnimateRequest, progress: Progress | None = None
                 ) -> AnimateResult:
        start = time.perf_counter()
        if progress:
            progress(0.0, "finding the face")
        clip, notes, info = self.prepare(request)
        timings = {"analyse": time.perf_counter() - start}
        return AnimateResult(clip, request.fps, notes, timings, info)


def build(ctx: LoadContext) -> ClassicalAnimator:
    return ClassicalAnimator()
