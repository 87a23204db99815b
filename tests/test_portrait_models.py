"""SVD and LTX-Video, made tiny, loaded through the registry exactly as a Hub snapshot would be."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from skimage import data

from pipelines.catalog import build_registry
from pipelines.portrait.geometry import model_size_for, plan_fit, restore, to_model
from pipelines.portrait.types import AnimateRequest, DitSettings, SvdSettings
from tests.i2v_fixtures import tiny_ltx
from tests.portrait_fixtures import tiny_svd

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    """A 3:2 picture with a face (the astronaut, widened with the flag side repeated)."""
    image = data.astronaut()[::4, ::4]  # 128x128
    return np.ascontiguousarray(np.concatenate([image[:, :64], image], axis=1))  # 128x192


@pytest.fixture(scope="module")
def svd_registry(tmp_path_factory):
    folder = tiny_svd(tmp_path_factory.mktemp("svd") / "stable-video-diffusion-img2vid")
    registry = build_registry()
    # The real spec, its real file patterns, pointed at the tiny folder. Tiny models run on the
    # CPU, so the GPU requirement of the full-size model is lifted for the test.
    spec = registry.replace("portrait.svd", repo_id=str(folder), needs_gpu=False)
    from pipelines.layouts import spec_files

    assert "unet/diffusion_pytorch_model.fp16.safetensors" in spec_files(spec, folder)
    return registry


@pytest.mark.parametrize(("fit", "size"), [("crop", (64, 64)), ("pad", (64, 42))])
def test_svd_gives_the_requested_frames_and_size(svd_registry, picture, fit, size):
    request = AnimateRequest(picture, frames=3, fps=7, seed=0,
                             svd=SvdSettings(steps=2, decode_chunk_size=2, side=64, fit=fit))
    with svd_registry.pinned("portrait.svd") as runner:
        result = runner(request)
    assert len(result.frames) == 3
    assert all(f.shape == (size[1], size[0], 3) and f.dtype == np.uint8 for f in result.frames)
    assert result.info["model_size"] == [64, 64]
    if fit == "crop":  # 3:2 into a square model: cropped, and the user is told
        assert any("cropped" in note for note in result.notes)


def test_svd_memory_modes_and_seed(svd_registry, picture):
    def request(memory: str) -> AnimateRequest:
        return AnimateRequest(picture, frames=2, fps=7, seed=1, svd=SvdSettings(
            steps=1, decode_chunk_size=1, side=64, memory=memory))

    with svd_registry.pinned("portrait.svd") as runner:
        plain = runner(request("gpu"))
        for mode in ("chunked", "low"):
            seen: list[float] = []
            result = runner(request(mode), lambda fraction, desc, log=seen: log.append(fraction))
            assert result.info["memory_mode"] == mode
            assert seen == sorted(seen) and seen[0] >= 0 and seen[-1] <= 1
            # Chunking changes how the work is split, not the result; the seed fixes the noise.
            np.testing.assert_allclose(np.stack(result.frames), np.stack(plain.frames), atol=2)
        assert any("needs a GPU" in note for note in result.notes)  # no offload on a CPU


def test_ltx_gives_the_requested_frames_and_size(tmp_path, picture):
    folder = tiny_ltx(tmp_path / "LTX-Video")
    registry = build_registry()
    registry.replace("portrait.ltx-video", repo_id=str(folder), needs_gpu=False)
    request = AnimateRequest(picture, frames=6, fps=24, seed=0, dit=DitSettings(
        prompt="a smile", negative_prompt="", steps=2, side=64, fit="pad"))
    with registry.pinned("portrait.ltx-video") as runner:
        result = runner(request)
        tiled = runner(dataclasses.replace(request, dit=dataclasses.replace(request.dit,
                                                                            memory="low")))
    # The VAE makes k * r + 1 frames; the runner keeps exactly the six asked for.
    assert len(result.frames) == 6
    assert all(f.shape == (42, 64, 3) for f in result.frames)
    assert result.info["model_size"] == [64, 64]
    assert tiled.info["memory_mode"] == "low" and runner.pipe.vae.use_tiling
    assert len(tiled.frames) == 6


def test_model_sizes_and_fits():
    assert model_size_for(1920, 1080, 768 * 768, 64) == (1024, 576)
    assert model_size_for(1080, 1920, 768 * 768, 64) == (576, 1024)
    assert model_size_for(512, 512, 768 * 768, 64) == (768, 768)
    assert model_size_for(3000, 1000, 640 * 640, 32) == (864, 480)  # wider than 16:9: clamped
    # A slight crop is stretched back to the input's aspect; a panorama keeps its crop.
    near = plan_fit(800, 600, area=768 * 768, multiple=64, fit="crop")
    assert near.output_size[0] / near.output_size[1] == pytest.approx(800 / 600, rel=0.01)
    wide = plan_fit(3000, 1000, area=768 * 768, multiple=64, fit="crop", focus=(2800, 500))
    assert wide.note and wide.region[0] + wide.region[2] == 3000  # the crop follows the face
    padded = plan_fit(3000, 1000, area=768 * 768, multiple=64, fit="pad")
    assert padded.output_size[0] / padded.output_size[1] == pytest.approx(3.0, rel=0.01)
    image = np.zeros((1000, 3000, 3), np.uint8)
    image[:, :1500] = 200
    model_in = to_model(image, padded)
    assert model_in.shape == (padded.model_size[1], padded.model_size[0], 3)
    back = restore(model_in, padded)
    assert back.shape == (padded.output_size[1], padded.output_size[0], 3)
    assert back[:, : back.shape[1] // 2 - 4].mean() > 190 and back[:, -10:].mean() < 10


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _has_cuda(), reason="needs a CUDA device")
def test_svd_memory_modes_on_a_gpu(svd_registry, picture):
    """Offload and compile only do something on a GPU: every mode gives the same frames."""
    with svd_registry.pinned("portrait.svd", device="cuda", dtype="float16") as runner:
        results = {}
        for mode in ("gpu", "offload", "chunked", "low", "compile", "gpu"):
            results[mode] = runner(AnimateRequest(picture, frames=3, fps=7, seed=2, svd=SvdSettings(
                steps=2, decode_chunk_size=1, side=64, memory=mode)))
            assert results[mode].info["memory_mode"] == mode
            assert results[mode].info["peak_gpu_bytes"] > 0
            assert not any("needs a GPU" in note for note in results[mode].notes)
    reference = np.stack(results["gpu"].frames).astype(int)
    for mode, result in results.items():
        assert np.abs(np.stack(result.frames).astype(int) - reference).max() <= 3, mode
