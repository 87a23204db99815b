"""One-image summary: a video as one picture, a panorama of a panning shot, an action shot of
a moving subject over the still background, or a keyframe mosaic with timecodes.

Modules: ``settings`` (every setting, declared once; light), ``specs``, ``types`` (request,
result, the frames used), ``frames`` (which frames are read, and reading them), ``panorama``
(OpenCV's stitcher, border crop), ``action`` (median background, subject masks, compositing),
``mosaic`` (grid, labels, frames per shot), ``classical`` (the weight-free runner), ``job``
(``prepare`` and ``job``). No tab, command or adapter of its own: the app, ``cli.py summary``
and the benchmark serve it from this declaration.
"""

from pipelines.summary.settings import SETTINGS
from pipelines.task import Input, Task

TASK = Task(
    id="summary",
    title="One-image summary",
    specs="pipelines.summary.specs",
    settings=SETTINGS,
    inputs=(Input("video", "video", "Video"),),
    prepare="pipelines.summary.job:prepare",
    job="pipelines.summary.job:job",
    result="pipelines.summary.types:SummaryResult",
    examples=("summary/pan.mp4", "summary/walk.mp4", "keyframes/example.mp4"),
)

__all__ = ["TASK"]
