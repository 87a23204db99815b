"""Image-to-video backends: load time and a 2-step smoke on the CPU; memory modes and step caches
of full-size architectures on a GPU.

CPU (always): every new backend built tiny from configs in its repo's layout, loaded through the
registry (seconds) and run for 2 steps at 64 pixels (seconds): a harness check, not a speed
figure of the real models.

GPU (``--gpu``, needs CUDA; one unattended command): Wan 2.1 I2V 14B 480P (81 frames 832x480)
and LTX-Video 0.9.7 distilled 13B (97 frames 768x512), full-size transformer, text and image
encoders and VAE from their published configs with random bf16 weights (speed and memory do not
depend on weight values). For each: a plain diffusers call, then the studio's runner in each
memory mode and with each step cache: seconds per step, seconds per video, peak GPU memory and
ratios against the plain call. Targets (issue 14): studio path at most 1.05x plain; Wan 14B
under 16 GB peak in its lowest mode; a step cache at least 1.4x faster per video. The int8 mode
reloads weights from disk, which random weights do not have, so it is left out here.

    python bench/i2v.py [--gpu] [--steps 4] [--models wan,ltx]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from pipelines.catalog import build_registry  # noqa: E402
from pipelines.portrait import memory as mem  # noqa: E402
from pipelines.portrait.types import AnimateRequest, DitSettings  # noqa: E402

GIB = 1024**3


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def picture(height: int = 128, width: int = 192) -> np.ndarray:
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------------------------
# CPU: tiny backends through the registry


def cpu_smoke() -> None:
    import torch

    from tests import i2v_fixtures as fx

    torch.set_num_threads(max(1, torch.get_num_threads()))
    builders = {
        "portrait.wan2.1-i2v-14b-480p": fx.tiny_wan21,
        "portrait.wan2.2-i2v-a14b": fx.tiny_wan22_a14b,
        "portrait.wan2.2-ti2v-5b": fx.tiny_wan22_5b,
        "portrait.ltx-video": fx.tiny_ltx,
        "portrait.ltx-0.9.7": lambda f: fx.tiny_ltx(f, condition=True),
        "portrait.cogvideox-5b-i2v": fx.tiny_cogvideox,
    }
    rows = []
    image = picture()
    with tempfile.TemporaryDirectory() as tmp:
        registry = build_registry()
        for spec_id, build in builders.items():
            folder = build(Path(tmp) / spec_id)
            registry.replace(spec_id, repo_id=str(folder), needs_gpu=False, est_memory_gb=0.0)
            start = time.perf_counter()
            registry.load(spec_id, dtype="float32")
            load = time.perf_counter() - start
            request = AnimateRequest(image, frames=9, fps=16, dit=DitSettings(
                prompt="a smile", negative_prompt="", steps=2, side=64, fit="pad"))
            with registry.pinned(spec_id, dtype="float32") as runner:
                start = time.perf_counter()
                result = runner(request)
                run = time.perf_counter() - start
            rows.append([spec_id, f"{load:.2f}", f"{run:.2f}", len(result.frames),
                         "x".join(map(str, result.size))])
            registry.unload(spec_id)
    print("CPU, tiny models (harness check, not real-model speed):")
    print(table(["backend", "load s", "2-step run s", "frames", "size"], rows))


# --------------------------------------------------------------------------------------------
# GPU: full-size architectures with random weights

WAN_14B_I2V = dict(
    patch_size=(1, 2, 2), num_attention_heads=40, attention_head_dim=128, in_channels=36,
    out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=13824, num_layers=40,
    cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=1280,
    added_kv_proj_dim=5120, rope_max_seq_len=1024,
)  # Wan-AI/Wan2.1-I2V-14B-480P-Diffusers transformer/config.json
UMT5_XXL = dict(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24,
                num_heads=64, feed_forward_proj="gated-gelu", relative_attention_num_buckets=32)
T5_XXL = dict(vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
              feed_forward_proj="gated-gelu", relative_attention_num_buckets=32)
CLIP_H14 = dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
                num_attention_heads=16, image_size=224, patch_size=14, projection_dim=1024,
                hidden_act="gelu")
LTX_13B = dict(in_channels=128, out_channels=128, patch_size=1, patch_size_t=1,
               num_attention_heads=32, attention_head_dim=128, cross_attention_dim=4096,
               num_layers=48, caption_channels=4096)  # LTX-Video 0.9.7 13B transformer


def _tokenizer(folder: Path):
    from transformers import T5Tokenizer

    from tests.i2v_fixtures import spiece_model

    return T5Tokenizer(vocab_file=str(spiece_model(folder)), extra_ids=0)


def wan_pipeline(folder: Path):
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModel,
        T5Config,
        UMT5EncoderModel,
    )

    dtype = torch.bfloat16
    with torch.device("cuda"):
        torch.manual_seed(0)
        transformer = WanTransformer3DModel(**WAN_14B_I2V).to(dtype)
        text = UMT5EncoderModel(T5Config(**UMT5_XXL)).to(dtype)
        image = CLIPVisionModel(CLIPVisionConfig(**CLIP_H14)).to(dtype)
        vae = AutoencoderKLWan().to(torch.float32)
    return WanImageToVideoPipeline(
        tokenizer=_tokenizer(folder), text_encoder=text, vae=vae,
        scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction",
                                          use_flow_sigmas=True, flow_shift=3.0),
        image_processor=CLIPImageProcessor(crop_size=224, size=224), image_encoder=image,
        transformer=transformer,
    )  # fmt: skip


def ltx_pipeline(folder: Path):
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    dtype = torch.bfloat16
    with torch.device("cuda"):
        torch.manual_seed(0)
        transformer = LTXVideoTransformer3DModel(**LTX_13B).to(dtype)
        text = T5EncoderModel(T5Config(**T5_XXL)).to(dtype)
        vae = AutoencoderKLLTXVideo(timestep_conditioning=True).to(dtype)
    return LTXConditionPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae,
                                text_encoder=text, tokenizer=_tokenizer(folder),
                                transformer=transformer)


def gpu_bench(models: list[str], steps: int) -> None:
    from pipelines.portrait.ltx import LtxConditionAnimator
    from pipelines.portrait.wan import WanAnimator

    registry = build_registry()
    setups = {
        "wan": ("portrait.wan2.1-i2v-14b-480p", wan_pipeline, WanAnimator, 81, (832, 480),
                5.0),
        "ltx": ("portrait.ltx-0.9.7-distilled", ltx_pipeline, LtxConditionAnimator, 97,
                (768, 512), 1.0),
    }
    for key in models:
        bench_model(registry, setups[key], key, steps)


def bench_model(registry, setup, key: str, steps: int) -> None:
    """Plain call, memory modes and step caches of one full-size model (see the docstring)."""
    import gc

    import torch
    from PIL import Image

    from pipelines.portrait.geometry import to_model
    from pipelines.portrait.specs import CACHES
    from pipelines.registry import LoadContext

    spec_id, make, runner_class, frames, (width, height), guidance = setup
    image = picture(height, width)
    spec = registry.get(spec_id)
    ctx = LoadContext(spec, "cuda", "bfloat16", None)
    side = round((width * height) ** 0.5)

    def fresh():
        with tempfile.TemporaryDirectory() as tmp:
            pipe = make(Path(tmp))
        return pipe, runner_class(pipe, "cuda", "bfloat16", ctx)

    def measure(call) -> tuple[float, int]:
        torch.cuda.synchronize()
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        call()
        torch.cuda.synchronize()
        return time.perf_counter() - start, int(torch.cuda.max_memory_allocated())

    def request(memory: str = "gpu", cache: str = "none", count: int = steps) -> AnimateRequest:
        return AnimateRequest(image, frames=frames, fps=24, dit=DitSettings(
            prompt="a person smiles", negative_prompt="blurry", steps=count, guidance=guidance,
            side=side, fit="crop", memory=memory, cache=cache))

    pipe, runner = fresh()
    runner.set_memory("gpu")
    plan = runner.plan(request())
    model_w, model_h = plan.model_size
    first = Image.fromarray(to_model(image, plan))
    kwargs: dict = {}
    if key == "ltx":
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        kwargs["conditions"] = [LTXVideoCondition(image=first, frame_index=0)]
    else:
        kwargs["image"] = first
    count = -(-(frames - 1) // runner.temporal) * runner.temporal + 1

    def plain() -> None:
        pipe(prompt="a person smiles", negative_prompt="blurry", height=model_h, width=model_w,
             num_frames=count, num_inference_steps=steps, guidance_scale=guidance,
             generator=torch.Generator("cpu").manual_seed(0), output_type="np", **kwargs)

    runner(request())  # warm-up (kernels, allocator)
    base_s, base_peak = measure(plain)
    rows: list[list[object]] = [["plain diffusers call", "-", f"{base_s / steps:.2f}",
                                 f"{base_s:.1f}", f"{base_peak / GIB:.1f}", "1.00", ""]]
    # fp8 storage changes the weights in place: each such mode gets a freshly built pipeline
    # (random weights have no folder to reload from).
    for mode in ("gpu", "chunked", "offload", "low", "group", "fp8", "group_leaf"):
        if mem.PLANS[mode].changes_weights:
            pipe = runner = None
            gc.collect()
            torch.cuda.empty_cache()
            pipe, runner = fresh()
        try:
            seconds, peak = measure(lambda m=mode, r=runner: r(request(m)))
        except Exception as err:  # a mode that fails is a row, not a crash
            rows.append([f"studio, {mode}", "-", "-", "-", "-", "-", type(err).__name__])
            continue
        estimate = mem.estimate_peak_bytes(spec, mode, frames, model_h, model_w)
        rows.append([f"studio, {mode}", f"{estimate / GIB:.1f}", f"{seconds / steps:.2f}",
                     f"{seconds:.1f}", f"{peak / GIB:.1f}", f"{seconds / base_s:.2f}", ""])
    print(f"\n{spec.label}: {frames} frames {model_w}x{model_h}, {steps} steps, bf16, "
          "random weights")
    print(table(["path", "est. peak GB", "s/step", "s/video", "peak GB", "x plain", "error"],
                rows))
    pipe = runner = None
    gc.collect()
    torch.cuda.empty_cache()
    # Step caches on a fresh gpu-mode pipeline (fp8 storage above changed the weights).
    pipe, runner = fresh()
    cache_steps = max(steps, 12)  # caches skip work only after their warm-up steps
    rows, base = [], None
    for cache in ("none", *CACHES[spec_id]):
        seconds, peak = measure(lambda c=cache: runner(request("gpu", c, cache_steps)))
        base = base or seconds
        rows.append([cache, f"{seconds:.1f}", f"{peak / GIB:.1f}", f"{base / seconds:.2f}"])
    print(f"\n{spec.label}: step caches, {cache_steps} steps, gpu mode")
    print(table(["step cache", "s/video", "peak GB", "speed-up"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="full-size models on CUDA")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--models", default="wan,ltx")
    args = parser.parse_args()
    cpu_smoke()
    if args.gpu:
        import torch

        if not torch.cuda.is_available():
            print("--gpu asked for but CUDA is not available; GPU figures skipped.")
            return
        gpu_bench([m.strip() for m in args.models.split(",") if m.strip()], args.steps)


if __name__ == "__main__":
    main()
