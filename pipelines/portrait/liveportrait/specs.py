"""The LivePortrait spec (data only: importing this imports no torch)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

GIB = 1024**3
REPO = "KlingTeam/LivePortrait"  # formerly KwaiVGI/LivePortrait, which redirects here
REVISION = "82a4fa6735ca58432b6ce39301b4b9ee066dea47"
# file -> (bytes, sha256) at REVISION: the Hub's LFS size and object id, as several public
# projects that download these files pin them (docs/models.md). Float32 state dicts.
FILE_FACTS: dict[str, tuple[int, str]] = {
    "liveportrait/base_models/appearance_feature_extractor.pth":
        (3_387_959, "5279bb8654293dbdf327030b397f107237dd9212fb11dd75b83dfb635211ceb5"),
    "liveportrait/base_models/motion_extractor.pth":
        (112_545_506, "251e6a94ad667a1d0c69526d292677165110ef7f0cf0f6d199f0e414e8aa0ca5"),
    "liveportrait/base_models/warping_module.pth":
        (182_180_086, "2f61a6f265fe344f14132364859a78bdbbc2068577170693da57fb96d636e282"),
    "liveportrait/base_models/spade_generator.pth":
        (221_813_590, "4780afc7909a9f84e24c01d73b31a555ef651521a1fe3b2429bd04534d992aee"),
    "liveportrait/retargeting_models/stitching_retargeting_module.pth":
        (2_393_098, "3652d5a3f95099141a56986aaddec92fadf0a73c87a20fac9a2c07c32b28b611"),
}
FILES = tuple(FILE_FACTS)
DOWNLOAD_BYTES = sum(size for size, _ in FILE_FACTS.values())  # 522,320,239 bytes
# Activations of one 256x256 source and driving frame up to the 512x512 output: an allowance
# (estimated, not measured) added to the weights, which are held in float32 as stored.
ACTIVATION_GIB = 1.0

SPECS = (
    PipelineSpec(
        id="portrait.liveportrait",
        task="portrait",
        label="LivePortrait (driving video, expression editing)",
        kind="torch",
        builder="pipelines.portrait.liveportrait.runner:build",
        repo_id=REPO,
        revision=REVISION,
        files=FILES,
        sha256={name: digest for name, (_, digest) in FILE_FACTS.items()},
        license=(
            "MIT (LivePortrait code and these weights, KwaiVGI/Kuaishou); the InsightFace "
            "detectors of the same Hub repo (non-commercial) are not used or downloaded"
        ),
        # About 130 M parameters: the files' 522 MB of float32 weights, plus activations.
        est_memory_gb=round(DOWNLOAD_BYTES / GIB + ACTIVATION_GIB, 2),
        dtypes=("float16", "float32"),
        needs_gpu=False,
        tags=("driving-video", "expression-edit", "liveportrait"),
        description=(
            "Implicit-keypoint portrait animation: a picture follows a driving video's head "
            "pose and expression, or sliders edit eyes, lips, smile, brows, gaze and head pose."
        ),
    ),
)
