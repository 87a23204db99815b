"""Reading the input of a map job: the frames of a video (every ``step``-th, at most
``max_frames``, streamed) or one image, each downscaled to ``max_side``.

Videos are read with PyAV, frame after frame: every frame is needed in order, and with decord's
batched reader the process grew by about 12 MB a frame while OpenCV's flow ran beside it
(vtest.avi at 384 px: 425 MB after 20 frames, 1126 MB after 80; PyAV: 140 MB both).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pipelines.maps.types import MapsRequest
from pipelines.media import iter_frames, load_image, resize_max_side


def read_input(request: MapsRequest) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, RGB frame)`` of the request's input, at most ``request.count`` of them."""
    if request.is_image:
        yield 0, resize_max_side(load_image(request.media).rgb, request.max_side)
        return
    end = request.max_frames * request.step
    yield from iter_frames(request.media, stride=request.step, end=end,
                           max_side=request.max_side, backend="pyav")


def grey(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
