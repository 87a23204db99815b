"""A keyframe mosaic: a grid of frames, each labelled with its timecode and frame number.

Frames are evenly spaced over the span, or chosen per shot: one pass over every frame feeds the
keyframe task's shot detector (:mod:`pipelines.keyframes.detectors`: cuts, fades, flashes
suppressed) while a bounded pool of tile-sized frames is kept at a regular stride; the tiles
are then shared among the shots by length (each shot gets one before any gets two; with more
shots than tiles the longest shots win) and each tile is the pooled frame nearest the middle of
its share of the shot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np

from pipelines.errors import InputError
from pipelines.keyframes.analysis import FrameAnalysis
from pipelines.keyframes.detectors import make_detector
from pipelines.keyframes.settings import DetectorParams
from pipelines.media import iter_frames, resize_max_side
from pipelines.progress import Progress, no_progress
from pipelines.summary.frames import Span, timecode

FONT = cv2.FONT_HERSHEY_SIMPLEX
BACKGROUND = (24, 24, 28)
TEXT = (235, 235, 235)
GAP = 6  # pixels between tiles and around the grid
TARGET_ASPECT = 16 / 9
ANALYSIS_SIDE = 256  # longer side of the frames the shot detector sees
POOL_BYTES = 64 << 20  # tile-sized frames kept during the scene pass, at most
MIN_TILE = 16


@dataclass(frozen=True)
class Grid:
    """Where each tile goes: ``columns`` x ``rows`` tiles of ``tile`` (width, height), each
    with a label strip ``label`` pixels high under it, ``GAP`` pixels apart."""

    count: int
    columns: int
    rows: int
    tile: tuple[int, int]
    label: int
    gap: int = GAP

    @property
    def size(self) -> tuple[int, int]:
        width, height = self.tile
        return (self.columns * width + (self.columns + 1) * self.gap,
                self.rows * (height + self.label) + (self.rows + 1) * self.gap)

    def box(self, position: int) -> tuple[int, int, int, int]:
        """``(x, y, width, height)`` of tile ``position``'s picture."""
        row, col = divmod(position, self.columns)
        width, height = self.tile
        return (self.gap + col * (width + self.gap),
                self.gap + row * (height + self.label + self.gap), width, height)

    def label_box(self, position: int) -> tuple[int, int, int, int]:
        x, y, width, height = self.box(position)
        return x, y + height, width, self.label

    def as_dict(self) -> dict:
        return {"columns": self.columns, "rows": self.rows, "tile": list(self.tile),
                "label_height": self.label, "gap": self.gap,
                "boxes": [list(self.box(i)) for i in range(self.count)]}


def auto_columns(count: int, aspect: float) -> int:
    """Columns whose grid of ``count`` tiles of ``aspect`` (width / height) comes closest to
    16:9, empty cells counting against a choice."""
    def cost(columns: int) -> float:
        rows = math.ceil(count / columns)
        return (abs(math.log(columns * aspect / rows / TARGET_ASPECT))
                + 0.1 * (rows * columns - count))

    return min(range(1, count + 1), key=cost)


def label_height(tile_width: int) -> int:
    return int(np.clip(round(tile_width * 0.075), 14, 40))


def plan_grid(count: int, frame_size: tuple[int, int], max_side: int, columns: int = 0,
              labels: bool = True) -> Grid:
    """The largest grid whose longer side is at most ``max_side`` (tiles never larger than the
    frames)."""
    width, height = frame_size
    aspect = width / height
    columns = min(columns or auto_columns(count, aspect), count)
    rows = math.ceil(count / columns)

    def grid(tile_width: int) -> Grid:
        tile = (tile_width, max(1, round(tile_width / aspect)))
        return Grid(count, columns, rows, tile, label_height(tile_width) if labels else 0)

    low, high = MIN_TILE, max(MIN_TILE, width)
    if max(grid(low).size) > max_side:
        raise InputError(f"A {columns}x{rows} grid does not fit in {max_side} pixels; raise "
                         f"'max_side', or use fewer 'frames' or 'columns'.")
    while low < high:  # the widest tile that fits
        mid = (low + high + 1) // 2
        low, high = (mid, high) if max(grid(mid).size) <= max_side else (low, mid - 1)
    return grid(low)


def _fit_text(text: str, width: int, height: int) -> tuple[float, int] | None:
    """Font scale and thickness that fit ``text`` in ``width`` x ``height``, or None."""
    scale = height / 34.0
    while scale >= 0.3:
        thickness = 2 if scale >= 0.9 else 1
        (w, h), base = cv2.getTextSize(text, FONT, scale, thickness)
        if w <= width - 6 and h + base <= height - 2:
            return scale, thickness
        scale *= 0.9
    return None


def draw_label(canvas: np.ndarray, box: tuple[int, int, int, int], index: int,
               seconds: float) -> None:
    x, y, width, height = box
    for text in (f"{timecode(seconds)}  #{index}", timecode(seconds)):
        fit = _fit_text(text, width, height)
        if fit is not None:
            scale, thickness = fit
            (_, h), base = cv2.getTextSize(text, FONT, scale, thickness)
            origin = (x + 3, y + (height + h) // 2 - base // 2 + 1)
            cv2.putText(canvas, text, origin, FONT, scale, TEXT, thickness, cv2.LINE_AA)
            return


def render(grid: Grid, tiles: list[tuple[int, float, np.ndarray]]) -> np.ndarray:
    """The mosaic: ``tiles`` (frame index, seconds, RGB frame) in grid order."""
    width, height = grid.size
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = BACKGROUND
    for position, (index, seconds, frame) in enumerate(tiles):
        x, y, w, h = grid.box(position)
        canvas[y:y + h, x:x + w] = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        if grid.label:
            draw_label(canvas, grid.label_box(position), index, seconds)
    return canvas


# --------------------------------------------------------------------------------------------
# Frames per shot


@dataclass
class ScenePass:
    """What one pass over the span found: the first frame of each shot after the first, and
    a pool of tile-sized frames (index -> RGB)."""

    cuts: list[int]
    pool: dict[int, np.ndarray]


def scene_pass(span: Span, tile_side: int, progress: Progress = no_progress) -> ScenePass:
    """Every frame of ``span`` through the shot detector; a frame every ``stride`` kept."""
    detector = make_detector(DetectorParams())
    width, height = span.info.width, span.info.height
    scale = min(1.0, tile_side / max(width, height))
    frame_bytes = max(1, round(width * scale)) * max(1, round(height * scale)) * 3
    stride = max(1, math.ceil(span.count / max(1, POOL_BYTES // frame_bytes)))
    cuts: list[int] = []
    pool: dict[int, np.ndarray] = {}
    for index, frame in iter_frames(span.video, start=span.first, end=span.stop,
                                    max_side=max(tile_side, ANALYSIS_SIDE)):
        small = resize_max_side(frame, ANALYSIS_SIDE)
        cuts += [c.frame for c in detector.process_frame(FrameAnalysis(index, small))]
        if (index - span.first) % stride == 0:
            pool[index] = resize_max_side(frame, tile_side)
        if index % 64 == 0:
            progress((index - span.first) / max(1, span.count), f"frame {index}")
    cuts += [c.frame for c in detector.post_process()]
    return ScenePass(sorted(set(c for c in cuts if span.first < c < span.stop)), pool)


def share_tiles(shots: list[tuple[int, int]], count: int) -> list[int]:
    """Tiles per shot: the longest ``count`` shots when there are more shots than tiles, else
    one each and the rest by length (largest remainders)."""
    lengths = [end - start for start, end in shots]
    if count <= len(shots):
        chosen = sorted(sorted(range(len(shots)), key=lambda i: -lengths[i])[:count])
        return [1 if i in chosen else 0 for i in range(len(shots))]
    extra = count - len(shots)
    total = sum(lengths)
    quotas = [extra * length / total for length in lengths]
    shares = [1 + int(q) for q in quotas]
    left = count - sum(shares)
    for i in sorted(range(len(shots)), key=lambda i: int(quotas[i]) - quotas[i])[:left]:
        shares[i] += 1
    return shares


def pick_per_shot(found: ScenePass, span: Span, count: int) -> list[int]:
    """The pooled frame indices for ``count`` tiles shared among the shots, in time order."""
    bounds = [span.first, *found.cuts, span.stop]
    shots = [(a, b) for a, b in pairwise(bounds)
             if any(a <= i < b for i in found.pool)]
    pooled = np.array(sorted(found.pool))
    picked: list[int] = []
    for (start, end), tiles in zip(shots, share_tiles(shots, count), strict=True):
        inside = pooled[(pooled >= start) & (pooled < end)]
        for j in range(tiles):
            target = start + (j + 0.5) * (end - start) / tiles
            best = int(inside[np.argmin(np.abs(inside - target))])
            if best not in picked:
                picked.append(best)
    return sorted(picked)
