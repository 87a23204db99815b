"""Every setting of super-resolution, declared once (light: no numpy, no torch).

Settings are in the order of the image tab's API parameters (``/super_res``: image, reference,
backend, then scale, tile, format, self-check); the video event (``/super_res_video``: video,
backend, scale, tile, then the time settings: dimension, factor, fps, backend) takes the
video ones. The tab's widgets, the CLI's flags
(``python cli.py upscale``), request validation, the manifest's parameters and the benchmark's
``backend:name=value`` variants all come from :data:`SETTINGS`. Every backend takes the same
controls; ``format`` and ``self_check`` only matter for images.
"""

from __future__ import annotations

from pipelines.task import Schema, Setting

SCALE_MIN = 1.0
SCALE_MAX = 8.0
# Any tile side works (a tile at least as large as the frame means whole frames); beyond 4096
# input pixels a tile is a whole frame for every input the pixel limit lets through.
TILE_MAX = 4096
IMAGE_FORMATS = ("png", "jpg", "webp")

SETTINGS = Schema("super_res", (
    Setting("scale", 2.0, "Scale", "Output size over input size; a model with another native "
            "scale has its result resampled to this one.", SCALE_MIN, SCALE_MAX, 0.1, unit="x"),
    Setting("tile", 0, "Tile size (input pixels)",
            "0 picks the largest tile that fits in free memory.", 0, TILE_MAX, 8, unit="px",
            advanced=True),
    Setting("format", "png", "Image output format", "Format of an upscaled image; JPEG drops "
            "transparency.", choices=IMAGE_FORMATS, advanced=True),
    Setting("self_check", False, "Self-check without a reference: shrink, upscale back, compare",
            "Without a reference: downscale the input by the scale, upscale it back and score "
            "that against the input (images only)."),
    Setting("time_factor", 1, "Frame-rate factor (videos; 1: space only)",
            "Super-resolution in time too: after upscaling, interpolate the video to this "
            "many times its frame rate (one run, one manifest).", choices=(1, 2, 3, 4, 8),
            labels=("1x (off)", "2x", "3x", "4x", "8x")),
    Setting("time_fps", 0.0, "Target fps (videos; 0: use the factor)",
            "Interpolate the upscaled video to this frame rate instead of a factor.",
            0.0, 240.0, 1.0, unit="fps"),
    Setting("time_backend", "classical", "Interpolation backend",
            "Frame interpolation backend for the time step (rife needs its weights).",
            choices=("classical", "rife"), advanced=True),
))
