"""CogVideoX-5B I2V through diffusers' CogVideoXImageToVideoPipeline.

CogVideoX-5B-I2V has learned positional embeddings for one size, 720x480 (its transformer's
``sample_width`` and ``sample_height`` times the VAE factor), so every picture is fitted to that
size (crop around the face, or pad) and restored afterwards. Its VAE makes ``4k + 1`` frames
(49 trained); the runner generates the next such count and keeps the frames asked for.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pipelines.faces import detect_faces
from pipelines.portrait.geometry import FitPlan, plan_fit
from pipelines.portrait.types import AnimateRequest
from pipelines.portrait.video_model import DitRunner, frame_note, frames_for, load_pipeline
from pipelines.registry import LoadContext

COG_NEEDS = ("sentencepiece", "google.protobuf")


class CogVideoXAnimator(DitRunner):
    """Runner of ``portrait.cogvideox-5b-i2v``."""

    caches = ("first_block", "pab", "faster", "taylorseer")
    tensor_format = "BFCHW"
    needs = COG_NEEDS

    def __init__(self, pipe, device, dtype, ctx=None):
        super().__init__(pipe, device, dtype, ctx)
        config = pipe.transformer.config
        factor = int(pipe.vae_scale_factor_spatial)
        self.multiple = factor * int(config.patch_size)
        self.temporal = int(pipe.vae_scale_factor_temporal)
        self.fixed = None
        if config.get("use_learned_positional_embeddings", False):
            self.fixed = (config.sample_width * factor, config.sample_height * factor)

    def plan(self, request: AnimateRequest) -> FitPlan:
        if self.fixed is None:
            return super().plan(request)
        faces = detect_faces(request.image)
        height, width = request.image.shape[:2]
        return plan_fit(width, height, area=0, multiple=self.multiple, fit=request.dit.fit,
                        focus=faces[0].box.center if faces else None, size=self.fixed)

    def generate(self, request: AnimateRequest, plan: FitPlan, image: np.ndarray,
                 step: Callable[[int, int], None]) -> tuple[np.ndarray, list[str]]:
        opts = request.dit
        count = frames_for(request.frames, self.temporal)
        patch_t = self.pipe.transformer.config.get("patch_size_t") or 1
        latent = (count - 1) // self.temporal + 1
        if latent % patch_t:  # CogVideoX 1.5 packs latent frames in pairs
            count += (patch_t - latent % patch_t) * self.temporal
        width, height = plan.model_size
        output = self.pipe(
            image=self.pil(image), prompt=opts.prompt, negative_prompt=opts.negative_prompt,
            height=height, width=width, num_frames=count, num_inference_steps=opts.steps,
            guidance_scale=opts.guidance, use_dynamic_cfg=True,
            generator=self.generator(request.seed), output_type="np",
            callback_on_step_end=self.step_callback(step, opts.steps),
        )
        note = frame_note(request.frames, count, self.temporal)
        return output.frames[0][: request.frames], [note] if note else []


def build(ctx: LoadContext) -> CogVideoXAnimator:
    from diffusers import CogVideoXImageToVideoPipeline

    pipe = load_pipeline(CogVideoXImageToVideoPipeline, ctx, needs=COG_NEEDS)
    return CogVideoXAnimator(pipe.to(ctx.device), ctx.device, ctx.dtype, ctx)
