"""Object removal: take a moving object out of a video and fill in the background behind it.

The object is marked by a first-frame mask image or box (carried through the video along optical
flow) or by a mask video. Backends: ``classical`` (flow-guided propagation from the frames that
see the background, a temporal median for a still camera, Telea inpainting where none does; no
weights) and ``wan-vace`` (Wan 2.1 VACE 1.3B regenerates the hole). Outputs: the cleaned
video (sound kept), the mask video and a clean still of the background. Modules: ``settings``,
``types``, ``masks`` (mask inputs, flow, carrying), ``classical``, ``vace``, ``job``, ``specs``.
Served by its own tab (``tabs.remove``: the mask is painted on the first frame) and the
generic command.
"""

from pipelines.remove.settings import SETTINGS, group_of
from pipelines.task import Input, Task

TASK = Task(
    id="remove",
    title="Object removal",
    specs="pipelines.remove.specs",
    settings=SETTINGS,
    inputs=(Input("video", "video", "Video"),
            Input("mask", "image", "First-frame mask (white = remove)", optional=True),
            Input("mask_video", "video", "Mask video (white = remove)", optional=True)),
    prepare="pipelines.remove.job:prepare",
    job="pipelines.remove.job:job",
    result="pipelines.remove.types:RemoveResult",
    group_of=group_of,
    tab="tabs.remove",
)

__all__ = ["TASK"]
