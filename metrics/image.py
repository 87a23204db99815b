"""Full-reference image quality: PSNR and SSIM (torchmetrics), LPIPS (the lpips package).

Pure functions: arrays in, numbers out. Images are ``HxWx3`` (or ``HxW``) arrays, uint8 or float
in [0, 1]; both images of a pair must have the same shape. torch is imported on first use.

LPIPS runs AlexNet features through the linear layers that ship inside the lpips package. The
AlexNet weights do not ship with it: torchvision downloads them into the torch hub cache. Nothing
here downloads; LPIPS is computed only when that file is already on disk, and otherwise
:class:`MetricUnavailable` says which file is missing and where it belongs.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

SSIM_BAND_PIXELS = 2_000_000  # SSIM works on bands of rows this large, to bound its memory
SSIM_HALO = 5  # rows of context each band needs: half of the 11-tap Gaussian window
LPIPS_MAX_SIDE = 1024  # LPIPS compares images downscaled to at most this many pixels per side


class MetricUnavailable(RuntimeError):
    """A metric cannot be computed on this machine; ``str(err)`` says why."""


@dataclass(frozen=True)
class ImageQuality:
    """PSNR (dB, higher is better), SSIM (1 is identical), LPIPS (0 is identical, or None)."""

    psnr: float
    ssim: float
    lpips: float | None
    lpips_note: str = ""

    def as_dict(self) -> dict[str, float | str | None]:
        return {"psnr": self.psnr, "ssim": self.ssim, "lpips": self.lpips,
                "lpips_note": self.lpips_note}


def _pair(prediction: np.ndarray, target: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Both images as float32 ``(1, C, H, W)`` tensors in [0, 1]."""
    import torch

    prediction, target = np.asarray(prediction), np.asarray(target)
    if prediction.shape != target.shape:
        raise ValueError(f"images to compare must have the same shape; got {prediction.shape} "
                         f"and {target.shape}")
    if prediction.ndim not in (2, 3) or not prediction.size:
        raise ValueError(f"images must be HxW or HxWxC arrays; got shape {prediction.shape}")

    def tensor(image: np.ndarray) -> torch.Tensor:
        data = torch.from_numpy(np.ascontiguousarray(image))
        data = data.float() / 255.0 if image.dtype == np.uint8 else data.float()
        data = data[None] if image.ndim == 2 else data.permute(2, 0, 1)
        return data[None]

    return tensor(prediction), tensor(target)


def psnr(prediction: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (``inf`` for identical images)."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    pred, ref = _pair(prediction, target)
    return float(peak_signal_noise_ratio(pred, ref, data_range=1.0))


def ssim(prediction: np.ndarray, target: np.ndarray) -> float:
    """Structural similarity (Gaussian window, sigma 1.5), averaged over pixels and channels.

    Large images are measured in bands of rows with enough context that every pixel's value is
    the one a single pass would give, so memory stays bounded.
    """
    from torchmetrics.functional.image import structural_similarity_index_measure

    pred, ref = _pair(prediction, target)
    height, width = pred.shape[-2:]
    rows = max(1, SSIM_BAND_PIXELS // max(1, width))
    if height <= rows:
        return float(structural_similarity_index_measure(pred, ref, data_range=1.0))
    total = 0.0
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        lo, hi = max(0, top - SSIM_HALO), min(height, bottom + SSIM_HALO)
        _, full = structural_similarity_index_measure(
            pred[..., lo:hi, :], ref[..., lo:hi, :], data_range=1.0, return_full_image=True
        )
        total += float(full[..., top - lo:bottom - lo, :].double().sum())
    return total / (pred.shape[1] * height * width)


def alexnet_checkpoint() -> Path:
    """Where torchvision keeps the AlexNet weights LPIPS needs (the torch hub cache)."""
    import torch
    from torchvision.models import AlexNet_Weights

    name = AlexNet_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def lpips_unavailable_reason() -> str | None:
    """None when LPIPS can be computed here; else a sentence saying what is missing."""
    path = alexnet_checkpoint()
    if path.is_file():
        return None
    return (f"LPIPS needs the AlexNet weights {path.name} in {path.parent}; they are not on this "
            "machine and are never downloaded during a job, so LPIPS was not computed.")


@functools.lru_cache(maxsize=2)
def _lpips_model(checkpoint: str):
    """The LPIPS (AlexNet, v0.1) network; its backbone loads from the local ``checkpoint``."""
    import lpips

    with warnings.catch_warnings():  # lpips asks torchvision for AlexNet the deprecated way
        warnings.simplefilter("ignore", UserWarning)
        return lpips.LPIPS(net="alex", version="0.1", verbose=False).eval()


def lpips(prediction: np.ndarray, target: np.ndarray) -> float:
    """LPIPS distance (AlexNet, v0.1); raises :class:`MetricUnavailable` without the weights.

    Images larger than :data:`LPIPS_MAX_SIDE` on a side are compared downscaled (area average).
    """
    import torch

    reason = lpips_unavailable_reason()
    if reason:
        raise MetricUnavailable(reason)
    pred, ref = _pair(prediction, target)
    if pred.shape[1] == 1:
        pred, ref = pred.expand(-1, 3, -1, -1), ref.expand(-1, 3, -1, -1)
    longest = max(pred.shape[-2:])
    if longest > LPIPS_MAX_SIDE:
        size = [max(1, round(s * LPIPS_MAX_SIDE / longest)) for s in pred.shape[-2:]]
        pred = torch.nn.functional.interpolate(pred, size=size, mode="area")
        ref = torch.nn.functional.interpolate(ref, size=size, mode="area")
    try:
        model = _lpips_model(str(alexnet_checkpoint()))
    except Exception as err:  # a damaged checkpoint: report it, never fall back to a download
        raise MetricUnavailable(f"LPIPS could not load its AlexNet weights ({err}).") from err
    with torch.inference_mode():
        return float(model(pred, ref, normalize=True).mean())


def compare(prediction: np.ndarray, target: np.ndarray) -> ImageQuality:
    """PSNR, SSIM and (when its weights are here) LPIPS of ``prediction`` against ``target``."""
    note = ""
    try:
        distance: float | None = lpips(prediction, target)
        longest = max(np.asarray(prediction).shape[:2])
        if longest > LPIPS_MAX_SIDE:
            note = f"LPIPS measured at {LPIPS_MAX_SIDE} px on the longer side."
    except MetricUnavailable as err:
        distance, note = None, str(err)
    return ImageQuality(psnr(prediction, target), ssim(prediction, target), distance, note)

