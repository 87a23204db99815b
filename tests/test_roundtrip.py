"""Real checkpoints, made tiny: built from configs, saved, loaded back through the registry.

This is diffusers' own testing habit: seed, build each component from a small config,
``save_pretrained`` into a folder, and load that folder exactly as a Hub snapshot would load.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipelines.catalog import build_registry
from pipelines.registry import LoadContext, PipelineSpec, Registry
from tests.checkpoints import tiny_clip_checkpoint


class DenoiseRunner:
    """A minimal runner around a diffusers pipeline, as a task runner would wrap one."""

    def __init__(self, pipe, device: str):
        self.pipe, self.device = pipe, device

    def modules(self):
        return {"unet": self.pipe.unet}

    def __call__(self, request: dict, progress=None):
        generator = torch.Generator("cpu").manual_seed(request["seed"])
        with torch.inference_mode():
            out = self.pipe(
                batch_size=1,
                generator=generator,
                num_inference_steps=request["steps"],
                output_type="np",
            )
        return out.images


def build_ddpm(ctx: LoadContext) -> DenoiseRunner:
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(ctx.weights, dtype=ctx.torch_dtype)
    return DenoiseRunner(pipe.to(ctx.device), ctx.device)


@pytest.fixture
def tiny_ddpm(tmp_path):
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(
        sample_size=8,
        in_channels=3,
        out_channels=3,
        layers_per_block=1,
        block_out_channels=(4, 8),
        norm_num_groups=4,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
    )
    folder = tmp_path / "tiny-ddpm"
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=10)).save_pretrained(folder)
    return folder


def test_diffusers_pipeline_round_trip(tiny_ddpm):
    spec = PipelineSpec(
        id="portrait.tiny-ddpm",
        task="portrait",
        label="tiny DDPM",
        kind="diffusers",
        builder=build_ddpm,
        repo_id=str(tiny_ddpm),
        files=("model_index.json", "unet/*.safetensors", "unet/config.json", "scheduler/*"),
        est_memory_gb=0.001,
    )
    registry = Registry((spec,))
    with registry.pinned(spec.id) as runner:
        images = runner({"seed": 0, "steps": 2})
        again = runner({"seed": 0, "steps": 2})
    assert images.shape == (1, 8, 8, 3)
    assert np.isfinite(images).all() and images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(images, again)  # same seed, same output
    entry = registry.stats()["entries"][0]
    unet_params = sum(p.numel() for p in runner.pipe.unet.parameters())
    assert entry["bytes"] >= unet_params * 4  # measured from the loaded modules, not the estimate


def test_diffusers_checkpoint_missing_a_component_is_not_loaded(tiny_ddpm):
    spec = PipelineSpec(
        id="portrait.tiny-ddpm",
        task="portrait",
        label="tiny DDPM",
        kind="diffusers",
        builder=build_ddpm,
        repo_id=str(tiny_ddpm),
        files=("model_index.json", "vae/*"),
    )
    from pipelines.errors import WeightsUnavailable

    with pytest.raises(WeightsUnavailable, match="portrait.tiny-ddpm"):
        Registry((spec,)).load(spec.id)


@pytest.fixture
def tiny_clip(tmp_path):
    """A CLIP checkpoint with the file layout of openai/clip-vit-base-patch32 (a .bin file)."""
    folder = tmp_path / "tiny-clip"
    return folder, tiny_clip_checkpoint(folder)


def test_clip_spec_loads_the_published_file_layout(tiny_clip):
    folder, reference = tiny_clip
    registry = build_registry()
    spec = registry.replace("metrics.clip-vit-b32", repo_id=str(folder))
    assert spec.files == ("*.json", "merges.txt", "pytorch_model.bin")  # the real patterns
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (40, 50, 3), dtype=np.uint8) for _ in range(5)]
    from pipelines.networks.clip import EmbedRequest

    runner = registry.load(spec.id)
    result = runner(EmbedRequest(images=frames, texts=["a cab", "bad"], batch_size=2))
    assert result.image_embeds.shape == (5, 8) and result.text_embeds.shape == (2, 8)
    np.testing.assert_allclose(np.linalg.norm(result.image_embeds, axis=1), 1, atol=1e-5)
    # Batching does not change the embeddings: compare with one reference forward pass.
    from transformers import CLIPImageProcessor

    pixels = CLIPImageProcessor.from_pretrained(folder)(images=frames, return_tensors="pt")
    with torch.inference_mode():
        feats = reference.get_image_features(pixel_values=pixels["pixel_values"])
    feats = getattr(feats, "pooler_output", feats)
    expected = torch.nn.functional.normalize(feats, dim=-1).numpy()
    np.testing.assert_allclose(result.image_embeds, expected, atol=1e-5)
