"""Requests and results of the style runners (light: numpy only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.errors import InputError
from pipelines.media import VIDEO_SUFFIXES

TASK = "style"
Progress = Callable[[float, str], None]
Stylizer = Callable[[np.ndarray], np.ndarray]  # RGB uint8 frame -> stylised RGB uint8 frame

CLASSICAL_METHODS = ("reinhard", "histogram", "painting", "cartoon", "pencil")


@dataclass(frozen=True)
class StyleRequest:
    """One style job: a content image or video, one style image (two for interpolation).

    ``strength``: how far the result moves from the content towards the style (for AdaIN, the
    content/style trade-off alpha). ``mix``: weight of ``style2`` when given. ``consistent``:
    for videos, warp the previous stylised frame along the optical flow and blend it in with
    weight ``blend`` where the frames agree (reset at scene cuts). ``output``: where the image or
    video goes (the suffix picks the format); ``max_side`` caps the processed size.
    """

    content: str | Path
    style: str | Path
    output: str | Path
    style2: str | Path | None = None
    mix: float = 0.5
    method: str = "reinhard"
    strength: float = 0.8
    keep_colours: bool = False
    consistent: bool = True
    blend: float = 0.7
    max_side: int | None = 1024
    measure: bool = True

    @property
    def is_video(self) -> bool:
        return Path(self.content).suffix.lower() in VIDEO_SUFFIXES

    def validate(self) -> StyleRequest:
        checks = (
            ("strength", 0.0 <= self.strength <= 1.0, "between 0 and 1"),
            ("mix", 0.0 <= self.mix <= 1.0, "between 0 and 1"),
            ("blend", 0.0 <= self.blend <= 0.95, "between 0 and 0.95"),
            ("method", self.method in CLASSICAL_METHODS, f"one of {', '.join(CLASSICAL_METHODS)}"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise InputError(f"The style setting {name}={getattr(self, name)!r} is out of "
                                 f"range; use {rule}.")
        if self.max_side is not None and not 32 <= self.max_side <= 8192:
            raise InputError(f"max_side={self.max_side} is out of range; use 32 to 8192 pixels "
                             "(or none to keep the input's size).")
        return self


@dataclass
class StyleResult:
    """What a style run produced. For videos, ``before``/``after`` hold the mean warping error
    and flicker of the per-frame stylisation and of the output (equal without consistency)."""

    output: Path
    is_video: bool
    width: int
    height: int
    frames: int = 1
    fps: float | None = None
    cuts: list[int] = field(default_factory=list)
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    preview: np.ndarray | None = None  # the stylised image, or the video's middle frame
