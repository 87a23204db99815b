"""Request and result of depth and masks per frame."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MapsRequest:
    """What to map and how (each field but ``media``/``is_image`` is the setting of the same
    name). ``kind``: ``depth``, ``flow``, ``motion``, ``person`` or ``object``; ``count``: how
    many frames will be read (``max_frames`` or fewer), known from the probe; ``prompt`` (kind
    ``object``): the :class:`~pipelines.maps.prompts.Prompt` in pixels of the video, its frame
    one of the frames read."""

    media: Path
    is_image: bool = False
    kind: str = "depth"
    max_side: int = 512
    max_frames: int = 300
    step: int = 1
    smoothing: float = 0.5
    align: bool = True
    flow_method: str = "dis"
    threshold: int = 16
    history: int = 120
    fps: float = 25.0
    count: int = 1
    # kind "person": the person-mask runner (pipelines.networks.masks), pinned by the job
    segmenter: Any = None
    prompt: Any = None


@dataclass
class MapFrame:
    """One input frame (RGB uint8, at the working size) and its raw map: depth ``HxW`` float32
    (relative inverse depth: larger is nearer), flow ``HxWx2`` float32 (pixels, from this frame
    to the next one read) or a mask ``HxW`` bool."""

    index: int
    rgb: np.ndarray
    map: np.ndarray


@dataclass
class MapsResult:
    """The maps as they are made: :attr:`maps` streams :class:`MapFrame`s (one per frame;
    flow: one per frame but the last); ``info`` fills in as the stream runs (the depth's
    flicker figures, the classical depth's cue). :attr:`frames` streams the same maps drawn
    beside their frames (each normalised on its own), as the generic benchmark reads a task's
    output; a job reads :attr:`maps` and normalises over the whole clip."""

    kind: str
    maps: Iterator[MapFrame]
    fps: float
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    frames: Any = None

    def __post_init__(self) -> None:
        if self.frames is None:
            from pipelines.maps.render import side_by_side_each

            self.frames = side_by_side_each(self.kind, self.maps)
