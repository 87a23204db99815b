"""The one place that declares every backend the studio ships.

Each task's specs are added with one ``Registry.add`` call. Builders are ``"module:function"``
strings, so declaring the catalog imports no model library; the module is imported on first load.
Revisions pin the Hub commit a backend was written against.
"""

from __future__ import annotations

from pipelines.registry import PipelineSpec, Registry

METRICS = (
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


def build_registry() -> Registry:
    """A fresh registry holding every shipped spec (each call has its own cache)."""
    registry = Registry()
    registry.add(*METRICS)
    return registry
