"""Specs of the frame-interpolation backends (data only: builders load on first use)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

# A verbatim mirror of Practical-RIFE's released model zips (hzwer/Practical-RIFE, MIT); the
# v4.6 release holds train_log/flownet.pkl, a plain state dict read with weights_only=True.
RIFE_REPO = "Bash2X/RIFE-Models"
RIFE_FILE = "RIFE_v4.6.zip"
# One public project pins this commit (for another zip of the repo): the tag below makes
# `cli.py fetch` compare it with the repo's current commit when online (docs/models.md).
RIFE_REVISION = "feaf6d11238b4a1e9f015a5d18c18df152affd20"

SPECS = (
    PipelineSpec(
        id="interpolate.classical",
        task="interpolate",
        label="Optical-flow interpolation (DIS, occlusion-aware)",
        kind="classical",
        builder="pipelines.interpolate.classical:build",
        license="Apache-2.0 (this project)",
        tags=("video", "frame-interpolation", "optical-flow"),
        description="Weight-free: OpenCV DIS flow both ways, flows for the new frame's time, "
                    "occlusion masks from forward-backward consistency, backward warping of both "
                    "neighbours blended by time and visibility; scene-cut aware.",
    ),
    PipelineSpec(
        id="interpolate.rife",
        task="interpolate",
        label="RIFE v4.6 (IFNet)",
        kind="torch",
        builder="pipelines.interpolate.rife:build",
        repo_id=RIFE_REPO,
        revision=RIFE_REVISION,
        files=(RIFE_FILE,),
        license="MIT (Practical-RIFE by hzwer)",
        est_memory_gb=0.5,
        dtypes=("float16", "float32"),
        tags=("video", "frame-interpolation", "neural", "arbitrary-timestep", "pin:one-source"),
        description="Real-Time Intermediate Flow Estimation (Huang et al., ECCV 2022), IFNet of "
                    "Practical-RIFE v4.6 written here; weights: flownet.pkl from the v4.6 release "
                    "zip of hzwer/Practical-RIFE (MIT), mirrored on the Hub by "
                    f"{RIFE_REPO}. Any timestep, float16 on GPU.",
    ),
)
