"""HunyuanVideo 1.5 image-to-video through diffusers' HunyuanVideo15ImageToVideoPipeline.

The pipeline picks its own resolution: the size bucket (multiples of its VAE factor around the
transformer's ``target_size``) whose aspect is closest to the picture's, and crops the picture
into it. The runner fits the picture to that bucket first (crop around the face, or pad), so
what the model sees is what the runner planned, and restores each frame afterwards. Guidance
lives in the pipeline's guider (classifier-free guidance), which the runner sets per request.
The VAE makes ``4k + 1`` frames; the runner generates the next such count and keeps the frames
asked for. (HunyuanVideo-I2V 1.0, not served here, drops 4 conditioning frames in its 33-channel
variant; 1.5 does not.)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from pipelines.faces import detect_faces
from pipelines.portrait.geometry import FitPlan, plan_fit
from pipelines.portrait.types import AnimateRequest
from pipelines.portrait.video_model import DitRunner, frame_note, frames_for, load_pipeline
from pipelines.registry import LoadContext

HUNYUAN_NEEDS = ("google.protobuf",)


class HunyuanAnimator(DitRunner):
    """Runner of ``portrait.hunyuanvideo-1.5-i2v*``."""

    caches = ("pab", "taylorseer")
    tensor_format = "BCFHW"
    needs = HUNYUAN_NEEDS

    def __init__(self, pipe, device, dtype, ctx=None):
        super().__init__(pipe, device, dtype, ctx)
        self.multiple = int(pipe.vae_scale_factor_spatial)
        self.temporal = int(pipe.vae_scale_factor_temporal)

    def plan(self, request: AnimateRequest) -> FitPlan:
        height, width = request.image.shape[:2]
        bucket_h, bucket_w = self.pipe.video_processor.calculate_default_height_width(
            height=height, width=width, target_size=self.pipe.target_size)
        faces = detect_faces(request.image)
        return plan_fit(width, height, area=0, multiple=self.multiple, fit=request.dit.fit,
                        focus=faces[0].box.center if faces else None,
                        size=(int(bucket_w), int(bucket_h)))

    @contextmanager
    def _counting_steps(self, step: Callable[[int, int], None], total: int):
        """This pipeline has no step callback: count the scheduler's steps instead."""
        scheduler = self.pipe.scheduler
        original = scheduler.step
        done = [0]

        def counted(*args, **kwargs):
            result = original(*args, **kwargs)
            done[0] += 1
            step(done[0], total)
            return result

        scheduler.step = counted
        try:
            yield
        finally:
            del scheduler.step  # the class's method again

    def generate(self, request: AnimateRequest, plan: FitPlan, image: np.ndarray,
                 step: Callable[[int, int], None]) -> tuple[np.ndarray, list[str]]:
        opts = request.dit
        count = frames_for(request.frames, self.temporal)
        guider = self.pipe.guider
        if float(guider.guidance_scale) != float(opts.guidance):
            self.pipe.guider = guider.new(guidance_scale=float(opts.guidance))
        with self._counting_steps(step, opts.steps):
            output = self.pipe(
                image=self.pil(image), prompt=opts.prompt,
                negative_prompt=opts.negative_prompt or None, num_frames=count,
                num_inference_steps=opts.steps, generator=self.generator(request.seed),
                output_type="np",
            )
        note = frame_note(request.frames, count, self.temporal)
        return output.frames[0][: request.frames], [note] if note else []


def build(ctx: LoadContext) -> HunyuanAnimator:
    from diffusers import HunyuanVideo15ImageToVideoPipeline

    pipe = load_pipeline(HunyuanVideo15ImageToVideoPipeline, ctx, needs=HUNYUAN_NEEDS)
    return HunyuanAnimator(pipe.to(ctx.device), ctx.device, ctx.dtype, ctx)
