"""Every setting of depth and masks per frame, declared once (light: no numpy, no OpenCV).

The tab's widgets, the CLI's flags (``python cli.py maps VIDEO --out DIR --kind flow ...``),
request validation, the manifest's parameters and the benchmark's variants all come from
:data:`SETTINGS`. ``kind`` and the flow and mask knobs belong to the classical backend (group
``classical``); the Depth Anything backend (group ``model``) always makes depth.
"""

from __future__ import annotations

from pipelines.task import Schema, Setting

KINDS = ("depth", "flow", "motion", "person")
KIND_LABELS = ("Depth (relative; near is bright)",
               "Optical flow (colour wheel; raw flow in the .npz)",
               "Motion mask (moving objects over a still background)",
               "Person mask (MediaPipe selfie segmentation; fetch metrics.person-mask)")
MASK_KINDS = ("motion", "person")  # maps that are masks (stored and drawn alike)
FLOW_METHODS = ("dis", "farneback")
FLOW_LABELS = ("DIS (dense inverse search, fast)", "Farneback (polynomial expansion)")
CLASSICAL = ("classical",)

SETTINGS = Schema("maps", (
    Setting("kind", "depth", "Map",
            "What each frame becomes. Flow and motion masks need a video; depth and person "
            "masks also take one image. The Depth Anything backend makes depth only.",
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
            "behind fast motion.", 0.0, 0.95, 0.05),
    Setting("align", True, "Depth: align scale and shift",
            "Depth: fit each new map's scale and shift to the previous map (least squares) "
            "before smoothing, so a relative depth that rescales from frame to frame stays "
            "steady."),
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
))
