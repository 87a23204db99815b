"""LTX-Video, a DiT image-to-video model, through diffusers' LTXImageToVideoPipeline.

The model animates the picture as its first frame, steered by a prompt (and a negative prompt)
with classifier-free guidance. Its VAE compresses time, so it generates ``k * r + 1`` frames
(``r`` = 8 for LTX-Video); the runner generates the next such count and keeps the frames asked for.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pipelines.errors import StudioError
from pipelines.portrait.geometry import FitPlan
from pipelines.portrait.request import AnimateRequest, DitSettings
from pipelines.portrait.video_model import VideoModelRunner
from pipelines.registry import LoadContext


class LtxAnimator(VideoModelRunner):
    """Runner of ``portrait.ltx-video``."""

    denoiser = "transformer"
    multiple = 32

    def settings(self, request: AnimateRequest) -> DitSettings:
        return request.dit

    def _chunking(self, on: bool) -> None:
        """The DiT has no feed-forward chunking; the low-memory analogue is VAE tiling."""
        vae = self.pipe.vae
        if on:
            vae.enable_tiling()
        else:
            vae.disable_tiling()

    def generate(self, request: AnimateRequest, plan: FitPlan, image: np.ndarray,
                 step: Callable[[int, int], None]) -> tuple[np.ndarray, list[str]]:
        from PIL import Image

        opts = request.dit
        ratio = int(self.pipe.vae_temporal_compression_ratio)
        count = -(-(request.frames - 1) // ratio) * ratio + 1
        width, height = plan.model_size
        output = self.pipe(
            image=Image.fromarray(image),
            prompt=opts.prompt,
            negative_prompt=opts.negative_prompt,
            height=height,
            width=width,
            num_frames=count,
            frame_rate=max(1, round(request.fps)),
            num_inference_steps=opts.steps,
            guidance_scale=opts.guidance,
            decode_timestep=0.05,
            decode_noise_scale=0.025,
            generator=self.generator(request.seed),
            output_type="np",
            callback_on_step_end=self.step_callback(step, opts.steps),
        )
        return output.frames[0][: request.frames], []


def build(ctx: LoadContext) -> LtxAnimator:
    from diffusers import LTXImageToVideoPipeline

    try:
        pipe = LTXImageToVideoPipeline.from_pretrained(ctx.weights, dtype=ctx.torch_dtype,
                                                       use_safetensors=True)
    except ImportError as err:  # a sentencepiece-only tokenizer needs these to be converted
        raise StudioError(
            f"LTX-Video's T5 tokenizer could not be loaded ({err}). Install the tokenizer's "
            "dependencies with `pip install sentencepiece protobuf` and try again."
        ) from err
    return LtxAnimator(pipe.to(ctx.device), ctx.device, ctx.dtype)
