"""LTX-Video through diffusers: LTXImageToVideoPipeline (0.9.1) and LTXConditionPipeline
(0.9.7 dev and distilled: pictures at chosen frames).

The model animates the picture as its first frame, steered by a prompt (and a negative prompt)
with classifier-free guidance. Its VAE compresses time, so it generates ``k * r + 1`` frames
(``r`` = 8); the runner generates the next such count and keeps the frames asked for. From
0.9.1 on the VAE decoder is timestep-conditioned, so ``decode_timestep`` and
``decode_noise_scale`` apply (0.9.0's VAE ignores them; the runner says so if it meets one).
With the condition pipeline, an end picture becomes a condition at the last frame and keyframes
become conditions at their frames.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pipelines.portrait.geometry import FitPlan, to_model
from pipelines.portrait.types import AnimateRequest
from pipelines.portrait.video_model import DitRunner, frame_note, frames_for, load_pipeline
from pipelines.registry import LoadContext

DECODE_TIMESTEP = 0.05
DECODE_NOISE_SCALE = 0.025
# The distilled 0.9.7 model's published 8-step schedule (its model card and diffusers' docs).
DISTILLED_TIMESTEPS = (1000, 993, 987, 981, 975, 909, 725, 0.03)
# LTX's T5 tokenizer folder holds only spiece.model: converting it needs these.
LTX_NEEDS = ("sentencepiece", "google.protobuf")


class LtxAnimator(DitRunner):
    """Runner of ``portrait.ltx-video`` (LTXImageToVideoPipeline)."""

    multiple = 32
    temporal = 8
    caches = ("first_block", "pab", "taylorseer")
    tensor_format = "BCFHW"
    needs = LTX_NEEDS

    def __init__(self, pipe, device, dtype, ctx=None):
        super().__init__(pipe, device, dtype, ctx)
        self.temporal = int(pipe.vae_temporal_compression_ratio)
        # The pipeline checks sides against 32 whatever its VAE's factor.
        self.multiple = max(32, int(pipe.vae_spatial_compression_ratio))
        self.decode_conditioned = bool(pipe.vae.config.get("timestep_conditioning", False))

    def decode_args(self) -> tuple[dict[str, float], list[str]]:
        if self.decode_conditioned:
            return {"decode_timestep": DECODE_TIMESTEP,
                    "decode_noise_scale": DECODE_NOISE_SCALE}, []
        return {}, ["This LTX-Video VAE has no timestep conditioning (v0.9.0), so the decode "
                    "timestep does not apply; LTX-Video 0.9.1 or newer decodes sharper."]

    def generate(self, request: AnimateRequest, plan: FitPlan, image: np.ndarray,
                 step: Callable[[int, int], None]) -> tuple[np.ndarray, list[str]]:
        opts = request.dit
        count = frames_for(request.frames, self.temporal)
        width, height = plan.model_size
        decode, notes = self.decode_args()
        output = self.pipe(
            image=self.pil(image), prompt=opts.prompt, negative_prompt=opts.negative_prompt,
            height=height, width=width, num_frames=count,
            frame_rate=max(1, round(request.fps)), num_inference_steps=opts.steps,
            guidance_scale=opts.guidance, generator=self.generator(request.seed),
            output_type="np", callback_on_step_end=self.step_callback(step, opts.steps),
            **decode,
        )
        note = frame_note(request.frames, count, self.temporal)
        return output.frames[0][: request.frames], notes + ([note] if note else [])


class LtxConditionAnimator(LtxAnimator):
    """Runner of the LTX 0.9.7 specs (LTXConditionPipeline): pictures at chosen frames."""

    takes_last_image = True
    takes_keyframes = True

    def generate(self, request: AnimateRequest, plan: FitPlan, image: np.ndarray,
                 step: Callable[[int, int], None]) -> tuple[np.ndarray, list[str]]:
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        opts = request.dit
        count = frames_for(request.frames, self.temporal)
        width, height = plan.model_size
        conditions = [LTXVideoCondition(image=self.pil(image), frame_index=0)]
        for key in sorted(request.keyframes, key=lambda k: k.frame):
            conditions.append(LTXVideoCondition(image=self.pil(to_model(key.image, plan)),
                                                frame_index=key.frame, strength=key.strength))
        if request.last_image is not None:
            # The last generated frame, which is also the last frame kept when count > frames.
            conditions.append(LTXVideoCondition(
                image=self.pil(to_model(request.last_image, plan)), frame_index=count - 1))
        decode, notes = self.decode_args()
        extra = {}
        distilled = "distilled" in (self.ctx.spec.tags if self.ctx is not None else ())
        if distilled and opts.steps == len(DISTILLED_TIMESTEPS):
            extra["timesteps"] = list(DISTILLED_TIMESTEPS)
        output = self.pipe(
            conditions=conditions, prompt=opts.prompt, negative_prompt=opts.negative_prompt,
            height=height, width=width, num_frames=count,
            frame_rate=max(1, round(request.fps)), num_inference_steps=opts.steps,
            guidance_scale=opts.guidance, generator=self.generator(request.seed),
            output_type="np", callback_on_step_end=self.step_callback(step, opts.steps),
            **decode, **extra,
        )
        frames = output.frames[0]
        if request.last_image is not None and count != request.frames:
            keep = [*range(request.frames - 1), count - 1]  # end on the end picture
            frames = frames[keep]
            notes.append(f"This model makes {self.temporal}k+1 frames; it generated {count} and "
                         f"kept the first {request.frames - 1} and the end picture's frame.")
        else:
            frames = frames[: request.frames]
            note = frame_note(request.frames, count, self.temporal)
            notes += [note] if note else []
        return frames, notes


def build(ctx: LoadContext) -> LtxAnimator:
    from diffusers import LTXImageToVideoPipeline

    pipe = load_pipeline(LTXImageToVideoPipeline, ctx, needs=LTX_NEEDS)
    return LtxAnimator(pipe.to(ctx.device), ctx.device, ctx.dtype, ctx)


def build_condition(ctx: LoadContext) -> LtxConditionAnimator:
    from diffusers import LTXConditionPipeline

    pipe = load_pipeline(LTXConditionPipeline, ctx, needs=LTX_NEEDS)
    return LtxConditionAnimator(pipe.to(ctx.device), ctx.device, ctx.dtype, ctx)
