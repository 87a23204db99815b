"""Depth over time: each frame's map aligned to the previous one (scale and shift by least
squares) and blended with it (an exponential moving average), and the flicker figure: the mean
absolute frame-to-frame change of the depth normalised by the clip's range (its 1st to 99th
percentile), for the maps as they came and as they leave."""

from __future__ import annotations

import numpy as np

SAMPLE = 4  # least-squares fits and percentiles read every 4th pixel in each direction


def fit_scale_shift(source: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """``(s, b)`` minimising ``|s * source + b - target|^2`` over a grid of pixels; ``(1, 0)``
    when ``source`` is flat or the fit would flip it (``s <= 0``)."""
    x = source[::SAMPLE, ::SAMPLE].astype(np.float64).ravel()
    y = target[::SAMPLE, ::SAMPLE].astype(np.float64).ravel()
    xm, ym = x.mean(), y.mean()
    var = float(((x - xm) ** 2).mean())
    if var <= 1e-12:
        return 1.0, 0.0
    scale = float(((x - xm) * (y - ym)).mean() / var)
    if scale <= 0:
        return 1.0, 0.0
    return scale, float(ym - scale * xm)


class Smoother:
    """Aligns (``align``) and blends (``weight``: share of the previous output) each new map."""

    def __init__(self, align: bool, weight: float):
        self.align, self.weight = align, float(weight)
        self.previous: np.ndarray | None = None

    def __call__(self, depth: np.ndarray) -> np.ndarray:
        out = depth.astype(np.float32)
        if self.previous is not None and self.previous.shape == out.shape:
            if self.align:
                scale, shift = fit_scale_shift(out, self.previous)
                out = out * np.float32(scale) + np.float32(shift)
            if self.weight:
                out = (1 - self.weight) * out + self.weight * self.previous
        self.previous = out
        return out


class Flicker:
    """Streams maps; :meth:`figure` is the mean absolute change between consecutive maps over
    the clip's 1st-99th percentile range (0: steady; None for fewer than two maps)."""

    def __init__(self) -> None:
        self.changes: list[float] = []
        self.low, self.high = np.inf, -np.inf
        self.previous: np.ndarray | None = None

    def add(self, depth: np.ndarray) -> None:
        grid = depth[::SAMPLE, ::SAMPLE].astype(np.float64)
        low, high = np.percentile(grid, (1, 99))
        self.low, self.high = min(self.low, low), max(self.high, high)
        if self.previous is not None and self.previous.shape == grid.shape:
            self.changes.append(float(np.abs(grid - self.previous).mean()))
        self.previous = grid

    def figure(self) -> float | None:
        if not self.changes:
            return None
        span = self.high - self.low
        return float(np.mean(self.changes) / span) if span > 0 else 0.0


def smooth_depth(maps, align: bool, weight: float, info: dict):
    """Wrap a stream of depth :class:`~pipelines.maps.types.MapFrame`s: each map aligned and
    smoothed; when the stream ends, ``info['flicker']`` holds the figure before and after."""
    smoother, before, after = Smoother(align, weight), Flicker(), Flicker()
    for item in maps:
        before.add(item.map)
        item.map = smoother(item.map)
        after.add(item.map)
        yield item
    info["flicker"] = {"before": before.figure(), "after": after.figure()}
