"""Every setting of object removal, declared once (light: no numpy, no OpenCV).

``target`` says what marks the object: a first-frame ``mask`` image (drawn in the tab, or
uploaded) or a ``box``, both carried through the video along optical flow; a ``mask_video`` with
one mask per frame; or masks the job finds itself in every frame: ``person`` (the person-mask
network) and ``main_object`` (the largest moving region over a still background; see
:mod:`pipelines.remove.targets`).
Backend groups: ``classical`` (flow propagation + Telea) and ``vace`` (Wan VACE).
"""

from __future__ import annotations

from pipelines.task import Schema, Setting

TARGETS = ("mask", "box", "mask_video", "person", "main_object")
MEMORY_MODES = ("gpu", "chunked", "offload", "low")
TARGET_LABELS = ("First-frame mask image (white = remove), carried along the flow",
                 "Box on the first frame (x0,y0,x1,y1), carried along the flow",
                 "Mask video (white = remove, one mask per frame)",
                 "The person (MediaPipe selfie segmentation on every frame)",
                 "The main moving object (largest moving region; still camera)")

SETTINGS = Schema("remove", (
    Setting("target", "mask", "What to remove",
            "Where the object is: a mask of the first frame (drawn with the brush or uploaded) "
            "or a box on it, both followed through the video; a mask video; the person, found "
            "in every frame by the person-mask network; or the main object, the largest region "
            "that moves against a still background.",
            choices=TARGETS, labels=TARGET_LABELS),
    Setting("box", "", "Box (x0,y0,x1,y1)",
            "With target 'box': the object's box on the first frame, in pixels of the video "
            "(left, top, right, bottom)."),
    Setting("dilate", 6, "Grow the mask (pixels)",
            "Widen the mask by this much before filling, so the object's edges and shadow go "
            "too.", 0, 64, 1, unit="px"),
    Setting("neighbours", 12, "Frames looked at on each side",
            "The fill looks this many frames back and ahead for background the object hides.",
            1, 40, 1, backends=("classical",)),
    Setting("prompt", "", "Prompt",
            "What should fill the hole (e.g. 'empty street'); may be left empty.",
            backends=("vace",), lines=2),
    Setting("steps", 30, "Denoising steps", "More steps: finer detail, slower.", 1, 100, 1,
            backends=("vace",)),
    Setting("guidance", 5.0, "Guidance scale", "How strongly the prompt steers the fill.",
            1.0, 15.0, 0.5, backends=("vace",)),
    Setting("still_motion", 0.3, "Still camera below (pixels per frame)",
            "A camera whose background moves less than this (median flow outside the mask) is "
            "taken as still: the fill is a temporal median of unwarped frames.", 0.0, 5.0, 0.05,
            unit="px", advanced=True, backends=("classical",)),
    Setting("flow_side", 480, "Optical flow size (longer side, pixels)",
            "Flow is computed on frames downscaled to this size.", 128, 1920, 32, unit="px",
            advanced=True),
    Setting("max_side", 0, "Working size (longer side, pixels; 0: full size)",
            "Downscale larger videos to this size first.", 0, 8192, 16, unit="px",
            advanced=True),
    Setting("model_side", 832, "Model size (longer side, pixels)",
            "Frames go through the model at this size (multiples of 16; Wan VACE 1.3B is made "
            "for 832x480) and the fill is scaled back into the hole.", 64, 1280, 16, unit="px",
            backends=("vace",), advanced=True),
    Setting("chunk_frames", 81, "Frames per model pass",
            "The video goes through the model in pieces of this many frames (4k+1; the last 5 "
            "of each piece lead into the next).", 9, 161, 4, backends=("vace",),
            advanced=True),
    Setting("memory", "gpu", "Memory mode",
            "gpu: everything on the GPU; chunked: VAE tiling and slicing; offload: each model "
            "moves to the GPU only while it runs; low: offload and tiling.",
            choices=MEMORY_MODES, backends=("vace",), advanced=True),
))


def group_of(spec) -> str:
    """Backend group of a removal spec: ``classical`` or ``vace`` (Wan VACE)."""
    return "classical" if spec.kind == "classical" else "vace"
