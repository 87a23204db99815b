"""The weight-free style backend: colour/tone transfer and OpenCV painterly presets."""

from __future__ import annotations

from functools import partial

import numpy as np

from pipelines.registry import LoadContext
from pipelines.style import colour
from pipelines.style.engine import run_style
from pipelines.style.types import Progress, StyleRequest, StyleResult, Stylizer


def make_stylizer(styles: list[np.ndarray], request: StyleRequest) -> Stylizer:
    """Stylise with ``request.method``; two styles are mixed by ``request.mix``. Video frames
    are painted at :data:`~pipelines.style.colour.VIDEO_PAINT_SCALE` (the painting preset).
    The stylizer keeps no state between frames, so it may run on several threads at once."""
    method = colour.METHODS[request.method]
    if method is colour.painting and request.is_video:
        method = partial(colour.painting, scale=colour.VIDEO_PAINT_SCALE)
    stats = [colour.StyleStats.of(style) for style in styles]
    if request.method == "cartoon":
        for stat in stats:  # learnt now, once, not by two frames' threads at the same time
            _ = stat.palette

    def stylize(frame: np.ndarray) -> np.ndarray:
        out = method(frame, stats[0])
        if len(stats) > 1:
            out = colour.mix(out, method(frame, stats[1]), request.mix)
        if request.keep_colours:
            out = colour.keep_colours(out, frame)
        return colour.mix(frame, out, request.strength)

    return stylize


class ClassicalStyle:
    """Runner of ``style.classical``."""

    def modules(self) -> dict[str, object]:
        return {}

    def __call__(self, request: StyleRequest, progress: Progress | None = None) -> StyleResult:
        return run_style(request, make_stylizer, progress)


def build(ctx: LoadContext) -> ClassicalStyle:
    return ClassicalStyle()
