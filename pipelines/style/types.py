"""Requests and results of the style runners (light: numpy only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.media import VIDEO_SUFFIXES
from pipelines.style.settings import CLASSICAL_METHODS, SETTINGS
from pipelines.task import Progress

__all__ = ["CLASSICAL_METHODS", "Progress", "StyleRequest", "StyleResult", "Stylizer"]

Stylizer = Callable[[np.ndarray], np.ndarray]  # RGB uint8 frame -> stylised RGB uint8 frame
_DEFAULTS = SETTINGS.defaults()


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
    # The settings' defaults come from the task's schema (pipelines.style.settings).
    mix: float = _DEFAULTS["mix"]
    method: str = _DEFAULTS["method"]
    strength: float = _DEFAULTS["strength"]
    keep_colours: bool = _DEFAULTS["keep_colours"]
    consistent: bool = _DEFAULTS["consistent"]
    blend: float = _DEFAULTS["blend"]
    max_side: int | None = _DEFAULTS["max_side"]  # None keeps the input's size
    measure: bool = _DEFAULTS["measure"]

    @property
    def is_video(self) -> bool:
        return Path(self.content).suffix.lower() in VIDEO_SUFFIXES

    def validate(self) -> StyleRequest:
        """Each setting against the task's schema (the ranges of the tab and the CLI); raises
        :class:`~pipelines.errors.InputError` naming the setting and what to use."""
        for name in ("strength", "mix", "blend", "method"):
            SETTINGS[name].check(getattr(self, name))
        if self.max_side is not None:
            SETTINGS["max_side"].check(self.max_side)
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
    timings: dict[str, float] = field(default_factory=dict)  # stages in turn: they add up
    # Videos: seconds each overlapping stage kept a thread busy (decode, stylise, consistency,
    # metrics, encode), summed over its threads; together more than the wall time.
    busy: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    preview: np.ndarray | None = None  # the stylised image, or the video's middle frame
