"""Portrait animation: one still image in, a short video out.

Backends: ``classical`` (face-aware warps, no weights), Stable Video Diffusion (img2vid and
img2vid-xt) and LTX-Video, a DiT image-to-video model. All take an :class:`AnimateRequest` and
return an :class:`AnimateResult`; :func:`pipelines.portrait.job.animate` runs one as a studio job.
"""

from pipelines.portrait.request import (
    AnimateRequest,
    AnimateResult,
    DitSettings,
    MotionSettings,
    SvdSettings,
)

__all__ = ["AnimateRequest", "AnimateResult", "DitSettings", "MotionSettings", "SvdSettings"]
