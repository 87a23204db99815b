"""Specs of the shared feature extractors (embeddings used by metrics, keyframes, benchmarks)."""

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
)
