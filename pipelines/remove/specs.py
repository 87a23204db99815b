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
    PipelineSpec(
        id="remove.wan-vace",
        task="remove",
        label="Wan 2.1 VACE 1.3B (video inpainting)",
        kind="diffusers",
        builder="pipelines.remove.vace:build",
        repo_id="Wan-AI/Wan2.1-VACE-1.3B-diffusers",
        layout="diffusers",  # the files come from the repo's model_index.json
        license="Apache-2.0 (Wan-AI)",
        est_memory_gb=16.0,
        dtypes=("bfloat16", "float32"),
        needs_gpu=True,
        tags=("video", "object-removal", "inpainting", "dit", "prompt"),
        description="Wan 2.1 VACE (all-in-one video creation and editing), 1.3B DiT with umT5: "
                    "regenerates the hole (white in the mask video) from the frames around it, "
                    "steered by an optional prompt; 832x480, pieces of 81 frames.",
    ),
)
