"""Depth Anything V2 Small (``DepthAnythingForDepthEstimation`` with its image processor): a
relative inverse depth map per frame (larger is nearer), resized back to the frame, then
aligned and smoothed over time (:mod:`pipelines.maps.temporal`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from pipelines.errors import InputError
from pipelines.maps.frames import read_input
from pipelines.maps.temporal import smooth_depth
from pipelines.maps.types import MapFrame, MapsRequest, MapsResult
from pipelines.progress import Progress, no_progress
from pipelines.registry import LoadContext

BATCH = 4  # frames per forward pass


class DepthAnythingRunner:
    """Depth per frame from a ``DepthAnythingForDepthEstimation`` model."""

    def __init__(self, model: Any, processor: Any, device: str, dtype: str):
        self.model, self.processor = model, processor
        self.device, self.dtype = device, dtype

    def modules(self) -> dict[str, Any]:
        return {"model": self.model}

    @torch.inference_mode()
    def depth(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """One float32 map per RGB frame, at the frame's size."""
        inputs = self.processor(images=frames, return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device, self.model.dtype)
        predicted = self.model(pixel_values=pixels).predicted_depth  # (B, h, w)
        out = []
        for frame, depth in zip(frames, predicted, strict=True):
            resized = torch.nn.functional.interpolate(
                depth[None, None].float(), size=frame.shape[:2], mode="bicubic",
                align_corners=False)
            out.append(resized[0, 0].cpu().numpy().astype(np.float32))
        return out

    def __call__(self, request: MapsRequest, progress: Progress | None = None) -> MapsResult:
        if request.kind != "depth":
            raise InputError(f"Depth Anything makes depth maps only; pick the classical "
                             f"backend for a {request.kind} map.")
        info: dict[str, Any] = {"cue": "depth-anything-v2"}
        maps = smooth_depth(self._maps(request, progress or no_progress), request.align,
                            request.smoothing, info)
        return MapsResult("depth", maps, request.fps / request.step, [], info)

    def _maps(self, request: MapsRequest, report: Progress) -> Iterator[MapFrame]:
        batch: list[tuple[int, np.ndarray]] = []
        done = 0
        for item in read_input(request):
            batch.append(item)
            if len(batch) == BATCH:
                yield from self._run(batch)
                done += len(batch)
                report(min(1.0, done / max(1, request.count)), f"frame {done}/{request.count}")
                batch = []
        if batch:
            yield from self._run(batch)

    def _run(self, batch: list[tuple[int, np.ndarray]]) -> Iterator[MapFrame]:
        maps = self.depth([rgb for _, rgb in batch])
        for (index, rgb), depth in zip(batch, maps, strict=True):
            yield MapFrame(index, rgb, depth)


def build(ctx: LoadContext) -> DepthAnythingRunner:
    from transformers import AutoImageProcessor, DepthAnythingForDepthEstimation

    model = DepthAnythingForDepthEstimation.from_pretrained(ctx.weights, dtype=ctx.torch_dtype,
                                                            use_safetensors=True)
    processor = AutoImageProcessor.from_pretrained(ctx.weights)
    return DepthAnythingRunner(model.to(ctx.device).eval(), processor, ctx.device, ctx.dtype)
