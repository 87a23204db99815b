"""Specs of the object-removal backends (data only: builders load on first use)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

SPECS = (
    PipelineSpec(
        id="remove.classical",
        task="remove",
        label="Flow-guided propagation + Telea",
        kind="classical",
        builder="pipelines.remove.classical:build",
        license="Apache-2.0 (this project)",
        tags=("video", "object-removal", "inpainting", "optical-flow"),
        description="Weight-free: each hole pixel takes the background that nearby frames show, "
                    "warped along completed DIS flow with a forward-backward check (a temporal "
                    "median for a still camera); OpenCV Telea inpainting where no frame sees "
                    "it.",
    ),
)
