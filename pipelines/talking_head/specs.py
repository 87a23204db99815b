"""Specs of the talking-head backends (data only: builders are imported on first load)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

# camenduru/Wav2Lip mirrors the checkpoints published with the paper (Rudrabha/Wav2Lip), as
# pickled training checkpoints: loaded with torch.load(weights_only=True).
WAV2LIP_REPO = "camenduru/Wav2Lip"
WAV2LIP_LICENSE = "Wav2Lip licence: personal, research and non-commercial use only"

SPECS = (
    PipelineSpec(
        id="talking_head.classical",
        task="talking_head",
        label="Classical mouth warp",
        kind="classical",
        builder="pipelines.talking_head.classical:build",
        license="Apache-2.0 (this project)",
        tags=("talking_head", "weight-free"),
        description="Loudness and formant features drive a mouth warp; blinks and head motion.",
    ),
    PipelineSpec(
        id="talking_head.wav2lip-gan",
        task="talking_head",
        label="Wav2Lip + GAN",
        kind="torch",
        builder="pipelines.talking_head.wav2lip:build",
        repo_id=WAV2LIP_REPO,
        files=("checkpoints/wav2lip_gan.pth",),
        license=WAV2LIP_LICENSE,
        est_memory_gb=0.3,
        dtypes=("float16", "float32"),
        tags=("talking_head", "lip-sync"),
        description="Wav2Lip trained with the visual-quality discriminator: sharper mouths.",
    ),
    PipelineSpec(
        id="talking_head.wav2lip",
        task="talking_head",
        label="Wav2Lip",
        kind="torch",
        builder="pipelines.talking_head.wav2lip:build",
        repo_id=WAV2LIP_REPO,
        files=("checkpoints/wav2lip.pth",),
        license=WAV2LIP_LICENSE,
        est_memory_gb=0.3,
        dtypes=("float16", "float32"),
        tags=("talking_head", "lip-sync"),
        description="Wav2Lip trained without the discriminator: the most accurate lip sync.",
    ),
)
