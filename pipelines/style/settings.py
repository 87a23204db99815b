"""Every setting of style transfer, declared once (light: no numpy, no torch).

Settings are in the order of the tab's API parameters (``/style``: content image, style image,
backend, method, strength, second style image, mix, keep colours, blend, max side, format;
``/style_video``: the same with ``consistent`` after the strength, no format, and ``measure``
last); the second style image is an input, not a setting. New settings go at the end. The tab's
widgets, the CLI's flags (``python cli.py style``, names unchanged; ``--format`` is new), request
validation (``StyleRequest.validate`` too), the manifest's parameters and the benchmark's
variants all come from :data:`SETTINGS`.
Backend groups: ``classical`` (colour transfer and painterly presets) and ``model`` (AdaIN,
Magenta).
"""

from __future__ import annotations

from pipelines.task import Schema, Setting

CLASSICAL_METHODS = ("reinhard", "histogram", "painting", "cartoon", "pencil")
METHOD_LABELS = ("Reinhard colour transfer (Lab statistics)", "Histogram matching",
                 "Painting (OpenCV stylisation)", "Cartoon", "Pencil sketch")
IMAGE_FORMATS = ("png", "jpg", "webp")

SETTINGS = Schema("style", (
    Setting("method", "reinhard", "Classical method", "Used by the classical backend.",
            choices=CLASSICAL_METHODS, labels=METHOD_LABELS, backends=("classical",)),
    Setting("strength", 0.8, "Strength",
            "0 keeps the content; 1 is full style (AdaIN: alpha; Magenta: the style vector "
            "moved from the content's own).", 0.0, 1.0, 0.05),
    Setting("consistent", True, "Temporal consistency",
            "Video: optical-flow blending; resets at scene cuts."),
    Setting("mix", 0.5, "Second style weight",
            "Weight of the second style image, when one is given.", 0.0, 1.0, 0.05,
            advanced=True),
    Setting("keep_colours", False, "Keep the content's colours",
            "Keep the content's colours; take only tone and texture.", advanced=True),
    Setting("blend", 0.7, "Temporal blend weight",
            "Video: how much of the warped previous frame is kept.", 0.0, 0.95, 0.05,
            advanced=True),
    Setting("max_side", 1024, "Max side (pixels)",
            "Longest side processed; larger inputs are scaled down.", 32, 8192, 32, unit="px",
            advanced=True),
    Setting("fmt", "png", "Image output format",
            "File format of a stylised image (on the command line the output's suffix gives "
            "it; --format must agree).", choices=IMAGE_FORMATS, advanced=True, flag="--format"),
    Setting("measure", True, "Measure temporal stability",
            "Video: measure warping error and flicker before and after consistency.",
            advanced=True, flag="--metrics"),
))
