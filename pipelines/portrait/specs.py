"""Specs of the portrait animation backends (data only: importing this imports no torch)."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.portrait import memory as mem
from pipelines.portrait.liveportrait.specs import SPECS as LIVEPORTRAIT_SPECS
from pipelines.portrait.types import LoraChoice
from pipelines.registry import PipelineSpec

_SVD_LICENSE = "other: stable-video-diffusion-community (Stability AI)"
_WAN_LICENSE = "Apache-2.0 (Wan-AI)"
_LTX_LICENSE = "other: LTX-Video open weights licence (Lightricks, see the repo)"


# lightx2v's 4-step LoRA for Wan 2.1 I2V 480P: the preset loads it, and the spec fetches it with
# its own files (a companion). One public project pins this commit (739,472,104-byte file;
# docs/models.md).
_LIGHTX2V = LoraChoice("lightx2v/Wan2.1-Distill-Loras",
                       "wan2.1_i2v_lora_rank64_lightx2v_4step.safetensors", 1.0,
                       revision="27ae38da91014b947dd39cc3fa78b97cd7b386dd")


def _dit(id: str, label: str, builder: str, repo_id: str, revision: str | None, *,
         license: str, footprint: str, description: str, tags: tuple[str, ...] = (),
         companions: tuple[str, ...] = ()) -> PipelineSpec:
    """A model-backed DiT spec in diffusers' layout: its files (component configs, tokenizers,
    processors, weights with their shard indexes, no single-file checkpoints) come from the
    repo's model_index.json at the pinned revision (pipelines/layouts.py); its memory figure
    is the footprint's estimated peak at the spec's defaults."""
    return PipelineSpec(
        id=id, task="portrait", label=label, kind="diffusers", builder=builder,
        repo_id=repo_id, revision=revision, layout="diffusers", license=license,
        est_memory_gb=_memory_gb(id, footprint),
        dtypes=("bfloat16", "float32"), needs_gpu=True,
        tags=("image-to-video", "dit", "prompt", f"footprint:{footprint}", *tags),
        description=description, companions=companions,
    )


# Frame count, fps, model side, steps and guidance each backend starts with: the settings'
# per-backend defaults (pipelines.portrait.settings) are built from this table.
DEFAULTS: dict[str, dict[str, float]] = {
    "portrait.classical": {"frames": 48, "fps": 24},
    "portrait.svd": {"frames": 14, "fps": 7},
    "portrait.svd-xt": {"frames": 25, "fps": 7},
    "portrait.ltx-video": {"frames": 49, "fps": 24, "side": 640, "steps": 40, "guidance": 3.0},
    "portrait.ltx-0.9.7": {"frames": 97, "fps": 24, "side": 576, "steps": 30, "guidance": 3.0},
    "portrait.ltx-0.9.7-distilled": {"frames": 97, "fps": 24, "side": 576, "steps": 8,
                                     "guidance": 1.0},
    "portrait.wan2.1-i2v-14b-480p": {"frames": 81, "fps": 16, "side": 632, "steps": 40,
                                     "guidance": 5.0},
    "portrait.wan2.1-i2v-14b-480p-lightx2v": {"frames": 81, "fps": 16, "side": 632, "steps": 4,
                                              "guidance": 1.0},
    "portrait.wan2.1-i2v-14b-720p": {"frames": 81, "fps": 16, "side": 960, "steps": 40,
                                     "guidance": 5.0},
    "portrait.wan2.1-flf2v-14b-720p": {"frames": 81, "fps": 16, "side": 960, "steps": 40,
                                       "guidance": 5.0},
    "portrait.wan2.2-i2v-a14b": {"frames": 81, "fps": 16, "side": 632, "steps": 40,
                                 "guidance": 3.5},
    "portrait.wan2.2-ti2v-5b": {"frames": 121, "fps": 24, "side": 944, "steps": 50,
                                "guidance": 5.0},
    "portrait.cogvideox-5b-i2v": {"frames": 49, "fps": 8, "side": 588, "steps": 50,
                                  "guidance": 6.0},
    "portrait.hunyuanvideo-1.5-i2v": {"frames": 121, "fps": 24, "side": 640, "steps": 50,
                                      "guidance": 6.0},
}

# The repos' commits as public sources show them (docs/models.md); ONE_SOURCE marks a pin that
# only one public project gives, which `cli.py fetch` compares with the repo's current commit.
ONE_SOURCE = "pin:one-source"
_WAN21_480P = "b184e23a8a16b20f108f727c902e769e873ffc73"


def _memory_gb(spec_id: str, footprint: str) -> float:
    """The estimated peak of a job of the spec's default frames and side (memory.py)."""
    start = DEFAULTS[spec_id]
    side = int(start["side"])
    return mem.spec_memory_gb(footprint, int(start["frames"]), side, side)


SPECS = (
    PipelineSpec(
        id="portrait.classical",
        task="portrait",
        label="Face-aware motion",
        kind="classical",
        builder="pipelines.portrait.classical:build",
        license="Apache-2.0 (this studio's code)",
        tags=("image-to-video", "classical"),
        description="Breathing, head sway, blinks and camera moves from OpenCV warps; no weights.",
    ),
    PipelineSpec(
        id="portrait.svd",
        task="portrait",
        label="Stable Video Diffusion img2vid (14 frames)",
        kind="diffusers",
        builder="pipelines.portrait.svd:build",
        repo_id="stabilityai/stable-video-diffusion-img2vid",
        revision="ae8391f7321be9ff8941508123715417da827aa4",
        gated=True,  # accept the licence on the repo's page, then HF_TOKEN / `hf auth login`
        layout="diffusers",  # fp16 weights only: the repo also holds fp32 files
        variant="fp16",
        license=_SVD_LICENSE,
        est_memory_gb=mem.spec_memory_gb("svd", 14, 576, 1024),
        dtypes=("float16", "float32"),
        needs_gpu=True,
        tags=("image-to-video", "svd", "footprint:svd"),
        description="Latent video diffusion conditioned on the picture; trained on 14 frames.",
    ),
    PipelineSpec(
        id="portrait.svd-xt",
        task="portrait",
        label="Stable Video Diffusion img2vid-xt (25 frames)",
        kind="diffusers",
        builder="pipelines.portrait.svd:build",
        repo_id="stabilityai/stable-video-diffusion-img2vid-xt",
        revision="a1ce917313331d9d6cdea065aa176c27198bcaad",
        gated=True,  # accept the licence on the repo's page, then HF_TOKEN / `hf auth login`
        layout="diffusers",  # fp16 weights only: the repo also holds fp32 files
        variant="fp16",
        license=_SVD_LICENSE,
        est_memory_gb=mem.spec_memory_gb("svd", 25, 576, 1024),
        dtypes=("float16", "float32"),
        needs_gpu=True,
        tags=("image-to-video", "svd", "footprint:svd"),
        description="SVD fine-tuned for 25 frames at 576x1024.",
    ),
    # diffusers' own single-file config map names diffusers/LTX-Video-0.9.1 for 0.9.1
    # (loaders/single_file_utils.py); Lightricks/LTX-Video-0.9.1 is not a diffusers-format repo.
    # No public source shows a commit of it: unpinned (tests/test_hub.py::UNPINNED).
    _dit("portrait.ltx-video", "LTX-Video 0.9.1 image-to-video (2B DiT)",
         "pipelines.portrait.ltx:build", "diffusers/LTX-Video-0.9.1", None,
         license=_LTX_LICENSE, footprint="ltx-2b",
         description="LTX-Video 0.9.1 in diffusers format: a 2B DiT, T5-XXL text encoder and a "
                     "timestep-conditioned VAE (decode timestep 0.05)."),
    _dit("portrait.ltx-0.9.7", "LTX-Video 0.9.7 13B with keyframes",
         "pipelines.portrait.ltx:build_condition", "Lightricks/LTX-Video-0.9.7-dev",
         "2101082f5eb5540770a2df43747feadb6f69b889",
         license=_LTX_LICENSE, footprint="ltx-13b", tags=("last-frame", "keyframes"),
         description="LTX-Video 0.9.7 (13B) through LTXConditionPipeline: the picture, an end "
                     "picture and keyframes at chosen frames."),
    _dit("portrait.ltx-0.9.7-distilled", "LTX-Video 0.9.7 13B distilled (8 steps)",
         "pipelines.portrait.ltx:build_condition", "Lightricks/LTX-Video-0.9.7-distilled",
         "057509edea1493cae5e62e9d8f780ebda3fb4333",
         license=_LTX_LICENSE, footprint="ltx-13b",
         tags=("last-frame", "keyframes", "distilled", "preset", ONE_SOURCE),
         description="The step-distilled 0.9.7: 8 steps without guidance on its published "
                     "schedule."),
    _dit("portrait.wan2.1-i2v-14b-480p", "Wan 2.1 I2V 14B 480P",
         "pipelines.portrait.wan:build", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", _WAN21_480P,
         license=_WAN_LICENSE, footprint="wan-14b",
         description="Wan 2.1 image-to-video, 14B DiT with umT5 and CLIP encoders, 832x480."),
    _dit("portrait.wan2.1-i2v-14b-480p-lightx2v", "Wan 2.1 I2V 14B 480P, 4-step (lightx2v LoRA)",
         "pipelines.portrait.wan:build", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", _WAN21_480P,
         license=_WAN_LICENSE, footprint="wan-14b",
         tags=("preset", "distilled"),
         companions=(f"{_LIGHTX2V.source}:{_LIGHTX2V.weight_name}@{_LIGHTX2V.revision}",),
         description="Wan 2.1 480P with lightx2v's step- and CFG-distillation LoRA: 4 steps, "
                     "guidance 1."),
    _dit("portrait.wan2.1-i2v-14b-720p", "Wan 2.1 I2V 14B 720P",
         "pipelines.portrait.wan:build", "Wan-AI/Wan2.1-I2V-14B-720P-Diffusers",
         "eb849f76dfa246545b65774a9e25943ee69b3fa3",
         license=_WAN_LICENSE, footprint="wan-14b", tags=(ONE_SOURCE,),
         description="Wan 2.1 image-to-video at 1280x720."),
    _dit("portrait.wan2.1-flf2v-14b-720p", "Wan 2.1 FLF2V 14B 720P (first and last frame)",
         "pipelines.portrait.wan:build", "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers",
         "17c30769b1e0b5dcaa1799b117bf20a9c31f59d7",
         license=_WAN_LICENSE, footprint="wan-14b", tags=("last-frame",),
         description="Wan 2.1 trained to go from a first to a last picture."),
    _dit("portrait.wan2.2-i2v-a14b", "Wan 2.2 I2V A14B (two experts)",
         "pipelines.portrait.wan:build", "Wan-AI/Wan2.2-I2V-A14B-Diffusers",
         "596658fd9ca6b7b71d5057529bbf319ecbc61d74",
         license=_WAN_LICENSE, footprint="wan-a14b", tags=("last-frame",),
         description="Wan 2.2 mixture of experts: a high-noise and a low-noise 14B transformer, "
                     "switched at the boundary ratio."),
    _dit("portrait.wan2.2-ti2v-5b", "Wan 2.2 TI2V 5B",
         "pipelines.portrait.wan:build", "Wan-AI/Wan2.2-TI2V-5B-Diffusers",
         "b8fff7315c768468a5333511427288870b2e9635",
         license=_WAN_LICENSE, footprint="wan-5b",
         description="Wan 2.2's 5B text/image-to-video model with its 16x VAE, 1280x704 at 24 "
                     "fps."),
    _dit("portrait.cogvideox-5b-i2v", "CogVideoX-5B I2V",
         "pipelines.portrait.cogvideox:build", "zai-org/CogVideoX-5b-I2V",  # was THUDM/...
         "a6f0f4858a8395e7429d82493864ce92bf73af11",
         license="other: CogVideoX licence (THUDM / Zhipu AI, see the repo)",
         footprint="cogvideox-5b",
         description="CogVideoX 5B image-to-video at its fixed 720x480, 49 frames at 8 fps."),
    _dit("portrait.hunyuanvideo-1.5-i2v", "HunyuanVideo 1.5 I2V 480p",
         "pipelines.portrait.hunyuan:build",
         "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-480p_i2v",
         "5a700ee883ff4c1b3d887ec4188755a7a5e2f698",
         license="other: Tencent Hunyuan community licence",
         footprint="hunyuan15-8b",
         description="HunyuanVideo 1.5 (8.3B) with Qwen2.5-VL and ByT5 text encoders and a "
                     "SigLIP image encoder; picks its own 480p size bucket."),
    *LIVEPORTRAIT_SPECS,  # driving video and expression editing (settings group "driven")
)


@dataclass(frozen=True)
class Preset:
    """A fast spec variant: the LoRAs it always loads (its steps and guidance are in DEFAULTS)."""

    loras: tuple[LoraChoice, ...] = ()


PRESETS: dict[str, Preset] = {
    "portrait.wan2.1-i2v-14b-480p-lightx2v": Preset(loras=(_LIGHTX2V,)),
    "portrait.ltx-0.9.7-distilled": Preset(),
}

# Step caches each backend takes with the installed diffusers (tests/test_i2v_models.py runs
# every one of them on the tiny models); the runners declare the same tuples.
CACHES: dict[str, tuple[str, ...]] = {
    # FasterCache needs the unconditional pass batched with the conditional one: CogVideoX
    # batches them; Wan runs them one after the other.
    **{spec_id: ("first_block", "pab", "taylorseer") for spec_id in DEFAULTS
       if spec_id.startswith(("portrait.wan", "portrait.ltx"))},
    "portrait.cogvideox-5b-i2v": ("first_block", "pab", "faster", "taylorseer"),
    "portrait.hunyuanvideo-1.5-i2v": ("pab", "taylorseer"),
}
