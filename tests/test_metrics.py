"""metrics/: image, video, CLIP and FVD formulas; the metric networks through the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics import clip as clip_metrics
from metrics import fvd as fvd_metrics
from metrics import image as image_metrics
from metrics import video as video_metrics
from pipelines.catalog import build_registry
from pipelines.errors import InputError, StudioError, WeightsUnavailable
from tests.checkpoints import (
    TINY_I3D_DIVISOR,
    tiny_clip_checkpoint,
    tiny_i3d_checkpoint,
    tiny_lpips_checkpoint,
)

RNG = np.random.default_rng(8)


# --------------------------------------------------------------------------------------------
# Image


def test_psnr_of_a_known_mse_is_exact():
    target = np.full((16, 24, 3), 100, np.uint8)
    prediction = target.copy()
    prediction[::2] += 20  # half the pixels off by 20: MSE = 200
    expected = 10 * math.log10(255**2 / 200)
    assert image_metrics.psnr(prediction, target) == pytest.approx(expected, abs=1e-4)


def test_ssim_of_identical_images_is_one():
    image = RNG.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    assert image_metrics.ssim(image, image) == pytest.approx(1.0, abs=1e-6)
    smooth = np.repeat(np.linspace(40, 200, 40)[None, :, None], 48, axis=0).astype(np.uint8)
    noisy = np.clip(smooth.astype(int) + RNG.integers(-30, 31, smooth.shape), 0, 255)
    assert image_metrics.ssim(smooth, smooth) == pytest.approx(1.0, abs=1e-6)
    assert image_metrics.ssim(noisy.astype(np.uint8), smooth) < 0.5


# --------------------------------------------------------------------------------------------
# Video


def translated_pair(dx: int, dy: int, size: tuple[int, int] = (60, 80)):
    """Two frames of a textured scene moved by (dx, dy) pixels, and the exact backward flow."""
    height, width = size
    scene = RNG.integers(0, 256, (height + 20, width + 20, 3), dtype=np.uint8)
    prev = scene[10:10 + height, 10:10 + width]
    cur = scene[10 - dy:10 - dy + height, 10 - dx:10 - dx + width]  # cur[y, x] = prev[y-dy, x-dx]
    flow = np.zeros((height, width, 2), np.float32)
    flow[..., 0], flow[..., 1] = -dx, -dy  # current -> previous, OpenCV's convention
    return prev, cur, flow


def test_warping_error_is_zero_for_an_integer_translation_with_its_exact_flow():
    prev, cur, flow = translated_pair(3, -2)
    assert video_metrics.warping_error(prev, cur, flow) == 0.0
    mask = video_metrics.occlusion_mask(flow, -flow)
    assert 0.85 < mask.mean() < 1.0  # the strip that entered the frame is not visible before
    assert video_metrics.warping_error(prev, cur, flow, mask) == 0.0
    assert video_metrics.warping_error(prev[..., 0], cur[..., 0], flow) == 0.0


def test_warping_error_grows_with_noise_and_equals_its_definition():
    prev, cur, flow = translated_pair(2, 1)
    errors = []
    for amplitude in (5, 20, 60):
        noise = RNG.integers(-amplitude, amplitude + 1, cur.shape)
        noisy = np.clip(cur.astype(int) + noise, 0, 255).astype(np.uint8)
        error = video_metrics.warping_error(prev, noisy, flow)
        valid = video_metrics.inside_mask(flow)
        diff = (noisy.astype(np.float64) - cur) / 255.0
        assert error == pytest.approx(np.mean(diff[valid] ** 2), rel=1e-5)
        errors.append(error)
    assert 0 < errors[0] < errors[1] < errors[2]


def test_motion_flicker_and_frame_ssim_of_a_translation():
    prev, cur, flow = translated_pair(3, 4)
    assert video_metrics.motion_magnitude(flow) == pytest.approx(5.0)
    assert video_metrics.flicker_index(prev, cur, flow) < 0.01
    brighter = np.clip(cur.astype(int) + 30, 0, 255).astype(np.uint8)
    assert video_metrics.flicker_index(prev, brighter, flow) > 0.08
    assert video_metrics.frame_ssim(cur, cur) == pytest.approx(1.0)


def test_temporal_scores_of_a_panning_video():
    scene = RNG.integers(0, 256, (64, 140), dtype=np.uint8)
    scene = np.repeat(np.asarray(scene)[..., None], 3, axis=2)
    import cv2

    scene = cv2.GaussianBlur(scene, (0, 0), 2.0)  # texture the flow estimator can follow
    frames = [scene[:, 2 * i:2 * i + 96] for i in range(5)]  # pans 2 px per frame
    scores = video_metrics.temporal_scores(frames)
    assert len(scores.warping_error) == len(scores.motion) == 4
    summary = scores.summary()
    assert summary["motion"] == pytest.approx(2.0, abs=0.3)
    assert summary["warping_error"] < 1e-3 and summary["flicker"] < 0.01
    assert all(np.isfinite(v) and v >= 0 for v in summary.values())


# --------------------------------------------------------------------------------------------
# CLIP formulas


def test_frame_consistency_of_constructed_embeddings():
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    diagonal = np.array([1.0, 1.0, 0.0])
    embeds = np.stack([a, 3 * a, b, diagonal])  # scale does not matter
    np.testing.assert_allclose(clip_metrics.frame_consistency(embeds),
                               [1.0, 0.0, math.sqrt(0.5)], atol=1e-12)  # fmt: skip
    assert clip_metrics.frame_consistency(embeds[:1]).shape == (0,)
    assert clip_metrics.frame_consistency(np.zeros((2, 3))).tolist() == [0.0]
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        clip_metrics.frame_consistency(np.zeros(3))


def test_text_image_score_is_clipscore():
    text = np.array([1.0, 0.0])
    angles = np.radians([0.0, 60.0, 90.0, 180.0])
    images = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 7.0
    np.testing.assert_allclose(clip_metrics.text_image_score(images, text),
                               [100.0, 50.0, 0.0, 0.0], atol=1e-9)  # fmt: skip
    np.testing.assert_allclose(clip_metrics.text_image_score(images, text[None]),
                               clip_metrics.text_image_score(images, text))  # fmt: skip
    with pytest.raises(ValueError, match="one text"):
        clip_metrics.text_image_score(images, np.ones((2, 2)))
    with pytest.raises(ValueError, match="same CLIP model"):
        clip_metrics.text_image_score(images, np.ones(3))


def test_similarity_to_one_image_is_the_cosine():
    angles = np.radians([0.0, 60.0, 90.0, 180.0])
    images = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 3.0
    np.testing.assert_allclose(clip_metrics.similarity_to(images, np.array([2.0, 0.0])),
                               [1.0, 0.5, 0.0, -1.0], atol=1e-9)  # fmt: skip
    with pytest.raises(ValueError, match="same CLIP model"):
        clip_metrics.similarity_to(images, np.ones(3))


# --------------------------------------------------------------------------------------------
# Fréchet distance


def test_gaussian_stats_match_numpy():
    features = RNG.normal(size=(30, 5)).astype(np.float32)
    mean, cov = fvd_metrics.gaussian_stats(features)
    assert mean.dtype == cov.dtype == np.float64
    np.testing.assert_allclose(mean, features.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(features.astype(np.float64), rowvar=False), rtol=1e-10)
    one_mean, one_cov = fvd_metrics.gaussian_stats(features[:1])
    assert not one_cov.any() and np.allclose(one_mean, features[0])
    with pytest.raises(ValueError, match="non-empty"):
        fvd_metrics.gaussian_stats(np.zeros((0, 5)))


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = RNG.normal(size=(200, 16)) * RNG.uniform(0.1, 10, 16)
    assert fvd_metrics.fvd(features, features) == pytest.approx(0.0, abs=1e-8)
    assert fvd_metrics.fvd(features, features.copy()) >= 0.0


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    mu1, mu2 = RNG.normal(size=8), RNG.normal(size=8)
    var1, var2 = RNG.uniform(0.1, 4, 8), RNG.uniform(0.1, 4, 8)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
    got = fvd_metrics.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2))
    assert got == pytest.approx(expected, rel=1e-10)
    # The same Gaussians in a rotated basis (commuting covariances): the same distance.
    rotation, _ = np.linalg.qr(RNG.normal(size=(8, 8)))
    rotated = fvd_metrics.frechet_distance(
        rotation @ mu1, rotation @ np.diag(var1) @ rotation.T,
        rotation @ mu2, rotation @ np.diag(var2) @ rotation.T,
    )  # fmt: skip
    assert rotated == pytest.approx(expected, rel=1e-8)
    swapped = fvd_metrics.frechet_distance(mu2, np.diag(var2), mu1, np.diag(var1))
    assert swapped == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_is_stable_with_singular_covariances():
    features = RNG.normal(size=(6, 64))  # fewer samples than dimensions: rank 5
    shift = RNG.normal(size=64) * 0.5
    assert np.linalg.matrix_rank(np.cov(features, rowvar=False)) < 64
    same = fvd_metrics.fvd(features, features)
    moved = fvd_metrics.fvd(features, features + shift)  # same covariance, shifted mean
    other = fvd_metrics.fvd(features, RNG.normal(size=(3, 64)))
    assert same == pytest.approx(0.0, abs=1e-8)
    assert moved == pytest.approx(float(shift @ shift), rel=1e-6)
    assert np.isfinite(other) and other > 0


def test_frechet_distance_rejects_bad_statistics():
    mean, cov = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError, match="same d"):
        fvd_metrics.frechet_distance(mean, cov, np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="NaN"):
        fvd_metrics.frechet_distance(mean, cov * np.nan, mean, cov)


def test_clip_for_i3d_samples_uniformly_resizes_and_crops():
    assert fvd_metrics.i3d_frame_indices(16).tolist() == list(range(16))
    picks = fvd_metrics.i3d_frame_indices(31)
    assert picks[0] == 0 and picks[-1] == 30 and np.all(np.diff(picks) == 2)
    assert fvd_metrics.i3d_frame_indices(4).tolist() == sorted(fvd_metrics.i3d_frame_indices(4))
    # A 120x360 video whose frame i has value i, with a white marker in the centre column.
    video = np.repeat(np.arange(40, dtype=np.uint8)[:, None, None, None], 120, axis=1)
    video = np.repeat(np.repeat(video, 360, axis=2), 3, axis=3)
    video[:, :, 175:185] = 255
    clip = fvd_metrics.clip_for_i3d(video)
    size = fvd_metrics.I3D_SIZE
    assert clip.shape == (fvd_metrics.I3D_FRAMES, size, size, 3) and clip.dtype == np.uint8
    assert clip[:, 5, 5, 0].tolist() == fvd_metrics.i3d_frame_indices(40).tolist()
    marker = np.flatnonzero(clip[0, size // 2, :, 0] == 255)
    assert abs((marker.min() + marker.max()) / 2 - (size - 1) / 2) < 2  # centre crop
    short = fvd_metrics.clip_for_i3d(np.zeros((3, 50, 40, 3), np.float32))
    assert short.shape == (16, size, size, 3)
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        fvd_metrics.clip_for_i3d(np.zeros((4, 10, 10)))


# --------------------------------------------------------------------------------------------
# Metric networks through the registry


@pytest.fixture(scope="module")
def tiny_folders(tmp_path_factory):
    i3d = tmp_path_factory.mktemp("tiny-i3d")
    lpips = tmp_path_factory.mktemp("tiny-lpips")
    clip = tmp_path_factory.mktemp("tiny-clip")
    return {"i3d": (i3d, tiny_i3d_checkpoint(i3d)), "lpips": (lpips, tiny_lpips_checkpoint(lpips)),
            "clip": (clip, tiny_clip_checkpoint(clip))}


@pytest.fixture
def registry(tiny_folders):
    registry = build_registry()
    registry.replace("metrics.i3d", repo_id=str(tiny_folders["i3d"][0]))
    registry.replace("metrics.lpips-alex", repo_id=str(tiny_folders["lpips"][0]))
    registry.replace("metrics.clip-vit-b32", repo_id=str(tiny_folders["clip"][0]))
    return registry


def test_metric_specs_name_real_files_and_import_nothing_heavy():
    registry = build_registry()
    i3d, lpips = registry.get("metrics.i3d"), registry.get("metrics.lpips-alex")
    assert i3d.files[0].endswith("i3d_pretrained_400.pt") and i3d.kind == "torch"
    assert lpips.files == ("alexnet-owt-7be5be79.pth",) and lpips.task == "metrics"
    assert len(i3d.revision) == 40 and lpips.sha256[lpips.files[0]].startswith("7be5be79")


def test_full_i3d_has_the_published_layout():
    import torch

    from pipelines.networks.i3d import I3DConfig, build_network, load_state

    network = build_network(I3DConfig())
    shapes = {k: tuple(v.shape) for k, v in network.state_dict().items()}
    assert shapes["Conv3d_1a_7x7.conv3d.weight"] == (64, 3, 7, 7, 7)
    assert shapes["Mixed_3b.b1b.conv3d.weight"] == (128, 96, 3, 3, 3)
    assert shapes["Mixed_5c.b3b.conv3d.weight"] == (128, 832, 1, 1, 1)
    assert shapes["logits.conv3d.weight"] == (400, 1024, 1, 1, 1)
    assert shapes["logits.conv3d.bias"] == (400,)
    assert I3DConfig().feature_dim == 1024
    params = sum(p.numel() for p in network.parameters())
    assert 12.6e6 < params < 12.8e6  # the 12.7 M parameters of the RGB I3D
    old_export = {k: v for k, v in network.state_dict().items() if "num_batches" not in k}
    load_state(network, old_export, "old.pt")  # exports without BN step counters still load
    with pytest.raises(StudioError, match="fetch metrics.i3d"):
        load_state(network, {"conv.weight": torch.zeros(1)}, "other.pt")


def test_i3d_features_through_the_registry(registry, tiny_folders):
    import torch

    from pipelines.networks.i3d import VideoFeatureRequest

    reference = tiny_folders["i3d"][1]
    videos = [RNG.integers(0, 256, (20, 72, 96, 3), dtype=np.uint8) for _ in range(3)]
    clips = [fvd_metrics.clip_for_i3d(v) for v in videos]
    runner = registry.load("metrics.i3d")
    result = runner(VideoFeatureRequest(clips, batch_size=2))
    dim = 1024 // TINY_I3D_DIVISOR
    assert result.features.shape == (3, dim) and result.features.dtype == np.float32
    assert np.isfinite(result.features).all() and result.timings["features"] > 0
    again = runner(VideoFeatureRequest(clips, batch_size=1))
    np.testing.assert_allclose(again.features, result.features, rtol=1e-5, atol=1e-6)
    batch = torch.from_numpy(np.stack(clips)).permute(0, 4, 1, 2, 3).float() / 255 - 0.5
    with torch.inference_mode():
        expected = reference.features(batch).numpy()
    np.testing.assert_allclose(result.features, expected, rtol=1e-4, atol=1e-5)
    logits = runner(VideoFeatureRequest(clips[:2], output="logits")).features
    assert logits.shape == (2, 10)
    assert fvd_metrics.fvd(result.features, result.features) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(InputError, match="same shape"):
        runner(VideoFeatureRequest([clips[0], clips[0][:8]]))
    with pytest.raises(InputError, match="uint8"):
        runner(VideoFeatureRequest([clips[0].astype(np.float32)]))


def test_lpips_through_the_registry(registry, tiny_folders):
    import torch

    from pipelines.networks.lpips_alex import LpipsRequest

    runner = registry.load("metrics.lpips-alex")
    saved = tiny_folders["lpips"][1]
    first_conv = runner.net.net.slice1._modules["0"].weight
    assert torch.equal(first_conv, saved["features.0.weight"])  # the backbone came from the file
    a = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    b = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    result = runner(LpipsRequest([(a, a), (a, b), (b, a)]))
    assert result.distances[0] == pytest.approx(0.0, abs=1e-7)
    assert result.distances[1] > 0 and result.distances[1] == pytest.approx(result.distances[2])
    assert runner.distance(a, b) == pytest.approx(result.distances[1])
    assert image_metrics.lpips(a, b, runner.net) == pytest.approx(result.distances[1])
    with pytest.raises(InputError, match="same shape"):
        runner.distance(a, b[:32])


def test_clip_metrics_through_the_registry(registry):
    from pipelines.networks.clip import EmbedRequest

    frame = RNG.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    frames = [frame, frame, RNG.integers(0, 256, (40, 40, 3), dtype=np.uint8)]
    embeds = registry.load("metrics.clip-vit-b32")(EmbedRequest(frames, ["a cab"]))
    consistency = clip_metrics.frame_consistency(embeds.image_embeds)
    assert consistency.shape == (2,) and consistency[0] == pytest.approx(1.0, abs=1e-5)
    assert -1.0 <= consistency[1] <= 1.0
    scores = clip_metrics.text_image_score(embeds.image_embeds, embeds.text_embeds)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 100))
    assert scores[0] == pytest.approx(scores[1], abs=1e-4)


@pytest.mark.parametrize("spec_id", ["metrics.i3d", "metrics.lpips-alex"])
def test_missing_weights_name_the_fetch_command(spec_id, tmp_path):
    registry = build_registry()
    with pytest.raises(WeightsUnavailable, match=f"python cli.py fetch {spec_id}"):
        registry.load(spec_id)  # the (sandboxed) hub cache is empty and HF_HUB_OFFLINE=1
    registry.replace(spec_id, repo_id=str(tmp_path))  # a folder without the checkpoint
    with pytest.raises(WeightsUnavailable, match=f"python cli.py fetch {spec_id}"):
        registry.load(spec_id)
