"""Specs of the portrait animation backends (data only: importing this imports no torch)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

_SVD_FILES = (
    "model_index.json",
    "feature_extractor/preprocessor_config.json",
    "image_encoder/config.json",
    "image_encoder/model.fp16.safetensors",
    "scheduler/scheduler_config.json",
    "unet/config.json",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.fp16.safetensors",
)
_SVD_LICENSE = "other: stable-video-diffusion-community (Stability AI)"

SPECS = (
    PipelineSpec(
        id="portrait.classical",
        task="portrait",
        label="Face-aware motion",
        kind="classical",
        builder="pipelines.portrait.classical:build",
        license="Apache-2.0 (this studio's code)",
        tags=("image-to-video", "classical"),
        description="Breathing, head sway, blinks and camera moves from OpenCV warps; no weights.",
    ),
    PipelineSpec(
        id="portrait.svd",
        task="portrait",
        label="Stable Video Diffusion img2vid (14 frames)",
        kind="diffusers",
        builder="pipelines.portrait.svd:build",
        repo_id="stabilityai/stable-video-diffusion-img2vid",
        files=_SVD_FILES,
        license=_SVD_LICENSE,
        est_memory_gb=4.6,
        dtypes=("float16", "float32"),
        needs_gpu=True,
        tags=("image-to-video", "svd"),
        description="Latent video diffusion conditioned on the picture; trained on 14 frames.",
    ),
    PipelineSpec(
        id="portrait.svd-xt",
        task="portrait",
        label="Stable Video Diffusion img2vid-xt (25 frames)",
        kind="diffusers",
        builder="pipelines.portrait.svd:build",
        repo_id="stabilityai/stable-video-diffusion-img2vid-xt",
        files=_SVD_FILES,
        license=_SVD_LICENSE,
        est_memory_gb=4.6,
        dtypes=("float16", "float32"),
        needs_gpu=True,
        tags=("image-to-video", "svd"),
        description="SVD fine-tuned for 25 frames at 576x1024.",
    ),
    PipelineSpec(
        id="portrait.ltx-video",
        task="portrait",
        label="LTX-Video image-to-video (DiT)",
        kind="diffusers",
        builder="pipelines.portrait.ltx:build",
        repo_id="Lightricks/LTX-Video",
        # Only the diffusers-format folders; the repo root also holds many single-file
        # checkpoints of later versions, which this pattern list leaves out.
        files=(
            "model_index.json",
            "scheduler/scheduler_config.json",
            "text_encoder/*.json",
            "text_encoder/*.safetensors",
            "tokenizer/*",
            "transformer/*.json",
            "transformer/*.safetensors",
            "vae/config.json",
            "vae/*.safetensors",
        ),
        license="other: LTX-Video licence (Lightricks, see the repo)",
        est_memory_gb=14.0,
        dtypes=("bfloat16", "float32"),
        needs_gpu=True,
        tags=("image-to-video", "dit", "prompt"),
        description="A 2B-parameter diffusion transformer with a T5-XXL text encoder.",
    ),
)

# Frame count and fps each backend starts with (the tab and the CLI use them).
DEFAULTS: dict[str, dict[str, float]] = {
    "portrait.classical": {"frames": 48, "fps": 24},
    "portrait.svd": {"frames": 14, "fps": 7},
    "portrait.svd-xt": {"frames": 25, "fps": 7},
    "portrait.ltx-video": {"frames": 49, "fps": 24},
}


def controls_for(spec: PipelineSpec) -> str:
    """Which group of motion controls a backend takes: classical, svd or dit."""
    for group in ("svd", "dit"):
        if group in spec.tags:
            return group
    return "classical"
