"""Full-reference image quality: PSNR and SSIM (torchmetrics), LPIPS (the lpips package).

Pure functions: arrays in, numbers out. Images are ``HxWx3`` (or ``HxW``) arrays, uint8 or float
in [0, 1]; both images of a pair must have the same shape. torch is imported on first use.

LPIPS is computed on a network the caller passes in: the ``metrics.lpips-alex`` spec loads it
(the lpips package's linear layers plus AlexNet backbone weights from the registry), so nothing
here looks for, or downloads, weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

SSIM_BAND_PIXELS = 2_000_000  # SSIM works on bands of rows this large, to bound its memory
SSIM_HALO = 5  # rows of context each band needs: half of the 11-tap Gaussian window
LPIPS_MAX_SIDE = 1024  # LPIPS compares images downscaled to at most this many pixels per side


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


def lpips(prediction: np.ndarray, target: np.ndarray, model: Any) -> float:
    """LPIPS distance of two images on a given LPIPS network (0 is identical, lower is better).

    ``model`` is an ``lpips.LPIPS`` module (AlexNet v0.1 from the ``metrics.lpips-alex`` spec);
    the images go to its device. Images larger than :data:`LPIPS_MAX_SIDE` on a side are
    compared downscaled (area average).
    """
    import torch

    pred, ref = _pair(prediction, target)
    if pred.shape[1] == 1:
        pred, ref = pred.expand(-1, 3, -1, -1), ref.expand(-1, 3, -1, -1)
    longest = max(pred.shape[-2:])
    if longest > LPIPS_MAX_SIDE:
        size = [max(1, round(s * LPIPS_MAX_SIDE / longest)) for s in pred.shape[-2:]]
        pred = torch.nn.functional.interpolate(pred, size=size, mode="area")
        ref = torch.nn.functional.interpolate(ref, size=size, mode="area")
    parameter = next(model.parameters())
    pred = pred.to(parameter.device, parameter.dtype)
    ref = ref.to(parameter.device, parameter.dtype)
    with torch.inference_mode():
        return float(model(pred, ref, normalize=True).float().mean())


def compare(prediction: np.ndarray, target: np.ndarray, lpips_model: Any = None) -> ImageQuality:
    """PSNR, SSIM and, when an LPIPS network is given, LPIPS of ``prediction`` against
    ``target``; without one ``lpips`` is None and the note says so."""
    if lpips_model is None:
        distance, note = None, "LPIPS was not computed: no LPIPS network was given."
    else:
        distance, note = lpips(prediction, target, lpips_model), ""
        if max(np.asarray(prediction).shape[:2]) > LPIPS_MAX_SIDE:
            note = f"LPIPS measured at {LPIPS_MAX_SIDE} px on the longer side."
    return ImageQuality(psnr(prediction, target), ssim(prediction, target), distance, note)
