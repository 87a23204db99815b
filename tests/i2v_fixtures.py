"""Tiny checkpoints of the 2025-2026 image-to-video backends, in their repos' layouts.

Each builder makes the pipeline from tiny configs the way diffusers' fast tests do (seeded,
one or two blocks, a few channels), saves it with ``save_pretrained`` into ``folder`` in the
published repo's layout, and returns the folder. Text encoders are tiny T5s whose tokenizer
folder holds only ``spiece.model`` and its configs where the real repo has exactly that (LTX,
CogVideoX): loading it converts the SentencePiece model, which is what needs sentencepiece and
protobuf. The SentencePiece model itself is trained here on a few words (no download).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

_WORDS = ("a", "person", "smiles", "and", "turns", "the", "head", "slowly", "breathing", "calm",
          "natural", "motion", "camera", "looks", "worst", "quality", "blurry", "jittery",
          "distorted", "dance", "monkey", "face", "light")


def spiece_model(folder: Path) -> Path:
    """A 40-piece unigram SentencePiece model trained on a few words, as ``spiece.model``."""
    import sentencepiece as spm

    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    sentences = [" ".join(_WORDS[i:] + _WORDS[:i]) for i in range(len(_WORDS))]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences * 4), model_writer=buffer, vocab_size=40,
        hard_vocab_limit=False, model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        character_coverage=1.0, minloglevel=2,
    )
    path = folder / "spiece.model"
    path.write_bytes(buffer.getvalue())
    return path


def t5_parts(tokenizer_dir: Path, *, d_model: int = 32, umt5: bool = False):
    """(tiny T5 encoder, T5 tokenizer) sharing a SentencePiece vocabulary (umT5 for Wan)."""
    import torch
    from transformers import T5Config, T5EncoderModel, T5Tokenizer, UMT5EncoderModel

    spiece = spiece_model(tokenizer_dir)
    tokenizer = T5Tokenizer(vocab_file=str(spiece), extra_ids=0)
    torch.manual_seed(0)
    encoder = (UMT5EncoderModel if umt5 else T5EncoderModel)(T5Config(
        vocab_size=64, d_model=d_model, d_kv=8, d_ff=37, num_layers=1, num_heads=4,
        relative_attention_num_buckets=8,
    ))  # fmt: skip
    return encoder, tokenizer


def sentencepiece_only(folder: Path, subfolder: str = "tokenizer") -> None:
    """Leave the tokenizer folder as the real LTX and CogVideoX repos have it: spiece.model,
    tokenizer_config.json and special_tokens_map.json, no tokenizer.json."""
    target = folder / subfolder
    spiece = spiece_model(target.parent / "_spiece")
    shutil.copy(spiece, target / "spiece.model")
    shutil.rmtree(spiece.parent)
    (target / "tokenizer.json").unlink(missing_ok=True)
    config = json.loads((target / "tokenizer_config.json").read_text())
    config.update(tokenizer_class="T5Tokenizer", extra_ids=0, model_max_length=512)
    config.pop("vocab_file", None)
    (target / "tokenizer_config.json").write_text(json.dumps(config))
    special = {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    (target / "special_tokens_map.json").write_text(json.dumps(special))


def _wan_vae(wan22: bool = False):
    import torch
    from diffusers import AutoencoderKLWan

    torch.manual_seed(0)
    if wan22:  # Wan 2.2's VAE: 48 latent channels, pixel patches of 2, 16x spatial factor
        return AutoencoderKLWan(
            base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True,
            patch_size=2, latents_mean=[0.0] * 48, latents_std=[1.0] * 48,
            dim_mult=[1, 1, 1, 1], num_res_blocks=1, scale_factor_spatial=16,
            scale_factor_temporal=4, temperal_downsample=[False, True, True],
        )  # fmt: skip
    return AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True])


def _wan_transformer(in_channels: int, out_channels: int = 16, image_dim: int | None = None,
                     pos_embed_seq_len: int | None = None):
    import torch
    from diffusers import WanTransformer3DModel

    torch.manual_seed(0)
    return WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
        in_channels=in_channels, out_channels=out_channels, text_dim=32, freq_dim=256,
        ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32, image_dim=image_dim, pos_embed_seq_len=pos_embed_seq_len,
    )  # fmt: skip


def tiny_wan21(folder: Path, flf: bool = False, **save) -> Path:
    """Wan2.1-I2V-14B-480P-Diffusers' layout: CLIP image encoder and processor included. With
    ``flf``, Wan2.1-FLF2V's: the transformer embeds the positions of two CLIP pictures."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    encoder, tokenizer = t5_parts(folder / "_spm", umt5=True)
    torch.manual_seed(0)
    image_encoder = CLIPVisionModel(CLIPVisionConfig(
        hidden_size=4, num_hidden_layers=2, num_attention_heads=2,
        image_size=32, intermediate_size=16, patch_size=1,
    ))  # fmt: skip
    pipe = WanImageToVideoPipeline(
        tokenizer=tokenizer, text_encoder=encoder, vae=_wan_vae(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        image_processor=CLIPImageProcessor(crop_size=32, size=32),
        image_encoder=image_encoder,
        # Two pictures of 32x32 CLIP patches plus a class token each (FLF2V's position table).
        transformer=_wan_transformer(36, image_dim=4, pos_embed_seq_len=2 * 1025 if flf else None),
    )  # fmt: skip
    pipe.save_pretrained(folder, **save)
    shutil.rmtree(folder / "_spm")
    return folder


def tiny_wan22_a14b(folder: Path, **save) -> Path:
    """Wan2.2-I2V-A14B-Diffusers' layout: two transformers, a boundary ratio, no CLIP."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline

    encoder, tokenizer = t5_parts(folder / "_spm", umt5=True)
    pipe = WanImageToVideoPipeline(
        tokenizer=tokenizer, text_encoder=encoder, vae=_wan_vae(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), image_processor=None,
        image_encoder=None, transformer=_wan_transformer(36),
        transformer_2=_wan_transformer(36), boundary_ratio=0.875,
    )  # fmt: skip
    pipe.save_pretrained(folder, **save)
    shutil.rmtree(folder / "_spm")
    return folder


def tiny_wan22_5b(folder: Path, **save) -> Path:
    """Wan2.2-TI2V-5B-Diffusers' layout: one transformer, the 48-channel VAE, expand_timesteps."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline

    encoder, tokenizer = t5_parts(folder / "_spm", umt5=True)
    pipe = WanImageToVideoPipeline(
        tokenizer=tokenizer, text_encoder=encoder, vae=_wan_vae(wan22=True),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0), image_processor=None,
        image_encoder=None, transformer=_wan_transformer(48, out_channels=48),
        expand_timesteps=True,
    )  # fmt: skip
    pipe.save_pretrained(folder, **save)
    shutil.rmtree(folder / "_spm")
    return folder


def tiny_wan_vace(folder: Path, **save) -> Path:
    """Wan2.1-VACE-1.3B-diffusers' layout: one VACE transformer (control blocks at layers 0 and
    2 of 3), umT5, the Wan 2.1 VAE; no image encoder."""
    import torch
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        WanVACEPipeline,
        WanVACETransformer3DModel,
    )

    encoder, tokenizer = t5_parts(folder / "_spm", umt5=True)
    torch.manual_seed(0)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16,
        out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=3,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
        vace_layers=[0, 2], vace_in_channels=96,  # 16 + 16 latent channels + 8x8 mask pixels
    )  # fmt: skip
    pipe = WanVACEPipeline(tokenizer=tokenizer, text_encoder=encoder, vae=_wan_vae(),
                           scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
                           transformer=transformer)
    pipe.save_pretrained(folder, **save)
    shutil.rmtree(folder / "_spm")
    return folder


def _ltx_components(folder: Path):
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXVideoTransformer3DModel,
    )

    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4,
        attention_head_dim=8, cross_attention_dim=32, num_layers=2, caption_channels=32,
    )  # fmt: skip
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False), upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=True, patch_size=1, patch_size_t=1, encoder_causal=True,
        decoder_causal=False,
    )  # fmt: skip
    encoder, tokenizer = t5_parts(folder / "_spm")
    return dict(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=encoder,
                tokenizer=tokenizer, transformer=transformer)


def tiny_ltx(folder: Path, condition: bool = False, **save) -> Path:
    """LTX-Video 0.9.1 (image-to-video) or 0.9.7 (condition) in diffusers format: a VAE with
    timestep conditioning and a SentencePiece-only tokenizer folder, as the real repos."""
    from diffusers import LTXConditionPipeline, LTXImageToVideoPipeline

    cls = LTXConditionPipeline if condition else LTXImageToVideoPipeline
    cls(**_ltx_components(folder)).save_pretrained(folder, **save)
    shutil.rmtree(folder / "_spm")
    sentencepiece_only(folder)
    return folder


def tiny_cogvideox(folder: Path, **save) -> Path:
    """CogVideoX-5b-I2V's layout: learned positional embeddings for one size (here 96x64),
    226 text tokens, a SentencePiece-only tokenizer folder."""
    import torch
    from diffusers import (
        AutoencoderKLCogVideoX,
        CogVideoXDDIMScheduler,
        CogVideoXImageToVideoPipeline,
        CogVideoXTransformer3DModel,
    )

    torch.manual_seed(0)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=2, attention_head_dim=16, in_channels=8, out_channels=4,
        time_embed_dim=2, text_embed_dim=32, num_layers=2, sample_width=12, sample_height=8,
        sample_frames=9, patch_size=2, temporal_compression_ratio=4, max_text_seq_length=226,
        use_rotary_positional_embeddings=True, use_learned_positional_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    vae = AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4, up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8), latent_channels=4, layers_per_block=1,
        norm_num_groups=2, temporal_compression_ratio=4,
    )  # fmt: skip
    encoder, tokenizer = t5_parts(folder / "_spm")
    CogVideoXImageToVideoPipeline(
        tokenizer=tokenizer, text_encoder=encoder, vae=vae, transformer=transformer,
        scheduler=CogVideoXDDIMScheduler(),
    ).save_pretrained(folder, **save)  # fmt: skip
    shutil.rmtree(folder / "_spm")
    sentencepiece_only(folder)
    return folder


def tiny_lora(pipeline_class, transformer, folder: Path, rank: int = 2) -> Path:
    """A LoRA for ``transformer`` (random, non-zero) saved the way diffusers saves LoRAs."""
    import torch
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(1)
    transformer.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False,
                                       target_modules=["to_q", "to_k", "to_v", "to_out.0"]),
                            adapter_name="made")
    layers = get_peft_model_state_dict(transformer, adapter_name="made")
    transformer.delete_adapters("made")
    folder.mkdir(parents=True, exist_ok=True)
    pipeline_class.save_lora_weights(folder, transformer_lora_layers=layers,
                                     weight_name="tiny_lora.safetensors")
    return folder / "tiny_lora.safetensors"


_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{{ part['text'] }}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def qwen_tokenizer(folder: Path):
    """A byte-level BPE tokenizer with Qwen2's special tokens and no merges (every byte is a
    token), with a chat template, saved in ``folder``."""
    from transformers import Qwen2Tokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {char: index for index, char in enumerate(bytes_to_unicode().values())}
    for token in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
        vocab[token] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = Qwen2Tokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"),
                               unk_token="<|endoftext|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer


def tiny_hunyuan15(folder: Path, **save) -> Path:
    """HunyuanVideo-1.5-Diffusers-480p_i2v's layout: Qwen2.5-VL text model, ByT5 glyph encoder,
    SigLIP image encoder and processor, a classifier-free guider, the 1.5 VAE."""
    import torch
    from diffusers import (
        AutoencoderKLHunyuanVideo15,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideo15ImageToVideoPipeline,
        HunyuanVideo15Transformer3DModel,
    )
    from diffusers.guiders import ClassifierFreeGuidance
    from transformers import (
        ByT5Tokenizer,
        Qwen2_5_VLTextConfig,
        Qwen2_5_VLTextModel,
        SiglipImageProcessor,
        SiglipVisionConfig,
        SiglipVisionModel,
        T5Config,
        T5EncoderModel,
    )

    torch.manual_seed(0)
    transformer = HunyuanVideo15Transformer3DModel(
        in_channels=9, out_channels=4, num_attention_heads=2, attention_head_dim=8,
        num_layers=2, num_refiner_layers=1, mlp_ratio=2.0, patch_size=1, patch_size_t=1,
        text_embed_dim=16, text_embed_2_dim=32, image_embed_dim=12, rope_axes_dim=(2, 2, 4),
        target_size=64, task_type="i2v",
    )  # fmt: skip
    torch.manual_seed(0)
    vae = AutoencoderKLHunyuanVideo15(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 16),
        layers_per_block=1, spatial_compression_ratio=4, temporal_compression_ratio=2,
        downsample_match_channel=False, upsample_match_channel=False,
    )  # fmt: skip
    torch.manual_seed(0)
    text_encoder = Qwen2_5_VLTextModel(Qwen2_5_VLTextConfig(
        vocab_size=300, hidden_size=16, intermediate_size=16, num_hidden_layers=3,
        num_attention_heads=2, num_key_value_heads=2, rope_theta=1000000.0,
        rope_scaling={"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
    ))  # fmt: skip
    torch.manual_seed(0)
    text_encoder_2 = T5EncoderModel(T5Config(
        vocab_size=384, d_model=32, d_kv=8, d_ff=37, num_layers=1, num_heads=4,
        relative_attention_num_buckets=8,
    ))  # fmt: skip
    torch.manual_seed(0)
    image_encoder = SiglipVisionModel(SiglipVisionConfig(
        hidden_size=12, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
        image_size=16, patch_size=4,
    ))  # fmt: skip
    pipe = HunyuanVideo15ImageToVideoPipeline(
        text_encoder=text_encoder, tokenizer=qwen_tokenizer(folder / "_qwen"),
        transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder_2=text_encoder_2, tokenizer_2=ByT5Tokenizer(),
        guider=ClassifierFreeGuidance(guidance_scale=6.0), image_encoder=image_encoder,
        feature_extractor=SiglipImageProcessor(size={"height": 16, "width": 16}),
    )  # fmt: skip
    pipe.save_pretrained(folder, **save)
    shutil.rmtree(folder / "_qwen")
    return folder


def hub_snapshot(cache: Path, repo_id: str, revision: str | None = None) -> Path:
    """The snapshot folder of ``repo_id`` inside a Hugging Face cache at ``cache`` (created,
    with ``refs/main`` naming it), where a builder writes the repo's files; a test points
    ``huggingface_hub.constants.HF_HUB_CACHE`` at ``cache`` and loads by the real repo id.
    A pinned spec's ``revision`` names the snapshot, as a fetch at that commit would."""
    import hashlib

    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = revision or hashlib.sha1(repo_id.encode()).hexdigest()  # else a test's own
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return repo / "snapshots" / commit


# Small enough that every text encoder and transformer of the tiny pipelines is saved in at least
# two shards with its index, as the real repos store their large components.
SHARD_SIZE = "24KB"


def builders() -> dict:
    """Every diffusers spec of the catalog -> the tiny builder of its repo's layout (a test
    checks that no spec is missing). Builders take ``folder`` and ``save_pretrained`` options."""
    from functools import partial

    from tests.portrait_fixtures import tiny_svd

    svd = partial(tiny_svd, variants=(None, "fp16"))  # the real repos hold fp32 and fp16 files
    condition = partial(tiny_ltx, condition=True)
    return {
        "portrait.svd": svd,
        "portrait.svd-xt": svd,
        "portrait.ltx-video": tiny_ltx,
        "portrait.ltx-0.9.7": condition,
        "portrait.ltx-0.9.7-distilled": condition,
        "portrait.wan2.1-i2v-14b-480p": tiny_wan21,
        "portrait.wan2.1-i2v-14b-480p-lightx2v": tiny_wan21,
        "portrait.wan2.1-i2v-14b-720p": tiny_wan21,
        "portrait.wan2.1-flf2v-14b-720p": partial(tiny_wan21, flf=True),
        "portrait.wan2.2-i2v-a14b": tiny_wan22_a14b,
        "portrait.wan2.2-ti2v-5b": tiny_wan22_5b,
        "portrait.cogvideox-5b-i2v": tiny_cogvideox,
        "portrait.hunyuanvideo-1.5-i2v": tiny_hunyuan15,
        "remove.wan-vace": tiny_wan_vace,
    }


def download_like_hub(repo: Path, snapshot: Path, patterns) -> list[str]:
    """Copy into ``snapshot`` exactly the files of ``repo`` that ``snapshot_download`` with
    ``allow_patterns=patterns`` would take (huggingface_hub's own filter); returns their names."""
    from huggingface_hub.utils import filter_repo_objects

    names = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file())
    taken = list(filter_repo_objects(names, allow_patterns=list(patterns)))
    for name in taken:
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, snapshot / name)
    return taken


def cached_repo(cache: Path, spec, build=None) -> tuple[Path, Path]:
    """The spec's repo made tiny and sharded (every variant the real repo has) in a folder
    beside ``cache``, then placed in the cache as a real fetch would: its model_index.json
    first, then the files the spec's own patterns select. Returns (repo folder, snapshot)."""
    from pipelines import hub

    repo = cache.parent / f"{cache.name}-repos" / spec.repo_id.replace("/", "--")
    if not (repo / "model_index.json").is_file():
        (build or builders()[spec.id])(repo, max_shard_size=SHARD_SIZE)
    snapshot = hub_snapshot(cache, spec.repo_id, spec.revision)
    download_like_hub(repo, snapshot, hub.spec_patterns(spec, repo))
    return repo, snapshot
