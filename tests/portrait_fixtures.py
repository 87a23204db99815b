"""Tiny checkpoints and measuring helpers for the portrait tests.

The video models are built the way diffusers' own fast tests build them (small blocks, seeded),
saved with ``save_pretrained`` in the published repos' layout (SVD's fp16 variant files), and
loaded back through the registry from that folder.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pipelines.portrait.svd import SVD_SCHEDULER_CONFIG


def tiny_svd(folder: Path, variants: tuple[str | None, ...] = ("fp16",), **save) -> Path:
    """A StableVideoDiffusionPipeline folder with SVD's file names: the fp16 variant, and with
    ``variants=(None, "fp16")`` the plain (fp32) files beside it, as the real repos hold both."""
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=8,
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=32,
        num_attention_heads=8,
        projection_class_embeddings_input_dim=96,
        addition_time_embed_dim=32,
        num_frames=4,
    )
    scheduler = EulerDiscreteScheduler(**SVD_SCHEDULER_CONFIG)
    torch.manual_seed(0)
    # Three levels (8x smaller latents than pixels, as SVD's VAE): SVD sides are multiples of 64,
    # so a 64x64 frame becomes an 8x8 latent and the UNet stays fast on a CPU.
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=[32, 32, 32], in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 3, latent_channels=4,
    )  # fmt: skip
    torch.manual_seed(0)
    # The pipeline resizes the picture to 224x224 for CLIP, so the encoder takes 224 pixels
    # (in patches of 32, so it stays tiny).
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=32, num_hidden_layers=1, num_attention_heads=4,
        image_size=224, intermediate_size=37, patch_size=32,
    ))  # fmt: skip
    pipe = StableVideoDiffusionPipeline(
        vae=vae, image_encoder=encoder, unet=unet, scheduler=scheduler,
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224),
    )  # fmt: skip
    for variant in variants:
        pipe.save_pretrained(folder, variant=variant, **save)
    return folder


def mean_flow(a: np.ndarray, b: np.ndarray) -> float:
    """Mean optical-flow magnitude (Farneback) from frame ``a`` to frame ``b``, in pixels."""
    ga, gb = (cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (a, b))
    flow = cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 21, 3, 5, 1.1, 0)
    return float(np.linalg.norm(flow, axis=2).mean())
