"""Specs of the style-transfer backends (data only: builders load on first use)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

# The reference PyTorch AdaIN checkpoints (naoto0804/pytorch-AdaIN, converted from Huang and
# Belongie's Torch release) as .pth pickles; read with torch.load(weights_only=True).
ADAIN_REPO = "p1atdev/pytorch-AdaIN"

SPECS = (
    PipelineSpec(
        id="style.classical",
        task="style",
        label="Colour transfer + painterly presets",
        kind="classical",
        builder="pipelines.style.classical:build",
        license="Apache-2.0 (this project)",
        tags=("image", "video", "colour-transfer"),
        description="Weight-free: Reinhard Lab statistics, histogram matching, OpenCV "
                    "stylisation, cartoon and pencil presets in the style's colours.",
    ),
    PipelineSpec(
        id="style.adain",
        task="style",
        label="AdaIN arbitrary style (VGG-19)",
        kind="torch",
        builder="pipelines.style.adain:build",
        repo_id=ADAIN_REPO,
        files=("vgg_normalised.pth", "decoder.pth"),
        license="MIT (pytorch-AdaIN)",
        est_memory_gb=0.6,
        dtypes=("float16", "float32"),
        tags=("image", "video", "arbitrary-style", "neural"),
        description="Any style image: VGG-19 features renormalised to the style's statistics "
                    "and decoded; alpha trade-off, two-style interpolation.",
    ),
)
