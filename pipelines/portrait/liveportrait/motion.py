"""LivePortrait's implicit-keypoint algebra: pose bins to angles, rotations, the keypoint
transform ``x = s * (x_c R + exp) + t``, relative and absolute motion, and expression edits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

BIN_DEGREES = 3.0  # each of the 66 pose bins spans 3 degrees ...
BIN_OFFSET = 97.5  # ... and the expectation is shifted so bin 32.5 is 0 degrees


def bins_to_degrees(logits: torch.Tensor) -> torch.Tensor:
    """(B, bins) pose logits -> (B,) angle in degrees (softmax expectation over the bins)."""
    idx = torch.arange(logits.shape[1], dtype=torch.float32, device=logits.device)
    return (F.softmax(logits.float(), dim=1) * idx).sum(dim=1) * BIN_DEGREES - BIN_OFFSET


def rotation(pitch: torch.Tensor, yaw: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """(B,) angles in degrees -> (B, 3, 3), the transpose of Rz @ Ry @ Rx (keypoints are rows,
    so they rotate as ``kp @ R``)."""
    x, y, z = (a.float().reshape(-1) * (math.pi / 180) for a in (pitch, yaw, roll))
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rx = torch.stack([one, zero, zero, zero, x.cos(), -x.sin(), zero, x.sin(), x.cos()], 1)
    ry = torch.stack([y.cos(), zero, y.sin(), zero, one, zero, -y.sin(), zero, y.cos()], 1)
    rz = torch.stack([z.cos(), -z.sin(), zero, z.sin(), z.cos(), zero, zero, zero, one], 1)
    rx, ry, rz = (m.view(-1, 3, 3) for m in (rx, ry, rz))
    return (rz @ ry @ rx).transpose(1, 2)


@dataclass
class KeypointInfo:
    """The motion extractor's output, refined: angles in degrees, keypoints as (B, K, 3)."""

    kp: torch.Tensor  # canonical keypoints (B, K, 3)
    pitch: torch.Tensor  # (B,)
    yaw: torch.Tensor
    roll: torch.Tensor
    t: torch.Tensor  # (B, 3)
    exp: torch.Tensor  # (B, K, 3)
    scale: torch.Tensor  # (B, 1)

    @classmethod
    def from_raw(cls, raw: dict[str, torch.Tensor]) -> KeypointInfo:
        b = raw["kp"].shape[0]
        return cls(
            kp=raw["kp"].float().reshape(b, -1, 3),
            pitch=bins_to_degrees(raw["pitch"]),
            yaw=bins_to_degrees(raw["yaw"]),
            roll=bins_to_degrees(raw["roll"]),
            t=raw["t"].float(),
            exp=raw["exp"].float().reshape(b, -1, 3),
            scale=raw["scale"].float(),
        )

    @property
    def rotation(self) -> torch.Tensor:
        return rotation(self.pitch, self.yaw, self.roll)


def compose(
    kp: torch.Tensor, rot: torch.Tensor, exp: torch.Tensor, scale: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """``scale * (kp @ rot + exp) + t`` with t's depth component ignored (as published)."""
    shift = t.clone()
    shift[..., 2] = 0
    return scale[..., None] * (kp @ rot + exp) + shift[:, None, :]


def source_keypoints(info: KeypointInfo) -> torch.Tensor:
    return compose(info.kp, info.rotation, info.exp, info.scale, info.t)


Pose = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # rot, exp, scale, t


def driven_pose(
    source: KeypointInfo, driving: KeypointInfo, first: KeypointInfo, relative: bool
) -> Pose:
    """Rotation, expression, scale and translation for the source moved by one driving frame.

    Relative (default): the driver's change since its first frame is applied to the source's own
    pose, expression, scale and translation, so the first output frame is the source itself.
    Absolute: the driver's rotation, expression and translation replace the source's (its scale
    is kept, so a driver filmed closer does not zoom the portrait).
    """
    if relative:
        rot = driving.rotation @ first.rotation.transpose(1, 2) @ source.rotation
        exp = source.exp + (driving.exp - first.exp)
        scale = source.scale * (driving.scale / first.scale)
        t = source.t + (driving.t - first.t)
        return rot, exp, scale, t
    return driving.rotation, driving.exp, source.scale, driving.t


def driven_keypoints(
    source: KeypointInfo, driving: KeypointInfo, first: KeypointInfo, relative: bool
) -> torch.Tensor:
    """The source's keypoints moved by one driving frame (see :func:`driven_pose`)."""
    return compose(source.kp, *driven_pose(source, driving, first, relative))


# --------------------------------------------------------------------------------------------
# Expression edits: offsets of particular implicit keypoints, as in LivePortrait's own editor.
# Slider values here are in [-1, 1]; the published editor's units are multiplied in.

EYEBROW_UNITS = 20.0  # brow = 1 -> the published editor's eyebrow slider at 20 (of +-30)
GAZE_UNITS = 20.0  # gaze = 1 -> eyeball direction 20 (of +-30)


def edit_expression(
    exp: torch.Tensor, *, smile: float = 0.0, brow: float = 0.0, gaze_x=0.0, gaze_y=0.0
) -> torch.Tensor:
    """A copy of ``exp`` (1, 21, 3) with smile / brow / gaze offsets added."""
    e = exp.clone()
    if smile:
        for kp, axis, gain in (
            (20, 1, -0.01), (14, 1, -0.02), (17, 1, 0.0065), (17, 2, 0.003),
            (13, 1, -0.00275), (16, 1, -0.00275), (3, 1, -0.0035), (7, 1, -0.0035),
        ):  # fmt: skip
            e[0, kp, axis] += smile * gain
    if brow:
        v = brow * EYEBROW_UNITS
        if v > 0:
            e[0, 1, 1] += v * 0.001
            e[0, 2, 1] -= v * 0.001
        else:
            e[0, 1, 0] -= v * 0.001
            e[0, 2, 0] += v * 0.001
            e[0, 1, 1] += v * 0.0003
            e[0, 2, 1] -= v * 0.0003
    if gaze_x or gaze_y:
        gx, gy = gaze_x * GAZE_UNITS, gaze_y * GAZE_UNITS
        near, far = (0.0007, 0.001) if gx > 0 else (0.001, 0.0007)
        e[0, 11, 0] += gx * near
        e[0, 15, 0] += gx * far
        e[0, 11, 1] -= gy * 0.001
        e[0, 15, 1] -= gy * 0.001
        blink = -gy / 2  # looking down lowers the lids a little
        e[0, 11, 1] -= blink * 0.001
        e[0, 13, 1] += blink * 0.0003
        e[0, 15, 1] -= blink * 0.001
        e[0, 16, 1] += blink * 0.0003
    return e
