"""RIFE (Huang et al., "Real-Time Intermediate Flow Estimation for Video Frame Interpolation",
ECCV 2022): the IFNet of Practical-RIFE v4.6, written here from the paper and the published
architecture, loading the published ``flownet.pkl`` as is.

IFNet estimates the two flows from the new frame to its neighbours and a fusion mask directly,
coarse to fine, with four IFBlocks at 1/8, 1/4, 1/2 and full scale. Block 0 sees both frames
and the timestep map (7 channels); each later block sees both frames warped by the current
flows, the timestep and the mask (8 channels) plus the flows themselves (4) and adds a residual
flow and mask. An IFBlock: two stride-2 3x3 convolutions with LeakyReLU(0.2) (``conv0``), eight
residual 3x3 convolutions scaled by a learned per-channel ``beta`` (``convblock``), and a
stride-2 transposed 4x4 convolution to 24 channels followed by a pixel shuffle (``lastconv``):
6 maps at twice the block's input resolution, of which 4 are flows and 1 is the mask. The frame
is ``sigmoid(mask) * warp(a, Ft0) + (1 - sigmoid(mask)) * warp(b, Ft1)``. Any timestep works.

State-dict names (the checkpoint's, with DataParallel's ``module.`` prefix removed):
``block{0..3}.conv0.{0,1}.0.{weight,bias}``, ``block{0..3}.convblock.{0..7}.{conv.weight,
conv.bias,beta}``, ``block{0..3}.lastconv.0.{weight,bias}``; widths 192, 128, 96, 64.

Frames are padded (edge-replicated) to a multiple of 32 pixels (64 when flow runs at half
resolution, which frames wider than 2560 pixels use, as Practical-RIFE recommends for 4K), run
in float16 on CUDA, and several timesteps of one pair run as one batch.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pipelines.errors import StudioError
from pipelines.interpolate.types import InterpolateRequest, InterpolateResult
from pipelines.progress import Progress

log = logging.getLogger(__name__)

WIDTHS = (192, 128, 96, 64)  # Practical-RIFE v4.6
RESIDUALS = 8
CHECKPOINT = "flownet.pkl"
HALF_SCALE_SIDE = 2560  # frames wider than this estimate flow at half resolution
MAX_BATCH = 4


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp: ``image`` sampled at ``x + flow(x)`` (flow in pixels, border clamped)."""
    height, width = flow.shape[2:]
    ys = torch.linspace(-1.0, 1.0, height, device=flow.device)
    xs = torch.linspace(-1.0, 1.0, width, device=flow.device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    flow = flow.float()  # sampling positions in float32 even when the network runs in float16
    gx = grid_x + flow[:, 0] * (2.0 / max(width - 1, 1))
    gy = grid_y + flow[:, 1] * (2.0 / max(height - 1, 1))
    grid = torch.stack((gx, gy), dim=3)
    return F.grid_sample(image, grid.to(image.dtype), mode="bilinear", padding_mode="border",
                         align_corners=True)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True))


class ResConv(nn.Module):
    """``LeakyReLU(conv(x) * beta + x)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.relu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x) * self.beta + x)


class IFBlock(nn.Module):
    def __init__(self, in_channels: int, width: int):
        super().__init__()
        self.conv0 = nn.Sequential(_conv(in_channels, width // 2, 2), _conv(width // 2, width, 2))
        self.convblock = nn.Sequential(*(ResConv(width) for _ in range(RESIDUALS)))
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(width, 4 * 6, 4, 2, 1),
                                      nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None,
                scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        if scale != 1:
            x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            if scale != 1:
                flow = F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear",
                                     align_corners=False) / scale
            x = torch.cat((x, flow), 1)
        out = self.lastconv(self.convblock(self.conv0(x)))
        if scale != 1:
            out = F.interpolate(out, scale_factor=scale, mode="bilinear", align_corners=False)
        return out[:, :4] * scale, out[:, 4:5]


class IFNet(nn.Module):
    """Four IFBlocks, coarse to fine; ``forward(a, b, t)`` returns the frame at time ``t``."""

    def __init__(self, widths: Sequence[int] = WIDTHS):
        super().__init__()
        if len(widths) != 4:
            raise ValueError("IFNet has four blocks")
        self.block0 = IFBlock(7, widths[0])
        self.block1 = IFBlock(8 + 4, widths[1])
        self.block2 = IFBlock(8 + 4, widths[2])
        self.block3 = IFBlock(8 + 4, widths[3])

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, timestep: torch.Tensor,
                scale: float = 1.0) -> torch.Tensor:
        scales = (8 / scale, 4 / scale, 2 / scale, 1 / scale)
        blocks = (self.block0, self.block1, self.block2, self.block3)
        flow, mask = blocks[0](torch.cat((img0, img1, timestep), 1), None, scales[0])
        warped0, warped1 = warp(img0, flow[:, :2]), warp(img1, flow[:, 2:4])
        for block, s in zip(blocks[1:], scales[1:], strict=True):
            x = torch.cat((warped0, warped1, timestep, mask), 1)
            d_flow, d_mask = block(x, flow, s)
            flow, mask = flow + d_flow, mask + d_mask
            warped0, warped1 = warp(img0, flow[:, :2]), warp(img1, flow[:, 2:4])
        weight = torch.sigmoid(mask)
        return warped0 * weight + warped1 * (1 - weight)


# ----------------------------------------------------------------------------------------------
# Checkpoint


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of ``flownet.pkl`` (or of the ``flownet.pkl`` inside a Practical-RIFE release
    zip), read with ``weights_only=True``, ``module.`` prefixes removed."""
    path = Path(path)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(CHECKPOINT)]
            if not names:
                raise StudioError(f"The RIFE archive '{path.name}' holds no {CHECKPOINT}. Fetch "
                                  "the backend's files again.")
            data = io.BytesIO(archive.read(sorted(names, key=len)[0]))
        state = torch.load(data, map_location="cpu", weights_only=True)
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise StudioError(f"'{path.name}' is not a RIFE state dict. Fetch the backend's files "
                          "again.")
    return {k.removeprefix("module."): v for k, v in state.items() if torch.is_tensor(v)}


def widths_of(state: dict[str, torch.Tensor]) -> tuple[int, ...]:
    """Block widths recorded in a state dict (the published v4.6 has 192, 128, 96, 64)."""
    try:
        return tuple(int(state[f"block{i}.conv0.1.0.weight"].shape[0]) for i in range(4))
    except KeyError as err:
        raise StudioError(f"The checkpoint is not a RIFE v4.6 IFNet: it has no {err.args[0]}. "
                          "Fetch the backend's files again.") from None


def load_ifnet(state: dict[str, torch.Tensor]) -> IFNet:
    """An IFNet holding ``state``; every parameter must be present with its exact shape (extra
    entries, such as a training-time teacher block, are ignored and logged)."""
    model = IFNet(widths_of(state))
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or wrong:
        raise StudioError(f"The RIFE checkpoint does not fit IFNet v4.6 (missing: {missing[:3]}, "
                          f"wrong shape: {wrong[:3]}). Fetch the backend's files again.")
    extra = sorted(set(state) - set(own))
    if extra:
        log.info("ignoring %d checkpoint entries not used for inference: %s", len(extra),
                 extra[:4])
    model.load_state_dict({k: state[k] for k in own})
    return model.eval()


# ----------------------------------------------------------------------------------------------
# Runner


class RifeInterpolator:
    """Pair interpolator around an IFNet on one device and dtype."""

    spec_id = "interpolate.rife"

    def __init__(self, model: IFNet, device: str = "cpu", dtype: str = "float32"):
        self.device = device
        self.dtype = dtype
        self._torch_dtype = torch.float16 if dtype == "float16" else torch.float32
        self.model = model.to(device=device, dtype=self._torch_dtype).eval()

    def modules(self) -> dict:
        return {"ifnet": self.model}

    def _tensor(self, frame: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device)
        return x.permute(2, 0, 1)[None].to(self._torch_dtype) / 255.0

    def _pair(self, a: np.ndarray, b: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, float]:
        """Both frames as tensors, padded (edge pixels repeated) to the multiple the network's
        scale needs, and that scale (half size above :data:`HALF_SCALE_SIDE`)."""
        if a.shape != b.shape:
            raise ValueError(f"frames differ in shape: {a.shape} and {b.shape}")
        height, width = a.shape[:2]
        scale = 0.5 if max(height, width) > HALF_SCALE_SIDE else 1.0
        multiple = int(32 / scale)
        pad_h, pad_w = (-height) % multiple, (-width) % multiple
        img0, img1 = self._tensor(a), self._tensor(b)
        if pad_h or pad_w:
            img0 = F.pad(img0, (0, pad_w, 0, pad_h), mode="replicate")
            img1 = F.pad(img1, (0, pad_w, 0, pad_h), mode="replicate")
        return img0, img1, scale

    @torch.inference_mode()
    def between(self, a: np.ndarray, b: np.ndarray, times: Sequence[float]) -> list[np.ndarray]:
        """Frames at fractional times ``0 < t < 1`` between ``a`` and ``b`` (RGB uint8)."""
        img0, img1, scale = self._pair(a, b)
        if not times:
            return []
        height, width = a.shape[:2]
        out: list[np.ndarray] = []
        for start in range(0, len(times), MAX_BATCH):
            chunk = [float(t) for t in times[start:start + MAX_BATCH]]
            n = len(chunk)
            step = torch.tensor(chunk, device=self.device, dtype=self._torch_dtype)
            step = step.view(n, 1, 1, 1).expand(n, 1, *img0.shape[2:])
            frames = self.model(img0.expand(n, -1, -1, -1), img1.expand(n, -1, -1, -1), step,
                                scale)
            frames = frames[:, :, :height, :width].float().clamp(0, 1).mul(255).round()
            out += list(frames.byte().permute(0, 2, 3, 1).cpu().numpy())
        return out

    def __call__(self, request: InterpolateRequest,
                 progress: Progress | None = None) -> InterpolateResult:
        from pipelines.interpolate.engine import run_interpolation

        return run_interpolation(request, self, progress, backend=self.spec_id)


def checkpoint_path(folder: Path, files: Sequence[str]) -> Path:
    """The checkpoint among the spec's files: ``flownet.pkl`` itself or the release zip."""
    for name in (CHECKPOINT, *files):
        path = folder / name
        if path.is_file():
            return path
    raise StudioError(f"No {CHECKPOINT} or RIFE release zip in '{folder}'. Fetch the backend's "
                      "files again.")


def build(ctx) -> RifeInterpolator:
    """Registry builder of ``interpolate.rife``: reads the published checkpoint."""
    if ctx.weights is None:
        raise StudioError(f"'{ctx.spec.id}' needs its weights folder.")
    state = read_state_dict(checkpoint_path(ctx.weights, ctx.spec.files))
    dtype = ctx.dtype if str(ctx.device).startswith("cuda") else "float32"
    return RifeInterpolator(load_ifnet(state), ctx.device, dtype)
