"""metrics/image.py: PSNR, SSIM (torchmetrics), LPIPS (lpips, on a network from the registry)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics import image as quality
from tests.checkpoints import tiny_lpips_checkpoint

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


@pytest.fixture(scope="module")
def lpips_net(tmp_path_factory):
    """An LPIPS network on a tiny checkpoint's AlexNet backbone (random weights)."""
    from pipelines.networks.lpips_alex import backbone_state, build_lpips

    folder = tmp_path_factory.mktemp("lpips")
    tiny_lpips_checkpoint(folder)
    return build_lpips(backbone_state(folder / "alexnet-owt-7be5be79.pth"))


def test_lpips_is_a_function_of_the_given_network(lpips_net):
    image = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    other = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert quality.lpips(image, image, lpips_net) == pytest.approx(0.0, abs=1e-6)
    assert quality.lpips(image, other, lpips_net) > 0
    gray = image[..., 0]
    assert quality.lpips(gray, gray, lpips_net) == pytest.approx(0.0, abs=1e-6)
    large = np.zeros((1100, 40, 3), np.uint8)
    report = quality.compare(large, large, lpips_net)
    assert report.lpips == pytest.approx(0.0, abs=1e-6) and "1024 px" in report.lpips_note


def test_compare_without_a_network_reports_lpips_as_missing():
    image = RNG.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    report = quality.compare(image, image)
    assert report.lpips is None and "no LPIPS network" in report.lpips_note
    assert report.ssim == pytest.approx(1.0, abs=1e-6) and report.psnr == math.inf


def _reference_job(tmp_path):
    from PIL import Image

    from pipelines.super_res.job import ImageJob

    high = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(high).save(tmp_path / "high.png")
    Image.fromarray(high[::2, ::2]).save(tmp_path / "low.png")
    return ImageJob(tmp_path / "low.png", "classical", 2.0, reference=tmp_path / "high.png")


def test_super_res_scores_lpips_with_the_registry_network(tmp_path):
    from pipelines.catalog import build_registry
    from pipelines.super_res.job import run_image

    registry = build_registry()
    tiny_lpips_checkpoint(tmp_path / "alexnet")
    registry.replace("metrics.lpips-alex", repo_id=str(tmp_path / "alexnet"))
    metrics = run_image(registry, _reference_job(tmp_path)).metrics
    assert metrics["lpips"] is not None and metrics["lpips"] > 0 and metrics["lpips_note"] == ""
    entries = {e["id"]: e for e in registry.stats()["entries"]}
    assert not entries["metrics.lpips-alex"]["pinned"]  # released after the job


def test_super_res_without_lpips_weights_says_how_to_fetch_them(tmp_path):
    from pipelines.catalog import build_registry
    from pipelines.super_res.job import run_image

    metrics = run_image(build_registry(), _reference_job(tmp_path)).metrics
    assert metrics["lpips"] is None and metrics["psnr"] > 0
    assert "python cli.py fetch metrics.lpips-alex" in metrics["lpips_note"]
