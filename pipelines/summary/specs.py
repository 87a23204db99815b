"""Specs of the one-image summary's backends (data only: builders load on first use)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

SPECS = (
    PipelineSpec(
        id="summary.classical",
        task="summary",
        label="Classical summary (stitching, median background, mosaic)",
        kind="classical",
        builder="pipelines.summary.classical:build",
        license="Apache-2.0 (this project)",
        tags=("video", "panorama", "action-shot", "mosaic", "summary"),
        description="Weight-free: OpenCV's Stitcher (scans or panorama model) on sampled "
                    "frames; the moving subject cut from the temporal median background and "
                    "composited in order; a grid of evenly spaced or per-shot frames with "
                    "timecodes.",
    ),
)
