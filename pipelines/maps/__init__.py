"""Depth and masks per frame: a relative depth map, the optical flow, a moving-object, person or
tracked-object mask for every frame of a video (depth and masks but flow and motion also for one
image), as a side-by-side video, a PNG sequence in a ZIP (16-bit PNGs for depth) and the raw
maps in a NumPy ``.npz``.

Modules: ``settings`` (every setting, declared once; light), ``specs``, ``types`` (request,
result), ``frames`` (reading the input), ``classical`` (the weight-free runner: DIS/Farneback
flow, MOG2 masks, depth from flow parallax or a single-image cue), ``depth_anything`` (Depth
Anything V2 Small through transformers), ``prompts`` (an object mask's box and points),
``sam2_video`` (SAM 2.1 video through transformers: a prompted object tracked), ``temporal``
(scale/shift alignment, smoothing and the flicker figure), ``render`` (colour maps, the flow
colour wheel, 16-bit PNGs), ``job`` (``prepare`` and ``job``). No tab, command or adapter of
its own: the app, ``cli.py maps`` and the benchmark serve it from this declaration.
"""

from pipelines.maps.settings import SETTINGS, group_of
from pipelines.task import Input, Task

TASK = Task(
    id="maps",
    title="Depth & masks",
    specs="pipelines.maps.specs",
    settings=SETTINGS,
    inputs=(Input("media", "media", "Video or image"),),
    prepare="pipelines.maps.job:prepare",
    job="pipelines.maps.job:job",
    result="pipelines.maps.types:MapsResult",
    examples=("maps/layers.mp4", "summary/walk.mp4"),
    group_of=group_of,
)

__all__ = ["TASK"]
