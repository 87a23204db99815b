"""Request and result of the one-image summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SummaryRequest:
    """What to summarise and how (each field is the setting of the same name).

    ``mode``: ``mosaic``, ``action`` or ``panorama``. ``frames``: how many frames the picture is
    made of (tiles, copies of the subject, frames stitched); ``step``: take every ``step``-th
    frame from ``start`` instead of spreading them evenly (0). ``start``/``end``: the part of
    the video used, in seconds (``end`` 0: to the end). ``max_side``: longest side of the
    picture (mosaic, action shot) or of each frame stitched (panorama).
    """

    video: Path
    mode: str = "mosaic"
    frames: int = 9
    step: int = 0
    selection: str = "even"
    columns: int = 0
    labels: bool = True
    max_side: int = 1280
    start: float = 0.0
    end: float = 0.0
    stitch: str = "scans"
    crop: bool = True
    threshold: int = 30


@dataclass(frozen=True)
class UsedFrame:
    """One frame of the video the picture was made from: its index, its time (seconds from the
    first frame, from the container's timestamps) and what it served as (``tile``,
    ``subject``, ``background`` or ``stitched``)."""

    index: int
    time: float
    role: str

    def as_dict(self) -> dict[str, Any]:
        from pipelines.summary.frames import timecode

        return {"index": self.index, "time": round(self.time, 6),
                "timecode": timecode(self.time), "role": self.role}


@dataclass
class SummaryResult:
    """The picture and where it came from.

    ``frames`` holds the one output picture (RGB uint8), as the generic benchmark reads a
    task's output; :attr:`image` is that picture. ``used`` lists every frame that went into
    it, in order; ``info`` holds what the mode found (the mosaic's grid and tile boxes, the
    panorama's size and the frames the stitcher joined, the action shot's subject coverage).
    """

    frames: list[np.ndarray]
    mode: str
    used: list[UsedFrame]
    fps: float
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def image(self) -> np.ndarray:
        return self.frames[0]
