"""metrics/image.py: PSNR, SSIM (torchmetrics) and LPIPS (lpips, only with local weights)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from metrics import image as quality

RNG = np.random.default_rng(1)


def test_psnr_of_a_known_mse():
    target = RNG.integers(20, 200, (32, 48, 3), dtype=np.uint8)
    shifted = target + np.uint8(10)  # every value off by 10: MSE = 100
    assert quality.psnr(shifted, target) == pytest.approx(10 * math.log10(255**2 / 100), abs=1e-4)
    as_float = quality.psnr(shifted.astype(np.float32) / 255, target.astype(np.float32) / 255)
    assert as_float == pytest.approx(28.1308, abs=1e-3)
    assert quality.psnr(target, target) == math.inf


def test_ssim_of_identical_images_is_one_and_drops_with_noise():
    image = RNG.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    assert quality.ssim(image, image) == pytest.approx(1.0, abs=1e-6)
    smooth = np.repeat(np.linspace(0, 255, 40, dtype=np.uint8)[None, :, None], 40, 0)
    noisy = np.clip(smooth.astype(int) + RNG.integers(-40, 40, smooth.shape), 0, 255)
    assert quality.ssim(noisy.astype(np.uint8), smooth) < 0.5
    gray = image[..., 0]
    assert quality.ssim(gray, gray) == pytest.approx(1.0, abs=1e-6)


def test_ssim_in_bands_equals_one_pass(monkeypatch):
    a = RNG.integers(0, 256, (61, 37, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + RNG.integers(-30, 30, a.shape), 0, 255).astype(np.uint8)
    whole = quality.ssim(a, b)
    monkeypatch.setattr(quality, "SSIM_BAND_PIXELS", 37 * 9)  # bands of 9 rows
    assert quality.ssim(a, b) == pytest.approx(whole, abs=1e-6)


def test_shapes_must_match():
    with pytest.raises(ValueError, match="same shape"):
        quality.psnr(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8))


def test_lpips_without_weights_is_reported_not_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    image = RNG.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    reason = quality.lpips_unavailable_reason()
    assert reason and "alexnet-owt-7be5be79.pth" in reason and str(tmp_path) in reason
    with pytest.raises(quality.MetricUnavailable, match="never downloaded"):
        quality.lpips(image, image)
    report = quality.compare(image, image)
    assert report.lpips is None and report.lpips_note == reason
    assert report.ssim == pytest.approx(1.0, abs=1e-6) and report.psnr == math.inf
    assert not any(tmp_path.rglob("*.pth"))  # nothing was fetched


def test_lpips_with_local_backbone_weights(tmp_path, monkeypatch):
    """With an AlexNet file in the hub cache (random weights here) LPIPS is computed."""
    from torchvision.models import alexnet

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    checkpoint = quality.alexnet_checkpoint()
    checkpoint.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(alexnet().state_dict(), checkpoint)
    assert quality.lpips_unavailable_reason() is None
    image = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    other = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert quality.lpips(image, image) == pytest.approx(0.0, abs=1e-6)
    assert quality.lpips(image, other) > 0
    large = np.zeros((1100, 40, 3), np.uint8)
    report = quality.compare(large, large)
    assert report.lpips == pytest.approx(0.0, abs=1e-6) and "1024 px" in report.lpips_note
