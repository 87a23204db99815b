"""Specs of the super-resolution backends (data only: builders load on first use)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

# One Hub repo mirrors the three Real-ESRGAN release checkpoints byte for byte as .pth pickles
# (no safetensors there); they are read with torch.load(weights_only=True).
REAL_ESRGAN_REPO = "leonelhs/realesrgan"
REAL_ESRGAN_LICENSE = "BSD-3-Clause (Real-ESRGAN weights, Xintao Wang et al.)"

SPECS = (
    PipelineSpec(
        id="super_res.classical",
        task="super_res",
        label="Lanczos + edge-aware sharpening",
        kind="classical",
        builder="pipelines.super_res.classical:build",
        license="Apache-2.0 (this project)",
        tags=("image", "video", "any-scale"),
        description="Weight-free: Lanczos resampling, detail added back only at edges, no halos.",
    ),
    PipelineSpec(
        id="super_res.swin2sr-x2",
        task="super_res",
        label="Swin2SR classical x2",
        kind="transformers",
        builder="pipelines.super_res.models:build_swin2sr",
        repo_id="caidas/swin2SR-classical-sr-x2-64",
        files=("config.json", "preprocessor_config.json", "model.safetensors"),
        license="Apache-2.0",
        est_memory_gb=0.6,
        dtypes=("bfloat16", "float16", "float32"),
        tags=("image", "x2", "transformer"),
        description="SwinV2 transformer trained on bicubic downscaling (DIV2K): faithful x2.",
    ),
    PipelineSpec(
        id="super_res.swin2sr-realworld-x4",
        task="super_res",
        label="Swin2SR real-world x4",
        kind="transformers",
        builder="pipelines.super_res.models:build_swin2sr",
        repo_id="caidas/swin2SR-realworld-sr-x4-64-bsrgan-psnr",
        # main holds only the .bin (the safetensors conversion is an unmerged PR); transformers
        # reads it with torch.load(weights_only=True).
        files=("config.json", "preprocessor_config.json", "pytorch_model.bin"),
        license="Apache-2.0",
        est_memory_gb=0.7,
        dtypes=("bfloat16", "float16", "float32"),
        tags=("image", "x4", "transformer", "real-world"),
        description="Swin2SR trained on BSRGAN degradations: x4 for photos with noise and blur.",
    ),
    PipelineSpec(
        id="super_res.realesrgan-x4plus",
        task="super_res",
        label="Real-ESRGAN x4plus",
        kind="spandrel",
        builder="pipelines.super_res.models:build_spandrel",
        repo_id=REAL_ESRGAN_REPO,
        files=("RealESRGAN_x4plus.pth",),
        license=REAL_ESRGAN_LICENSE,
        est_memory_gb=0.5,
        dtypes=("float16", "float32"),
        tags=("image", "video", "x4", "gan"),
        description="RRDBNet (23 blocks) GAN for real-world photos: x4, removes noise and blur.",
    ),
    PipelineSpec(
        id="super_res.realesrgan-x2plus",
        task="super_res",
        label="Real-ESRGAN x2plus",
        kind="spandrel",
        builder="pipelines.super_res.models:build_spandrel",
        repo_id=REAL_ESRGAN_REPO,
        files=("RealESRGAN_x2plus.pth",),
        license=REAL_ESRGAN_LICENSE,
        est_memory_gb=0.5,
        dtypes=("float16", "float32"),
        tags=("image", "video", "x2", "gan"),
        description="RRDBNet with pixel unshuffle: x2 for real-world photos.",
    ),
    PipelineSpec(
        id="super_res.realesr-animevideov3",
        task="super_res",
        label="Real-ESRGAN anime video v3",
        kind="spandrel",
        builder="pipelines.super_res.models:build_spandrel",
        repo_id=REAL_ESRGAN_REPO,
        files=("realesr-animevideov3.pth",),
        license=REAL_ESRGAN_LICENSE,
        est_memory_gb=0.2,
        dtypes=("float16", "float32"),
        tags=("image", "video", "x4", "anime", "fast"),
        description="Compact VGG-style x4 network (0.6 M parameters) for anime and video frames.",
    ),
)
