"""Every setting of the one-image summary, declared once (light: no numpy, no OpenCV).

The tab's widgets, the CLI's flags (``python cli.py summary VIDEO --out DIR --mode ...``),
request validation, the manifest's parameters and the benchmark's variants all come from
:data:`SETTINGS`. One backend (``summary.classical``), so no setting is per backend; the help of
each says which modes read it.
"""

from __future__ import annotations

from pipelines.task import Schema, Setting

MODES = ("mosaic", "action", "panorama")
MODE_LABELS = ("Keyframe mosaic (a grid of frames with timecodes)",
               "Action shot (the moving subject every few frames over the still background)",
               "Panorama (a panning shot stitched into one wide picture)")
SELECTIONS = ("even", "scenes")
SELECTION_LABELS = ("Evenly spaced", "Scene changes (tiles shared among the shots)")
STITCH_MODES = ("scans", "panorama")
STITCH_LABELS = ("Scans (affine: sideways pans, fast)",
                 "Panorama (spherical: a camera turning on the spot, slower)")
MAX_FRAMES = 64

SETTINGS = Schema("summary", (
    Setting("mode", "mosaic", "Summary", "What one picture the video becomes.",
            choices=MODES, labels=MODE_LABELS),
    Setting("frames", 9, "Frames used",
            "Mosaic: tiles; action shot: copies of the subject; panorama: frames stitched.",
            2, MAX_FRAMES, 1),
    Setting("step", 0, "Frame step (0: spread over the video)",
            "Take every Nth frame from the start instead of spreading the frames evenly "
            "(action shot: the subject every N frames; not used by the mosaic by scene "
            "changes).", 0, 1000, 1, unit="frames"),
    Setting("selection", "even", "Mosaic frames",
            "Mosaic: evenly spaced frames, or frames from each shot (tiles shared among the "
            "shots by length; one decode of every frame).",
            choices=SELECTIONS, labels=SELECTION_LABELS),
    Setting("columns", 0, "Mosaic columns (0: automatic)",
            "Mosaic: tiles per row; automatic picks a grid close to 16:9.", 0, 16, 1),
    Setting("labels", True, "Timecode labels",
            "Mosaic: an HH:MM:SS.mmm label and the frame number under each tile."),
    Setting("max_side", 1280, "Max side (pixels)",
            "Longest side of the picture (mosaic, action shot) or of each frame stitched "
            "(panorama).", 64, 4096, 16, unit="px"),
    Setting("start", 0.0, "Start (seconds)", "Use the video from this time on.",
            0.0, 3600.0, 0.1, unit="s", advanced=True),
    Setting("end", 0.0, "End (seconds; 0: the end)", "Use the video up to this time.",
            0.0, 3600.0, 0.1, unit="s", advanced=True),
    Setting("stitch", "scans", "Panorama model",
            "Panorama: how frames are registered.", choices=STITCH_MODES,
            labels=STITCH_LABELS, advanced=True),
    Setting("crop", True, "Crop the panorama's empty border",
            "Panorama: keep the largest rectangle every part of which some frame covers.",
            advanced=True),
    Setting("threshold", 30, "Action shot: subject threshold",
            "Action shot: colour difference (0-255) from the background that marks the "
            "subject; raise it when noise or shadows show up, lower it when parts of the "
            "subject are missing.", 5, 120, 1, advanced=True),
))
