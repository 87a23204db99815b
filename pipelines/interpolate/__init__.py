"""Frame interpolation, super-resolution in time: 2-8x the frame rate, a target fps (exactly
timed for non-integer ratios), or slow motion; never blending across a scene cut.

Backends: ``classical`` (dense optical flow both ways, occlusion-aware blending; no weights) and
``rife`` (Practical-RIFE's IFNet). Modules: ``settings``, ``types`` (request, result, the pair
interpolator protocol), ``timing`` (which output frame falls where), ``engine`` (streams a video
through a pair interpolator: cuts, duplicates), ``classical`` (optical flow), ``rife``, ``job``,
``command``, ``specs``. The first task added on the task contract: this package plus its entry in
:mod:`pipelines.tasks`.
"""

from pipelines.interpolate.settings import SETTINGS
from pipelines.task import Input, Task

TASK = Task(
    id="interpolate",
    title="Frame interpolation",
    specs="pipelines.interpolate.specs",
    settings=SETTINGS,
    inputs=(Input("video", "video", "Video"),),
    prepare="pipelines.interpolate.job:prepare",
    job="pipelines.interpolate.job:job",
    result="pipelines.interpolate.types:InterpolateResult",
    command="pipelines.interpolate.command",
    examples=("keyframes/example.mp4", "style/pan_cut.mp4"),
)
