"""Specs of the keyframe backends.

One backend: the weight-free classical pipeline. Clustering can use CLIP embeddings, but those
come from the shared ``metrics.clip-vit-b32`` spec (pinned by the job when its weights are on
disk) rather than a second keyframe spec: the Models tab then lists the checkpoint once, fetching
it once serves metrics, keyframes and benchmarks alike, and one loaded copy is shared.
"""

from __future__ import annotations

from pipelines.registry import PipelineSpec

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
)
