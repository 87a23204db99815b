"""Specs of the shared feature extractors (embeddings and metric networks used by metrics,
keyframes and benchmarks)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

SPECS = (
    PipelineSpec(
        id="metrics.clip-vit-b32",
        task="metrics",
        label="CLIP ViT-B/32 embeddings",
        kind="transformers",
        builder="pipelines.features.clip:build",
        repo_id="openai/clip-vit-base-patch32",
        # The repo's main branch has no safetensors file; transformers reads this .bin with
        # torch.load(weights_only=True), which refuses anything but tensors.
        files=("*.json", "merges.txt", "pytorch_model.bin"),
        license="MIT",
        est_memory_gb=0.6,
        dtypes=("float16", "float32"),
        tags=("embeddings", "clip", "keyframes", "benchmark"),
        description="Image and text embeddings for clustering, consistency and text-image scores.",
    ),
    PipelineSpec(
        id="metrics.i3d",
        task="metrics",
        label="I3D Kinetics-400 video features (FVD)",
        kind="torch",
        builder="pipelines.features.i3d:build",
        # Unverified: a mirror of VideoGPT's i3d_pretrained_400.pt (DeepMind's Kinetics-400 RGB
        # I3D converted to the PyTorch port's layout), a plain state dict that FVD code loads
        # with torch.load(weights_only=True). No safetensors copy was found.
        repo_id="Xiaodong/FVD_I3D",
        files=("i3d_pretrained_400.pt",),
        license="Apache-2.0",
        est_memory_gb=0.5,
        dtypes=("float32",),
        tags=("fvd", "video", "benchmark"),
        description="Inception-I3D (Kinetics-400 RGB) features of 16-frame 224x224 clips for the "
        "Fréchet Video Distance. Repo unverified.",
    ),
    PipelineSpec(
        id="metrics.lpips-alex",
        task="metrics",
        label="LPIPS v0.1 (AlexNet)",
        kind="torch",
        builder="pipelines.features.lpips_alex:build",
        # Unverified: torchvision's ImageNet AlexNet (IMAGENET1K_V1, 244 MB) as safetensors.
        # Only its convolution weights (features.*) are read; LPIPS' linear layers ship inside
        # the lpips package.
        repo_id="theunnecessarythings/vision_models",
        files=("alexnet.safetensors",),
        license="BSD-3-Clause",
        est_memory_gb=0.1,
        dtypes=("float32",),
        tags=("lpips", "image", "benchmark", "super_res"),
        description="Perceptual image distance (0 is identical) on AlexNet features. "
        "Backbone repo unverified.",
    ),
)
