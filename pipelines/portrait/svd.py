"""Stable Video Diffusion (img2vid, img2vid-xt) through diffusers' StableVideoDiffusionPipeline.

The picture is fitted to the model's resolution (crop around the face, or pad), animated with
the request's frames, fps conditioning, motion bucket id, noise augmentation, steps and decode
chunk size, and each frame is restored to the picture's aspect ratio.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pipelines.portrait.geometry import FitPlan
from pipelines.portrait.types import AnimateRequest, SvdSettings
from pipelines.portrait.video_model import VideoModelRunner, load_pipeline
from pipelines.registry import LoadContext

# The scheduler configuration the published SVD checkpoints ship (scheduler/scheduler_config.json);
# benchmarks and tests that build SVD from configs use it as the real pipeline does.
SVD_SCHEDULER_CONFIG = {
    "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "interpolation_type": "linear", "num_train_timesteps": 1000,
    "prediction_type": "v_prediction", "sigma_max": 700.0, "sigma_min": 0.002,
    "steps_offset": 1, "timestep_spacing": "leading", "timestep_type": "continuous",
    "use_karras_sigmas": True,
}  # fmt: skip


class SvdAnimator(VideoModelRunner):
    """Runner of ``portrait.svd`` and ``portrait.svd-xt``."""

    denoiser = "unet"
    multiple = 64

    def settings(self, request: AnimateRequest) -> SvdSettings:
        return request.svd

    @property
    def trained_frames(self) -> int:
        return int(self.pipe.unet.config.num_frames)

    def generate(self, request: AnimateRequest, plan: FitPlan, image: np.ndarray,
                 step: Callable[[int, int], None]) -> tuple[np.ndarray, list[str]]:
        from PIL import Image

        opts = request.svd
        notes = []
        if request.frames > self.trained_frames:
            notes.append(f"This model was trained on {self.trained_frames} frames; longer clips "
                         "tend to drift or freeze towards the end.")
        width, height = plan.model_size
        output = self.pipe(
            image=Image.fromarray(image),
            height=height,
            width=width,
            num_frames=request.frames,
            num_inference_steps=opts.steps,
            min_guidance_scale=opts.min_guidance,
            max_guidance_scale=opts.max_guidance,
            fps=max(1, round(request.fps)),
            motion_bucket_id=opts.motion_bucket_id,
            noise_aug_strength=opts.noise_aug_strength,
            decode_chunk_size=min(opts.decode_chunk_size, request.frames),
            generator=self.generator(request.seed),
            output_type="np",
            callback_on_step_end=self.step_callback(step, opts.steps),
        )
        return output.frames[0], notes


def build(ctx: LoadContext) -> SvdAnimator:
    """Load the variant files the spec fetches (fp16), in the dtype the device runs well."""
    from diffusers import StableVideoDiffusionPipeline

    pipe = load_pipeline(StableVideoDiffusionPipeline, ctx)
    return SvdAnimator(pipe.to(ctx.device), ctx.device, ctx.dtype, ctx)
