"""Every setting of depth and masks per frame, declared once (light: no numpy, no OpenCV).

The tab's widgets, the CLI's flags (``python cli.py maps VIDEO --out DIR --kind flow ...``),
request validation, the manifest's parameters and the benchmark's variants all come from
:data:`SETTINGS`. Backend groups (:func:`group_of`): ``classical`` (``kind`` and the flow and
mask knobs), ``depth`` (Depth Anything: always depth) and ``track`` (SAM 2.1 video: an object's
mask from a box or points on one frame, tracked through the video).
"""

from __future__ import annotations

from typing import Any

from pipelines.task import Schema, Setting

KINDS = ("depth", "flow", "motion", "person")
KIND_LABELS = ("Depth (relative; near is bright)",
               "Optical flow (colour wheel; raw flow in the .npz)",
               "Motion mask (moving objects over a still background)",
               "Person mask (MediaPipe selfie segmentation; fetch metrics.person-mask)")
MASK_KINDS = ("motion", "person", "object")  # maps that are masks (stored and drawn alike)
FLOW_METHODS = ("dis", "farneback")
FLOW_LABELS = ("DIS (dense inverse search, fast)", "Farneback (polynomial expansion)")
CLASSICAL = ("classical",)
DEPTH = ("classical", "depth")  # the groups that make depth maps
TRACK = ("track",)
TRACKING_TAG = "tracking"  # the tag of a spec that tracks a prompted object (group "track")


def group_of(spec: Any) -> str:
    """Backend group of a maps spec: ``classical``, ``track`` (tagged ``tracking``) or
    ``depth``."""
    if spec.kind == "classical":
        return "classical"
    return "track" if TRACKING_TAG in spec.tags else "depth"


SETTINGS = Schema("maps", (
    Setting("kind", "depth", "Map",
            "What each frame becomes. Flow and motion masks need a video; depth and person "
            "masks also take one image. The model backends make one map each (Depth Anything: "
            "depth; SAM 2.1: the prompted object's mask).",
            choices=KINDS, labels=KIND_LABELS, backends=CLASSICAL),
    Setting("max_side", 512, "Max side (pixels)",
            "Frames are mapped at this longest side; every output (video, PNGs, arrays) has "
            "that size.", 64, 2048, 16, unit="px"),
    Setting("max_frames", 300, "Frames at most",
            "Maps are made for the first N frames read (after 'step'); each map is written "
            "to the .npz as it is made, so memory does not grow with N, but the .npz does "
            "(float32: a 512x288 depth map is 0.6 MB, a flow 1.2 MB).", 1, 100000, 1),
    Setting("step", 1, "Frame step",
            "Map every Nth frame (flow: between frames N apart).", 1, 100, 1, unit="frames"),
    Setting("smoothing", 0.5, "Depth: temporal smoothing",
            "Depth: weight of the previous frame's map in each new one (after 'align'); "
            "0 leaves each frame as it came. Higher values flicker less and lag more "
            "behind fast motion.", 0.0, 0.95, 0.05, backends=DEPTH),
    Setting("align", True, "Depth: align scale and shift",
            "Depth: fit each new map's scale and shift to the previous map (least squares) "
            "before smoothing, so a relative depth that rescales from frame to frame stays "
            "steady.", backends=DEPTH),
    Setting("flow_method", "dis", "Flow method",
            "How flow is found (flow, and the classical depth's parallax).",
            choices=FLOW_METHODS, labels=FLOW_LABELS, backends=CLASSICAL, advanced=True),
    Setting("threshold", 16, "Motion: threshold",
            "Motion mask: squared distance (MOG2's varThreshold) from the background model "
            "that marks a pixel as moving; raise it when noise shows up.", 2, 200, 1,
            backends=CLASSICAL, advanced=True),
    Setting("history", 120, "Motion: background history",
            "Motion mask: the background model learns at 1/N a frame, from the median of "
            "frames spread over the clip; objects that stop for about N frames fade into the "
            "background.", 10, 2000, 1, unit="frames",
            backends=CLASSICAL, advanced=True),
    Setting("box", "", "Object: box (x0,y0,x1,y1)",
            "The object to track, as a box on the prompt frame in pixels of the video (left, "
            "top, right, bottom), e.g. 120,40,260,200. A box, points, or both.",
            backends=TRACK),
    Setting("points", "", "Object: points (x,y[,label]; ...)",
            "Points on the prompt frame in pixels of the video, separated by ';': label 1 (the "
            "default) is on the object, 0 is background, e.g. 180,120; 300,60,0.",
            backends=TRACK),
    Setting("prompt_frame", 0, "Object: prompt frame",
            "The video frame (from 0) the box or points are drawn on; the mask is tracked "
            "forward to the end and back to the start from there (with 'step', the nearest "
            "frame mapped).", 0, 1000000, 1, backends=TRACK),
))
