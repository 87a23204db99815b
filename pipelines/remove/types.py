"""Requests and results of the object-removal runners (light: numpy only)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RemoveRequest:
    """One removal: a video and what marks the object in it.

    Exactly one of ``first_mask`` (a boolean ``HxW`` mask of the first frame at the working
    size, from a mask image or a box; carried through the video along the optical flow),
    ``mask_video`` (one mask per frame, white = remove) and ``masks`` (one boolean mask per
    frame at the working size, a :class:`pipelines.remove.targets.MaskTrack` the job finds for
    the ``person`` and ``main_object`` targets) is given by the time the runner is called;
    ``target`` names the setting that chose. ``size`` is the working (width, height); ``count``
    the number of frames.
    """

    video: Path
    size: tuple[int, int]
    count: int
    fps: float
    first_mask: np.ndarray | None = None
    mask_video: Path | None = None
    masks: Any = None
    target: str = "mask"
    dilate: int = 6
    neighbours: int = 12
    still_motion: float = 0.3
    flow_side: int = 480
    max_side: int | None = None
    prompt: str = ""
    steps: int = 30
    guidance: float = 5.0
    seed: int = 0
    model_side: int = 832
    chunk_frames: int = 81
    memory: str = "gpu"


@dataclass
class RemoveResult:
    """The cleaned video as a lazy stream.

    ``frames`` yields exactly ``count`` pairs ``(cleaned RGB uint8, mask bool)`` (the mask is the
    region that was filled), made a window at a time so the video is never all in memory.
    ``plate`` (a clean still of the background), ``notes`` and ``info`` are complete once
    ``frames`` is consumed.
    """

    frames: Iterator[tuple[np.ndarray, np.ndarray]]
    count: int
    fps: float
    size: tuple[int, int]
    plate: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
