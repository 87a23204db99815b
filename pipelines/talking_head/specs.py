"""Specs of the talking-head backends (data only: builders are imported on first load)."""

from __future__ import annotations

from pipelines.portrait.liveportrait import specs as liveportrait
from pipelines.registry import PipelineSpec

# Hub mirrors of the checkpoints published with the paper (Rudrabha/Wav2Lip), as pickled training
# checkpoints: checked against the pinned sha256 below, then loaded with
# torch.load(weights_only=True). camenduru/Wav2Lip holds the real wav2lip_gan.pth, but its
# checkpoints/wav2lip.pth is a 167 kB file (sha256 b6c6630c...a9fc52), not the 436 MB
# checkpoint: the plain model comes from Nekochu/Wav2Lip. Digests and sizes are those public
# projects pin for these files (435,801,865 and 435,807,851 bytes; docs/models.md); a file that
# differs is refused before loading. The files also hold the training optimizer's state, so the
# network itself (about 36 M float32 parameters) needs less memory than the file's size.
WAV2LIP_GAN_REPO = "camenduru/Wav2Lip"
WAV2LIP_GAN_REVISION = "d263c8b69af71c59fcd1f88ecb29f537d3265117"
WAV2LIP_GAN_FILE = "checkpoints/wav2lip_gan.pth"
WAV2LIP_REPO = "Nekochu/Wav2Lip"
WAV2LIP_REVISION = "fb925b05f0d353850ee0c56810e4545e274e2b5a"
WAV2LIP_FILE = "wav2lip.pth"
SHA256 = {
    WAV2LIP_GAN_FILE: "ca9ab7b7b812c0e80a6e70a5977c545a1e8a365a6c49d5e533023c034d7ac3d8",
    WAV2LIP_FILE: "b78b681b68ad9fe6c6fb1debc6ff43ad05834a8af8a62ffc4167b7b34ef63c37",
}
WAV2LIP_LICENSE = "Wav2Lip licence: personal, research and non-commercial use only"
# MuseTalk 1.5 (TMElyralab/MuseTalk, MIT): the UNet's config and state dict from its Hub repo,
# the VAE and the Whisper encoder from their own repos (companions, fetched with the spec). No
# public source shows a commit of these files, so they are unpinned (tests/test_hub.py).
MUSETALK_REPO = "TMElyralab/MuseTalk"
MUSETALK_COMPANIONS = (
    "stabilityai/sd-vae-ft-mse:config.json",
    "stabilityai/sd-vae-ft-mse:diffusion_pytorch_model.safetensors",
    "openai/whisper-tiny:config.json",
    "openai/whisper-tiny:preprocessor_config.json",
    "openai/whisper-tiny:model.safetensors",
)

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
        repo_id=WAV2LIP_GAN_REPO,
        revision=WAV2LIP_GAN_REVISION,
        files=(WAV2LIP_GAN_FILE,),
        sha256={WAV2LIP_GAN_FILE: SHA256[WAV2LIP_GAN_FILE]},
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
        revision=WAV2LIP_REVISION,
        files=(WAV2LIP_FILE,),
        sha256={WAV2LIP_FILE: SHA256[WAV2LIP_FILE]},
        license=WAV2LIP_LICENSE,
        est_memory_gb=0.3,
        dtypes=("float16", "float32"),
        tags=("talking_head", "lip-sync"),
        description="Wav2Lip trained without the discriminator: the most accurate lip sync.",
    ),
    PipelineSpec(
        id="talking_head.liveportrait",
        task="talking_head",
        label="LivePortrait (one photo, audio-driven keypoints)",
        kind="torch",
        builder="pipelines.talking_head.liveportrait:build",
        # The portrait task's LivePortrait files: the same repo, revision, files and digests,
        # so one download serves both.
        repo_id=liveportrait.REPO,
        revision=liveportrait.REVISION,
        files=liveportrait.FILES,
        sha256={name: digest for name, (_, digest) in liveportrait.FILE_FACTS.items()},
        license=liveportrait.SPECS[0].license,
        est_memory_gb=liveportrait.SPECS[0].est_memory_gb,
        dtypes=("float16", "float32"),
        needs_gpu=False,
        tags=("talking_head", "liveportrait"),
        description=("LivePortrait renders a portrait whose lips, eyes, brows and head pose "
                     "follow the speech (loudness, formants and pitch) through its keypoints."),
    ),
    PipelineSpec(
        id="talking_head.musetalk-1.5",
        task="talking_head",
        label="MuseTalk 1.5",
        kind="torch",
        builder="pipelines.talking_head.musetalk:build",
        repo_id=MUSETALK_REPO,
        files=("musetalkV15/musetalk.json", "musetalkV15/unet.pth"),
        companions=MUSETALK_COMPANIONS,
        license=("MuseTalk: MIT; sd-vae-ft-mse: CreativeML OpenRAIL-M; whisper-tiny: "
                 "Apache-2.0"),
        est_memory_gb=3.5,
        dtypes=("float16", "float32"),
        needs_gpu=True,
        tags=("talking_head", "lip-sync"),
        description=("MuseTalk 1.5: one UNet pass in the VAE's latent space redraws the lower "
                     "face from Whisper audio features; 256x256 face crops."),
    ),
)
