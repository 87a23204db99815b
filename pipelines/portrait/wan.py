"""Wan 2.1 / 2.2 image-to-video through diffusers' WanImageToVideoPipeline.

One runner covers Wan 2.1 I2V 14B (480P, 720P), Wan 2.1 FLF2V (first and last frame), Wan 2.2
I2V A14B (two experts: ``transformer`` for high noise, ``transformer_2`` below the boundary
ratio) and Wan 2.2 TI2V-5B (``expand_timesteps``: the picture is the first latent frame, no
CLIP image encoder). Wan's VAE makes ``4k + 1`` frames: the runner generates the next such count
and keeps the frames asked for.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pipelines.errors import InputError
from pipelines.portrait.geometry import FitPlan, to_model
from pipelines.portrait.types import AnimateRequest
from pipelines.portrait.video_model import DitRunner, frame_note, frames_for, load_pipeline
from pipelines.registry import LoadContext


class WanAnimator(DitRunner):
    """Runner of the ``portrait.wan*`` specs."""

    caches = ("first_block", "pab", "taylorseer")
    tensor_format = "BCFHW"
    needs = ("ftfy", "sentencepiece")

    def __init__(self, pipe, device, dtype, ctx=None):
        super().__init__(pipe, device, dtype, ctx)
        patch = int(pipe.transformer.config.patch_size[1])
        self.multiple = int(pipe.vae_scale_factor_spatial) * patch
        self.temporal = int(pipe.vae_scale_factor_temporal)
        # An end picture works where the model was made for it: FLF2V (its transformer embeds
        # two CLIP pictures, pos_embed_seq_len) and Wan 2.2 A14B (no CLIP: latents only). Wan 2.1
        # I2V's transformer takes one CLIP picture; TI2V-5B has no end-frame path.
        clip = getattr(pipe, "image_encoder", None) is not None
        flf = pipe.transformer.config.get("pos_embed_seq_len") is not None
        self.takes_last_image = not pipe.config.get("expand_timesteps", False) and (
            flf or not clip)
        self.needs_last_image = flf and clip  # FLF2V's transformer always embeds two pictures

    def check(self, request: AnimateRequest) -> None:
        super().check(request)
        if self.needs_last_image and request.last_image is None:
            raise InputError(f"{self.label} goes from a first to a last picture; add an end "
                             "picture, or pick Wan 2.1 I2V for one picture.")

    def generate(self, request: AnimateRequest, plan: FitPlan, image: np.ndarray,
                 step: Callable[[int, int], None]) -> tuple[np.ndarray, list[str]]:
        opts = request.dit
        count = frames_for(request.frames, self.temporal)
        width, height = plan.model_size
        extra = {}
        if request.last_image is not None:
            extra["last_image"] = self.pil(to_model(request.last_image, plan))
        if getattr(self.pipe, "transformer_2", None) is not None:
            extra["guidance_scale_2"] = opts.guidance
        output = self.pipe(
            image=self.pil(image), prompt=opts.prompt, negative_prompt=opts.negative_prompt,
            height=height, width=width, num_frames=count, num_inference_steps=opts.steps,
            guidance_scale=opts.guidance, generator=self.generator(request.seed),
            output_type="np", callback_on_step_end=self.step_callback(step, opts.steps),
            **extra,
        )
        note = frame_note(request.frames, count, self.temporal)
        return output.frames[0][: request.frames], [note] if note else []


def build(ctx: LoadContext) -> WanAnimator:
    from diffusers import WanImageToVideoPipeline

    pipe = load_pipeline(WanImageToVideoPipeline, ctx, needs=WanAnimator.needs)
    return WanAnimator(pipe.to(ctx.device), ctx.device, ctx.dtype, ctx)
