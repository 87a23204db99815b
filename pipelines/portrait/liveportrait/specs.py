"""The LivePortrait spec (data only: importing this imports no torch)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

FILES = (
    "liveportrait/base_models/appearance_feature_extractor.pth",
    "liveportrait/base_models/motion_extractor.pth",
    "liveportrait/base_models/warping_module.pth",
    "liveportrait/base_models/spade_generator.pth",
    "liveportrait/retargeting_models/stitching_retargeting_module.pth",
)

SPECS = (
    PipelineSpec(
        id="portrait.liveportrait",
        task="portrait",
        label="LivePortrait (driving video, expression editing)",
        kind="torch",
        builder="pipelines.portrait.liveportrait.runner:build",
        repo_id="KwaiVGI/LivePortrait",
        # No commit of the Hub repo could be confirmed offline, so the revision is not pinned
        # yet: set it to the 40-hex commit shown by `huggingface_hub.model_info(...).sha`.
        revision=None,
        files=FILES,
        license=(
            "MIT (LivePortrait code and these weights, KwaiVGI/Kuaishou); the InsightFace "
            "detectors of the same Hub repo (non-commercial) are not used or downloaded"
        ),
        # About 130 M parameters (520 MB of float32 weights) plus activations at 256x256.
        est_memory_gb=1.5,
        dtypes=("float16", "float32"),
        needs_gpu=False,
        tags=("driving-video", "expression-edit", "liveportrait"),
        description=(
            "Implicit-keypoint portrait animation: a picture follows a driving video's head "
            "pose and expression, or sliders edit eyes, lips, smile, brows, gaze and head pose."
        ),
    ),
)
