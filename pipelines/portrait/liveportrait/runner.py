"""The LivePortrait runner: loads the five published checkpoints and drives or edits a portrait.

``animate`` follows a driving video: the source's appearance volume and keypoints are computed
once; each driving frame's pose, expression, scale and translation (relative to the driver's
first frame by default) move the source keypoints; the stitching MLP keeps the crop's border
where the full picture expects it; the warping module and SPADE decoder render 512x512; the
render is pasted back into the full picture with a feathered mask, at the source's resolution.

``edit`` changes one picture: head yaw/pitch/roll, smile, brows, gaze (keypoint offsets) and eye
and lip openness (the eye and lip retargeting MLPs), stitched and pasted back the same way.

Faces are found by the caller's boxes or ``find_box`` callable (the studio's landmark model),
else by OpenCV's Haar cascade; InsightFace, which the reference code uses, is not needed.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pipelines import device as dev
from pipelines.errors import InputError, StudioError
from pipelines.portrait.expression import Expression
from pipelines.portrait.liveportrait import motion as mo
from pipelines.portrait.liveportrait.config import RETARGETING_KEYS, load_config
from pipelines.portrait.liveportrait.crop import (
    CROP_SIZE,
    BoxSource,
    BoxTracker,
    Crop,
    PasteBack,
    as_box,
    check_rgb,
    haar_boxes,
)
from pipelines.portrait.liveportrait.networks import NETWORK_FILES, build_networks
from pipelines.progress import Progress
from pipelines.registry import LoadContext

# Openness ratios of a neutral face (eye height / eye width per eye, mouth opening / mouth width)
# assumed when the caller gives none; the retargeting MLPs take the source's ratios as input.
NEUTRAL_EYE_RATIO = 0.32
NEUTRAL_LIP_RATIO = 0.0
# MediaPipe face-mesh indices for those ratios: (upper lid, lower lid, outer corner, inner corner)
_MESH_EYES = ((159, 145, 33, 133), (386, 374, 263, 362))
_MESH_LIPS = (13, 14, 61, 291)  # (upper lip inner, lower lip inner, mouth corners)


def openness_from_mesh(points: np.ndarray) -> tuple[float, float, float]:
    """(left eye, right eye, lips) openness ratios from 468/478 MediaPipe face-mesh points."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] < 468 or pts.shape[1] < 2:
        raise InputError(
            f"Face landmarks must be the 468 MediaPipe face-mesh points; got shape {pts.shape}."
        )

    def ratio(a: int, b: int, c: int, d: int) -> float:
        across = np.linalg.norm(pts[c, :2] - pts[d, :2])
        return float(np.linalg.norm(pts[a, :2] - pts[b, :2]) / (across + 1e-6))

    (l_eye, r_eye), lips = (ratio(*e) for e in _MESH_EYES), ratio(*_MESH_LIPS)
    return l_eye, r_eye, lips


EYES_WIDER = 0.6  # eyes = +1: the eye openness ratio 60% above the source's
LIPS_OPEN = 0.6  # lips = +1: mouth opening 0.6 of the mouth's width more than the source's


@dataclass(frozen=True)
class Edits(Expression):
    """The expression sliders (:class:`pipelines.portrait.expression.Expression`: the same
    fields, ranges and checks as the classical backend) as LivePortrait applies them.

    ``eyes``: +1 opens the eyes 60% wider. ``lips``: +1 opens the mouth by 0.6 of its width.
    Head turns are added in the camera's frame. Eyes and lips go through LivePortrait's
    retargeting MLPs; smile, brow and gaze are offsets of particular implicit keypoints (the
    published editor's), head turns rotate the keypoints.
    """

    @classmethod
    def of(cls, value) -> Edits:
        """From None, a mapping, or any object with these attributes (e.g. an Expression)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        names = [f.name for f in dataclasses.fields(cls)]
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(names))
            if unknown:
                raise InputError(f"Unknown expression setting(s) {', '.join(unknown)}; the "
                                 f"settings are {', '.join(names)}.")  # fmt: skip
            return cls(**value)
        return cls(**{n: getattr(value, n) for n in names if hasattr(value, n)})

    def eye_target(self, left: float, right: float) -> float:
        mean = (left + right) / 2
        return mean * (1 + EYES_WIDER * self.eyes) if self.eyes > 0 else mean * (1 + self.eyes)

    def lip_target(self, lip: float) -> float:
        return lip + LIPS_OPEN * self.lips if self.lips > 0 else lip * (1 + self.lips)

    def apply(self, kp, rot, exp, scale, t) -> torch.Tensor:
        """Keypoints ``scale * (kp @ rot' + exp') + t`` with the head turn and the keypoint
        offsets of these edits (eyes and lips are added separately, by the MLPs)."""
        if self.yaw or self.pitch or self.roll:
            angles = [torch.tensor([v], device=kp.device) for v in (self.pitch, self.yaw,
                                                                    self.roll)]  # fmt: skip
            rot = rot @ mo.rotation(*angles)
        if self.smile or self.brow or any(self.gaze):
            exp = mo.edit_expression(exp, smile=self.smile, brow=self.brow,
                                     gaze_x=self.gaze[0], gaze_y=self.gaze[1])  # fmt: skip
        return mo.compose(kp, rot, exp, scale, t)


def source_openness(ratios=None, landmarks=None) -> tuple[float, float, float]:
    """(left eye, right eye, lips) openness of the source: given, measured, or neutral."""
    if ratios is not None:
        values = tuple(float(v) for v in ratios)
        if len(values) != 3 or not all(0 <= v < 2 for v in values):
            raise InputError("source_ratios must be three openness ratios (left eye, right eye, "
                             f"lips), each from 0 to 2; got {ratios!r}.")  # fmt: skip
        return values  # type: ignore[return-value]
    if landmarks is not None:
        return openness_from_mesh(getattr(landmarks, "points", landmarks))
    return NEUTRAL_EYE_RATIO, NEUTRAL_EYE_RATIO, NEUTRAL_LIP_RATIO


def _strip_ddp(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("module."): v for k, v in state.items()}


def _read(path, spec_id: str) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated download or a pickle that is not plain tensors
        raise StudioError(
            f"'{spec_id}': {path.name} cannot be read as a checkpoint ({type(err).__name__}: "
            f"{err}). Delete it and run `python cli.py fetch {spec_id}` again."
        ) from err


def _load_into(module: torch.nn.Module, state: Any, name: str, spec_id: str) -> None:
    if not isinstance(state, dict):
        raise StudioError(f"'{spec_id}': {name} holds no state dict.")
    try:
        module.load_state_dict(_strip_ddp(state), strict=True)
    except RuntimeError as err:
        raise StudioError(
            f"'{spec_id}': {name} does not fit LivePortrait's {type(module).__name__} "
            f"({str(err).splitlines()[0]}). Use the files of KlingTeam/LivePortrait's "
            "liveportrait/ folder (not liveportrait_animals)."
        ) from err


def load_networks(ctx: LoadContext) -> dict[str, torch.nn.Module]:
    """The seven networks of ``ctx``'s weights folder, on the CPU, in eval mode."""
    nets = build_networks(load_config(ctx.weights))
    for key in ("appearance_feature_extractor", "motion_extractor", "warping_module",
                "spade_generator"):  # fmt: skip
        path = ctx.file(NETWORK_FILES[key])
        _load_into(nets[key], _read(path, ctx.spec.id), path.name, ctx.spec.id)
    path = ctx.file(NETWORK_FILES["stitching_retargeting_module"])
    bundle = _read(path, ctx.spec.id)
    for key, entry in RETARGETING_KEYS.items():
        if not isinstance(bundle, dict) or entry not in bundle:
            raise StudioError(f"'{ctx.spec.id}': {path.name} has no '{entry}' entry.")
        _load_into(nets[key], bundle[entry], f"{path.name}['{entry}']", ctx.spec.id)
    for net in nets.values():
        net.eval().requires_grad_(False)
    return nets


class LivePortraitRunner:
    """Holds the networks on one device; see the module docstring for what it does."""

    def __init__(self, nets: dict[str, torch.nn.Module], device: str = "cpu", dtype="float32"):
        from pipelines.portrait.liveportrait.blocks import fold_spectral_norm

        fold_spectral_norm(nets["spade_generator"])
        self.device = device
        self.dtype = dtype
        self._nets = {k: n.to(device) for k, n in nets.items()}
        self.notes: dict[str, Any] = {}  # facts about the last run (frames, lost faces, ...)

    def modules(self) -> dict[str, torch.nn.Module]:
        return dict(self._nets)

    # ---------------------------------------------------------------------------------------
    # Network calls

    def _autocast(self):
        if self.dtype == "float32":
            return contextlib.nullcontext()
        return torch.autocast(dev.device_type(self.device), dtype=dev.torch_dtype(self.dtype))

    def _tensor(self, crop_rgb: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(crop_rgb).to(self.device).permute(2, 0, 1)[None]
        return x.float().div_(255.0)

    def _keypoints(self, x: torch.Tensor) -> mo.KeypointInfo:
        with self._autocast():
            raw = self._nets["motion_extractor"](x)
        return mo.KeypointInfo.from_raw(raw)

    def _appearance(self, x: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            return self._nets["appearance_feature_extractor"](x).float()

    def _stitch(self, x_s: torch.Tensor, x_d: torch.Tensor) -> torch.Tensor:
        b, k = x_s.shape[:2]
        delta = self._nets["stitching"](torch.cat([x_s.view(b, -1), x_d.view(b, -1)], dim=1))
        out = x_d + delta[:, : 3 * k].view(b, k, 3)
        out[..., :2] += delta[:, 3 * k : 3 * k + 2].view(b, 1, 2)
        return out

    def _render(self, f_s: torch.Tensor, x_s: torch.Tensor, x_d: torch.Tensor) -> np.ndarray:
        with self._autocast():
            warped = self._nets["warping_module"](f_s, kp_driving=x_d, kp_source=x_s)
            image = self._nets["spade_generator"](warped["out"])
        image = image.float().clamp_(0, 1)[0].permute(1, 2, 0)
        return (image * 255 + 0.5).to(torch.uint8).cpu().numpy()

    def _retarget(self, x_s: torch.Tensor, edits: Edits, ratios) -> torch.Tensor | float:
        """Keypoint offsets from the eye and lip retargeting MLPs for ``edits``' openness."""
        left, right, lip = ratios
        flat = x_s.reshape(1, -1)
        delta: torch.Tensor | float = 0.0

        def run(net: str, values: list[float]) -> torch.Tensor:
            extra = torch.tensor([values], dtype=torch.float32, device=x_s.device)
            return self._nets[net](torch.cat([flat, extra], dim=1)).view(1, -1, 3)

        if edits.eyes:
            delta = delta + run("eye", [left, right, edits.eye_target(left, right)])
        if edits.lips:
            delta = delta + run("lip", [lip, edits.lip_target(lip)])
        return delta

    def _source_crop(self, rgb: np.ndarray, crop_box, face_index: int | None) -> Crop:
        if callable(crop_box):
            box = as_box(crop_box(rgb))
            how = "the given face finder"
        elif crop_box is not None:
            box = as_box(crop_box)
            how = "the given box"
        else:
            boxes = haar_boxes(rgb)
            index = face_index or 0
            if boxes and not 0 <= index < len(boxes):
                raise InputError(
                    f"Face {index} was asked for but the source picture shows {len(boxes)} "
                    f"face(s); pick a face index from 0 to {len(boxes) - 1} (largest first)."
                )
            box = boxes[index] if boxes else None
            how = "Haar cascade"
            self.notes["source_faces"] = len(boxes)
        if box is None:
            raise InputError(
                "No face was found in the source picture. Use a picture with a clear, "
                "front-facing face, or give its face box."
            )
        self.notes["face_source"] = how
        return Crop.around(box)

    def _prepare(self, source, crop):
        with torch.inference_mode():
            x = self._tensor(crop.cut(source))
            info = self._keypoints(x)
            return info, self._appearance(x), mo.source_keypoints(info)

    # ---------------------------------------------------------------------------------------
    # Public API

    def animate(
        self,
        source_rgb: np.ndarray,
        driving_frames: Iterable[np.ndarray],
        *,
        crop_box=None,
        driving_boxes: BoxSource = None,
        relative: bool = True,
        stitching: bool = True,
        face_index: int | None = None,
        expression=None,
        source_ratios: tuple[float, float, float] | None = None,
        landmarks=None,
        progress: Progress | None = None,
    ) -> Iterator[np.ndarray]:
        """Frames of the source picture following ``driving_frames``, at the source's size.

        ``crop_box``: the source's face (x, y, w, h), a ``find_box(rgb)`` callable, or None for
        Haar detection (``face_index`` picks among several, largest first). ``driving_boxes``:
        per-frame boxes, a callable, or None (each driving frame's centre square is the
        driver's crop, LivePortrait's own default). A driving frame whose face is lost reuses
        the last good box; ``self.notes["lost_faces"]`` counts them. ``expression``: edits
        (see :class:`Edits`) applied on top of every frame. Raises InputError at the call when
        the source has no face.
        """
        source = check_rgb(source_rgb, "source picture")
        edits = Edits.of(expression)
        ratios = source_openness(source_ratios, landmarks)
        crop = self._source_crop(source, crop_box, face_index)
        self.notes.update(frames=0, lost_faces=0, relative=relative, stitching=stitching)
        return self._frames(source, crop, driving_frames, BoxTracker(driving_boxes), relative,
                            stitching, edits, ratios, progress)  # fmt: skip

    def _frames(self, source, crop, driving_frames, tracker, relative, stitching, edits, ratios,
                progress):  # fmt: skip
        total = len(driving_frames) if hasattr(driving_frames, "__len__") else None
        # inference_mode is entered per step, never held across a ``yield``: the caller's code
        # between frames must not run in inference mode.
        source_info, f_s, x_s = self._prepare(source, crop)
        with torch.inference_mode():
            retarget = self._retarget(x_s, edits, ratios)
        paste = None
        first = None
        for i, frame in enumerate(driving_frames):
            frame = check_rgb(frame, f"driving frame {i + 1}")
            d_crop = tracker.crop_for(i, frame)
            with torch.inference_mode():
                info = self._keypoints(self._tensor(d_crop.cut(frame)))
                if first is None:
                    first = info
                pose = mo.driven_pose(source_info, info, first, relative)
                x_d = edits.apply(source_info.kp, *pose) + retarget
                if stitching:
                    x_d = self._stitch(x_s, x_d)
                rendered = self._render(f_s, x_s, x_d)
            if paste is None:
                paste = PasteBack(source, crop, rendered.shape[0])
            self.notes.update(frames=i + 1, lost_faces=tracker.lost)
            if progress is not None:
                frac = (i + 1) / total if total else 0.0
                progress(min(1.0, frac), f"LivePortrait frame {i + 1}")
            yield paste(rendered)
        if first is None:
            raise InputError("The driving video has no frames; use a video with at least one.")

    def edit(
        self,
        source_rgb: np.ndarray,
        *,
        crop_box=None,
        eyes: float | None = None,
        lips: float | None = None,
        smile: float = 0.0,
        brow: float = 0.0,
        yaw: float = 0.0,
        pitch: float = 0.0,
        roll: float = 0.0,
        gaze: tuple[float, float] = (0.0, 0.0),
        face_index: int | None = None,
        source_ratios: tuple[float, float, float] | None = None,
        landmarks=None,
        stitching: bool = True,
    ) -> np.ndarray:
        """One picture with its expression and head pose edited, at the source's size.

        Sliders as in :class:`Edits` (the classical backend's meanings): ``eyes``, ``lips``,
        ``smile``, ``brow`` in [-1, 1] (None or 0 leaves them), ``yaw``/``pitch``/``roll`` in
        degrees, ``gaze`` (x, y) in [-1, 1]. The eye and lip retargeting MLPs take the source's
        own openness: ``source_ratios`` (left eye, right eye, lips), else measured from
        ``landmarks`` (468 MediaPipe face-mesh points or an object with ``.points``), else a
        neutral face's.
        """
        source = check_rgb(source_rgb, "source picture")
        edits = Edits(eyes or 0.0, lips or 0.0, smile, brow, yaw, pitch, roll, gaze)
        ratios = source_openness(source_ratios, landmarks)
        crop = self._source_crop(source, crop_box, face_index)
        info, f_s, x_s = self._prepare(source, crop)
        with torch.inference_mode():
            rot = info.rotation
            x_d = edits.apply(info.kp, rot, info.exp, info.scale, info.t)
            x_d = x_d + self._retarget(x_s, edits, ratios)
            if stitching:
                x_d = self._stitch(x_s, x_d)
            rendered = self._render(f_s, x_s, x_d)
        self.notes["edit"] = dataclasses.asdict(edits)
        return PasteBack(source, crop, rendered.shape[0])(rendered)


def build(ctx: LoadContext) -> LivePortraitRunner:
    """Registry builder: the published networks (or a folder's tiny ones) on ``ctx.device``."""
    return LivePortraitRunner(load_networks(ctx), device=ctx.device, dtype=ctx.dtype)


__all__ = [
    "CROP_SIZE",
    "Edits",
    "LivePortraitRunner",
    "build",
    "load_networks",
    "openness_from_mesh",
    "source_openness",
]
