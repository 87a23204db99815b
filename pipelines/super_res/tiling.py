"""Tiled inference: overlapping tiles, feathered blending, batches, sizes chosen from free memory.

A frame too large for one forward pass is cut into tiles that overlap their neighbours by at
least ``overlap`` input pixels. Tiles are balanced (each axis is split into equal tiles no larger
than the requested size), start on multiples of the model's alignment (window size or pixel
unshuffle factor, so the model sees the same pixel grid as it would untiled), and all have one
size, so they go through the model in batches, tiles of several frames together.

Blending: along each side shared with a neighbour, a tile's weight is 0 for the first quarter of
the overlap (the pixels its own border corrupted), rises on a raised cosine over the middle half,
and is 1 beyond. With the overlap exactly as requested the two ramps sum to one; elsewhere the
weights are normalised by their sum. So no seam shows, and for a convolutional model whose
receptive field reaches at most ``overlap / 4`` input pixels, the tiled result equals the untiled
one up to float rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.errors import InputError
from pipelines.super_res.types import Progress

if TYPE_CHECKING:
    import torch

MEMORY_FRACTION = 0.5  # of the free memory that activations of one batch may take
MAX_TILE = 1024  # input pixels: larger tiles bring no speed, only latency between progress ticks


@dataclass(frozen=True)
class TilePlan:
    """How frames go through a model: whole (``tile`` None) or as tiles, ``batch`` at a time."""

    tile: int | None  # largest tile side, input pixels
    overlap: int  # least overlap between neighbouring tiles, input pixels
    batch: int  # tiles (or whole frames) per forward pass
    align: int = 1  # tile starts and sizes are multiples of this
    minimum: int = 0  # smallest side the model accepts; smaller inputs are padded


def _ceil_to(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def axis_tiles(length: int, tile: int, overlap: int, align: int = 1) -> tuple[int, list[int]]:
    """Balanced tiles along one axis: ``(size, starts)``.

    ``length`` and ``tile`` are multiples of ``align``. Every start is a multiple of ``align``,
    the last tile ends at ``length``, neighbours overlap by at least ``overlap``, and ``size`` is
    the smallest such tile no larger than ``tile``.
    """
    if tile >= length:
        return length, [0]
    units, tile_units = length // align, tile // align
    overlap_units = -(-overlap // align)
    if tile_units <= overlap_units:
        raise InputError(
            f"The tile ({tile} px) must be larger than the overlap ({overlap} px); choose a "
            "larger tile or let the studio pick it (tile 0)."
        )
    count = math.ceil((units - overlap_units) / (tile_units - overlap_units))
    size_units = min(tile_units, -(-(units + (count - 1) * overlap_units) // count))
    span = units - size_units
    starts = [(i * span) // (count - 1) * align for i in range(count)]
    return size_units * align, starts


def ramp(length: int, lead: bool, trail: bool, overlap: int):
    """1-D blending weights (float32 tensor) of a tile ``length`` output pixels long.

    ``lead``/``trail``: whether a neighbour overlaps the start/end; ``overlap`` in output pixels.
    """
    import torch

    weights = torch.ones(length, dtype=torch.float32)
    margin = overlap // 4
    width = overlap - 2 * margin
    distance = torch.arange(length, dtype=torch.float32) + 0.5
    for side, d in ((lead, distance), (trail, distance.flip(0))):
        if not side:
            continue
        if width <= 0:
            weights = weights * (d >= margin).float()
            continue
        t = ((d - margin) / width).clamp(0.0, 1.0)
        weights = weights * (0.5 - 0.5 * torch.cos(math.pi * t))
    return weights


def _pad_to(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pad bottom/right to ``height`` x ``width``: reflect as far as it can, then replicate."""
    import torch.nn.functional as F

    pad_h, pad_w = height - images.shape[-2], width - images.shape[-1]
    if not pad_h and not pad_w:
        return images
    reflect_h, reflect_w = min(pad_h, images.shape[-2] - 1), min(pad_w, images.shape[-1] - 1)
    if reflect_h or reflect_w:
        images = F.pad(images, (0, reflect_w, 0, reflect_h), mode="reflect")
    if pad_h - reflect_h or pad_w - reflect_w:
        images = F.pad(images, (0, pad_w - reflect_w, 0, pad_h - reflect_h), mode="replicate")
    return images


def upscale_tiled(
    images: torch.Tensor,
    forward: Callable[[torch.Tensor], torch.Tensor],
    scale: int,
    plan: TilePlan,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Run ``forward`` (``(B, C, h, w)`` -> ``(B, C, h*scale, w*scale)``) over ``images``
    ``(N, C, H, W)`` by ``plan``; returns ``(N, C, H*scale, W*scale)``.

    Whole frames are batched as they are; tiles are blended in float32. Batches keep the memory
    layout of ``images`` (channels-last convolutions run faster on CPUs and tensor cores).
    """
    import torch

    layout = (torch.channels_last if images.is_contiguous(memory_format=torch.channels_last)
              and not images.is_contiguous() else torch.contiguous_format)
    count, _, height, width = images.shape
    padded_h = _ceil_to(max(height, plan.minimum), plan.align)
    padded_w = _ceil_to(max(width, plan.minimum), plan.align)
    padded = _pad_to(images, padded_h, padded_w).contiguous(memory_format=layout)
    tile = plan.tile or max(padded_h, padded_w)
    tile_h, ys = axis_tiles(padded_h, min(_ceil_to(tile, plan.align), padded_h), plan.overlap,
                            plan.align)
    tile_w, xs = axis_tiles(padded_w, min(_ceil_to(tile, plan.align), padded_w), plan.overlap,
                            plan.align)
    out_h, out_w = height * scale, width * scale
    if len(ys) == 1 and len(xs) == 1:
        outputs = []
        for start in range(0, count, plan.batch):
            outputs.append(forward(padded[start:start + plan.batch]))
            if progress:
                done = min(start + plan.batch, count)
                progress(done / count, f"frame {done}/{count}")
        return torch.cat(outputs)[..., :out_h, :out_w]

    overlap_out = plan.overlap * scale
    device = images.device
    cache: dict[tuple[bool, ...], torch.Tensor] = {}

    def weight(y: int, x: int) -> torch.Tensor:
        """A tile's 2-D weights; tiles with the same neighbours share one tensor."""
        key = (y > 0, y + tile_h < padded_h, x > 0, x + tile_w < padded_w)
        if key not in cache:
            along_y = ramp(tile_h * scale, key[0], key[1], overlap_out)
            along_x = ramp(tile_w * scale, key[2], key[3], overlap_out)
            cache[key] = torch.outer(along_y, along_x).to(device)
        return cache[key]

    total = torch.zeros((padded_h * scale, padded_w * scale), dtype=torch.float32, device=device)
    for y in ys:
        for x in xs:
            total[y * scale:(y + tile_h) * scale, x * scale:(x + tile_w) * scale] += weight(y, x)
    result = None
    jobs = [(n, y, x) for n in range(count) for y in ys for x in xs]
    for start in range(0, len(jobs), plan.batch):
        chunk = jobs[start:start + plan.batch]
        batch = torch.stack([padded[n, :, y:y + tile_h, x:x + tile_w] for n, y, x in chunk])
        out = forward(batch.contiguous(memory_format=layout)).float()
        if result is None:
            result = torch.zeros((count, out.shape[1], padded_h * scale, padded_w * scale),
                                 dtype=torch.float32, device=device)
        for (n, y, x), piece in zip(chunk, out, strict=True):
            region = result[n, :, y * scale:(y + tile_h) * scale, x * scale:(x + tile_w) * scale]
            region.add_(piece * weight(y, x))
        if progress:
            done = start + len(chunk)
            progress(done / len(jobs), f"tile {done}/{len(jobs)}")
    result /= total
    return result[..., :out_h, :out_w]


def plan_tiles(
    width: int,
    height: int,
    frames: int,
    *,
    bytes_per_pixel: float,
    free_bytes: int,
    overlap: int,
    align: int = 1,
    minimum: int = 0,
    tile: int = 0,
    max_batch: int = 8,
) -> TilePlan:
    """Choose the tile side and batch size for ``frames`` frames of ``width`` x ``height``.

    ``bytes_per_pixel``: the model's working memory per input pixel of one forward pass.
    ``tile`` (input pixels) overrides the choice; 0 lets free memory decide: whole frames when
    one fits in :data:`MEMORY_FRACTION` of ``free_bytes``, else the largest aligned tile that
    does. Batches hold as many frames or tiles as fit, up to ``max_batch``.
    """
    budget = max(free_bytes * MEMORY_FRACTION, 1.0)
    padded_w = _ceil_to(max(width, minimum), align)
    padded_h = _ceil_to(max(height, minimum), align)
    smallest = max(_ceil_to(max(minimum, 2 * overlap + align), align), 4 * align)
    if tile:
        side = max(_ceil_to(tile, align), smallest)
    elif padded_w * padded_h * bytes_per_pixel <= budget:
        side = max(padded_w, padded_h)
    else:
        fitting = int(math.sqrt(budget / bytes_per_pixel)) // align * align
        side = max(min(fitting, MAX_TILE), smallest)
    if side >= max(padded_w, padded_h):
        per_pass = padded_w * padded_h * bytes_per_pixel
        batch = int(max(1, min(max_batch, frames, budget // per_pass)))
        return TilePlan(None, overlap, batch, align, minimum)
    tile_h, ys = axis_tiles(padded_h, min(side, padded_h), overlap, align)
    tile_w, xs = axis_tiles(padded_w, min(side, padded_w), overlap, align)
    tiles = frames * len(ys) * len(xs)
    batch = int(max(1, min(max_batch, tiles, budget // (tile_h * tile_w * bytes_per_pixel))))
    return TilePlan(side, overlap, batch, align, minimum)


def tiles_per_frame(width: int, height: int, plan: TilePlan) -> int:
    """How many tiles one frame is cut into under ``plan``."""
    if plan.tile is None:
        return 1
    padded_w = _ceil_to(max(width, plan.minimum), plan.align)
    padded_h = _ceil_to(max(height, plan.minimum), plan.align)
    _, ys = axis_tiles(padded_h, min(plan.tile, padded_h), plan.overlap, plan.align)
    _, xs = axis_tiles(padded_w, min(plan.tile, padded_w), plan.overlap, plan.align)
    return len(ys) * len(xs)
