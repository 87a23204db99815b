"""Specs of the depth-and-masks backends (data only: builders load on first use)."""

from __future__ import annotations

from pipelines.maps.settings import TRACKING_TAG
from pipelines.registry import PipelineSpec

SPECS = (
    PipelineSpec(
        id="maps.classical",
        task="maps",
        label="Classical maps (DIS flow, MOG2 masks, parallax depth)",
        kind="classical",
        builder="pipelines.maps.classical:build",
        license="Apache-2.0 (this project)",
        tags=("video", "image", "depth", "flow", "mask"),
        description="Weight-free: dense optical flow (DIS or Farneback), moving-object masks "
                    "from a MOG2 background model, and relative depth from flow parallax when "
                    "the camera moves (a rough single-image cue when it does not).",
    ),
    PipelineSpec(
        id="maps.depth-anything-v2-small",
        task="maps",
        label="Depth Anything V2 Small",
        kind="transformers",
        builder="pipelines.maps.depth_anything:build",
        repo_id="depth-anything/Depth-Anything-V2-Small-hf",
        revision="5426e4f0f36572d16453bbda7a8389317b1bef99",  # holds model.safetensors
        files=("config.json", "preprocessor_config.json", "model.safetensors"),
        license="Apache-2.0",
        est_memory_gb=0.3,
        dtypes=("float16", "bfloat16", "float32"),
        tags=("video", "image", "depth", "transformer"),
        description="DINOv2-S encoder with a DPT head (24.8 M parameters), relative inverse "
                    "depth per frame; frames aligned and smoothed over time by this project. "
                    "Weights: the authors' transformers port on the Hub, Apache-2.0.",
    ),
    PipelineSpec(
        id="maps.sam2-video",
        task="maps",
        label="SAM 2.1 video (Hiera-Tiny): track a prompted object",
        kind="transformers",
        builder="pipelines.maps.sam2_video:build",
        repo_id="facebook/sam2.1-hiera-tiny",
        # no public source shows a commit holding the transformers files (tests/test_hub.py)
        files=("config.json", "*processor_config.json", "model.safetensors"),
        license="Apache-2.0",
        est_memory_gb=1.0,  # 0.16 GB of float32 weights, activations at 1024x1024
        dtypes=("bfloat16", "float32"),
        tags=("video", "image", "mask", "transformer", TRACKING_TAG),
        description="Segment Anything 2.1, Hiera-Tiny (38.9 M parameters) through "
                    "transformers' Sam2VideoModel: a box or points on one frame give the "
                    "object's mask, which its streaming memory carries forward and back through "
                    "the video. Weights: Meta's repo on the Hub (transformers files beside the "
                    "original checkpoint), Apache-2.0.",
    ),
)
