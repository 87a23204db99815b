"""Model backends: Swin2SR (transformers) and the ESRGAN family (spandrel), tiled and batched.

Both run their model at its native scale through :func:`~pipelines.super_res.tiling.upscale_tiled`
and resample the result to the requested scale. A runner knows its model's alignment (window size
or pixel-unshuffle factor), minimum input side and working memory per input pixel, which is what
the tile planner needs.
"""

from __future__ import annotations

import math
import pickle
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines import device as dev
from pipelines.errors import StudioError
from pipelines.registry import LoadContext
from pipelines.super_res.tiling import TilePlan, plan_tiles, tiles_per_frame, upscale_tiled
from pipelines.super_res.types import (
    Progress,
    UpscaleRequest,
    UpscaleResult,
    check_request,
    resample,
)

if TYPE_CHECKING:
    import torch

# Tiles or frames per forward pass, at most. On the CPU a batch brings no speed and costs memory
# (bench/super_res.py: four 136 px RRDBNet tiles in one batch took 17.3 s, one by one 15.3 s),
# so tiles go one at a time there; accelerators batch up to 16.
MAX_BATCH = {"cpu": 1}
DEFAULT_MAX_BATCH = 16


class TorchUpscaler(ABC):
    """Shared body of the model runners: plan tiles, run them, convert, resample.

    Subclasses set the model and its facts and implement :meth:`forward` (a ``(B, 3, h, w)``
    batch in [0, 1] -> ``(B, 3, h * native_scale, w * native_scale)``).
    """

    native_scale: int
    align: int = 1
    minimum: int = 0
    overlap: int = 16  # default overlap between tiles, input pixels
    bytes_per_pixel: float = 0.0  # working memory of one pass per input pixel
    channels_last: bool = False  # feed batches in NHWC layout (convolutional models)

    def __init__(self, device: str, dtype: str):
        self.device = device
        self.dtype = dtype

    @abstractmethod
    def modules(self) -> dict[str, Any]:
        """The torch modules this runner holds."""

    @abstractmethod
    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """One pass of the model over a batch of tiles or frames."""

    def plan(self, width: int, height: int, frames: int, tile: int = 0,
             overlap: int = 0) -> TilePlan:
        """Tile side and batch size for ``frames`` frames, from the device's free memory."""
        max_batch = MAX_BATCH.get(dev.device_type(self.device), DEFAULT_MAX_BATCH)
        return plan_tiles(
            width, height, frames, bytes_per_pixel=self.bytes_per_pixel,
            free_bytes=dev.device_memory(self.device).free_bytes, overlap=overlap or self.overlap,
            align=self.align, minimum=self.minimum, tile=tile, max_batch=max_batch,
        )  # fmt: skip

    def plan_batch(self, width: int, height: int, tile: int = 0) -> int:
        """How many video frames to hand over per call: whole frames batched when they fit."""
        plan = self.plan(width, height, DEFAULT_MAX_BATCH, tile)
        return plan.batch if plan.tile is None else 1

    def __call__(self, request: UpscaleRequest, progress: Progress | None = None) -> UpscaleResult:
        import torch

        frames, size = check_request(request)
        height, width = frames[0].shape[:2]
        plan = self.plan(width, height, len(frames), request.tile, request.overlap)
        timings: dict[str, float] = {}
        with torch.inference_mode():
            start = time.perf_counter()
            batch = torch.from_numpy(np.stack(frames)).to(self.device)
            batch = batch.permute(0, 3, 1, 2).to(dev.torch_dtype(self.dtype)).div_(255.0)
            layout = torch.channels_last if self.channels_last else torch.contiguous_format
            batch = batch.contiguous(memory_format=layout)
            out = upscale_tiled(batch, self.forward, self.native_scale, plan, progress)
            out = out.float().clamp_(0.0, 1.0).mul_(255.0).round_().to(torch.uint8)
            native = list(out.permute(0, 2, 3, 1).contiguous().cpu().numpy())
            timings["model"] = time.perf_counter() - start
        start = time.perf_counter()
        result = [resample(frame, size) for frame in native]
        timings["resample"] = time.perf_counter() - start
        return UpscaleResult(
            frames=result, scale=float(request.scale), native_scale=self.native_scale,
            tile=plan.tile, tiles_per_frame=tiles_per_frame(width, height, plan),
            device=self.device, dtype=self.dtype, timings=timings,
        )  # fmt: skip


# --------------------------------------------------------------------------------------------
# ESRGAN family (spandrel)


def load_state_dict(path: Path) -> dict[str, Any]:
    """A checkpoint's tensors: safetensors, or a pickle read with ``weights_only=True``."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise StudioError(
            f"'{path.name}' holds more than tensors, so it was not loaded (only weights-only "
            "checkpoints are trusted). Use a safetensors or plain state-dict checkpoint."
        ) from err


class SpandrelUpscaler(TorchUpscaler):
    """A spandrel ``ImageModelDescriptor`` (Real-ESRGAN, Compact, ...) as a tiled runner.

    Its weights and inputs are channels-last (NHWC): on this project's 2-core CPU machine the
    x4plus RRDBNet ran a 256 px input in 15.6 s instead of 18.8 s, and tensor cores want it too.
    """

    channels_last = True

    def __init__(self, descriptor: Any, device: str, dtype: str):
        import torch

        super().__init__(device, dtype)
        descriptor.model.to(memory_format=torch.channels_last)
        self.descriptor = descriptor
        self.native_scale = int(descriptor.scale)
        requirements = descriptor.size_requirements
        self.align = int(requirements.multiple_of)
        self.minimum = int(requirements.minimum)
        first = next(p for p in descriptor.model.parameters() if p.ndim == 4)
        features = int(first.shape[0])
        element = 4 if dtype == "float32" else 2
        # Feature maps at the input size plus up to three at the output size, per input pixel.
        self.bytes_per_pixel = element * features * (8 + 3 * self.native_scale**2)

    def modules(self) -> dict[str, Any]:
        return {"model": self.descriptor.model}

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.descriptor(batch)


def _descriptor_dtype(descriptor: Any, wanted: str) -> str:
    """``wanted`` if the architecture supports it, else float32."""
    if wanted == "float16" and descriptor.supports_half:
        return wanted
    if wanted == "bfloat16" and descriptor.supports_bfloat16:
        return wanted
    return "float32"


def build_spandrel(ctx: LoadContext) -> SpandrelUpscaler:
    """Load the spec's one checkpoint file and let spandrel recognise its architecture."""
    name = ctx.spec.files[0]
    return spandrel_runner(load_state_dict(ctx.file(name)), name, ctx)


def spandrel_runner(state: dict[str, Any], name: str, ctx: LoadContext) -> SpandrelUpscaler:
    """A state dict recognised by spandrel as a 3-channel super-resolution model, on the
    context's device in the nearest dtype it supports; ``name`` is what messages call it."""
    from spandrel import (
        ImageModelDescriptor,
        ModelLoader,
        UnsupportedModelError,
        canonicalize_state_dict,
    )

    state = canonicalize_state_dict(state)
    try:
        descriptor = ModelLoader().load_from_state_dict(state)
    except UnsupportedModelError as err:
        raise StudioError(f"'{name}' is not a model architecture spandrel knows.") from err
    if not isinstance(descriptor, ImageModelDescriptor) or descriptor.purpose != "SR":
        raise StudioError(f"'{name}' is a {descriptor.architecture.name} model for "
                          f"{descriptor.purpose}, not for super-resolution.")
    if descriptor.input_channels != 3 or descriptor.output_channels != 3:
        raise StudioError(f"'{name}' works on {descriptor.input_channels}-channel images; the "
                          "studio upscales RGB.")
    dtype = _descriptor_dtype(descriptor, ctx.dtype)
    descriptor.to(ctx.device).to(dev.torch_dtype(dtype)).eval()
    return SpandrelUpscaler(descriptor, ctx.device, dtype)


def build_ncnn_rrdbnet(ctx: LoadContext) -> SpandrelUpscaler:
    """Real-ESRGAN from ncnn's ``.param``/``.bin`` pair (the spec's two files): converted to the
    RRDBNet state dict once (:mod:`pipelines.super_res.ncnn`), cached as safetensors beside the
    files, then loaded by spandrel like the published ``.pth``."""
    import torch

    from pipelines.super_res import ncnn

    param = next((n for n in ctx.spec.files if n.endswith(".param")), None)
    weights = next((n for n in ctx.spec.files if n.endswith(".bin")), None)
    if param is None or weights is None:
        raise StudioError(f"'{ctx.spec.id}' must name an ncnn .param and .bin file.")
    param_path, weights_path = ctx.file(param), ctx.file(weights)
    cache = weights_path.with_name(Path(weights).stem + ".rrdbnet.safetensors")
    arrays = ncnn.cached_state(param_path, weights_path, cache)
    state = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in arrays.items()}
    return spandrel_runner(state, Path(weights).name, ctx)


# --------------------------------------------------------------------------------------------
# Swin2SR (transformers)


class Swin2SRUpscaler(TorchUpscaler):
    """``Swin2SRForImageSuperResolution`` with its image processor, as a tiled runner."""

    overlap = 32

    def __init__(self, model: Any, processor: Any, device: str, dtype: str):
        super().__init__(device, dtype)
        self.model, self.processor = model, processor
        config = model.config
        self.native_scale = int(config.upscale)
        self.align = math.lcm(int(config.window_size), int(processor.size_divisor))
        self.minimum = int(config.window_size)
        element = 4 if dtype == "float32" else 2
        # Window attention and MLP activations per token, plus the upsampler's output maps.
        self.bytes_per_pixel = element * (24 * int(config.embed_dim) + 192 * self.native_scale**2)

    def modules(self) -> dict[str, Any]:
        return {"model": self.model}

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        # Tiles are already padded to the processor's multiple; it rescales them as trained.
        inputs = self.processor(images=batch / self.processor.rescale_factor, do_pad=False,
                                return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device, batch.dtype)
        return self.model(pixel_values=pixels).reconstruction


def build_swin2sr(ctx: LoadContext) -> Swin2SRUpscaler:
    from transformers import AutoImageProcessor, Swin2SRForImageSuperResolution

    model = Swin2SRForImageSuperResolution.from_pretrained(ctx.weights, dtype=ctx.torch_dtype)
    processor = AutoImageProcessor.from_pretrained(ctx.weights)
    return Swin2SRUpscaler(model.to(ctx.device).eval(), processor, ctx.device, ctx.dtype)
