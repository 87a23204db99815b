"""What the diffusers image-to-video runners share: fitting, memory modes, progress, restoring.

A subclass names its settings (``request.svd`` or ``request.dit``), its denoiser component, the
size multiple its model needs, and implements :meth:`VideoModelRunner.generate`. torch and
diffusers are imported only inside methods, so importing this module stays light.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pipelines import device as dev
from pipelines.faces import detect_faces
from pipelines.portrait.geometry import FitPlan, plan_fit, restore, to_model
from pipelines.portrait.request import AnimateRequest, AnimateResult, check_request

Progress = Callable[[float, str], None]


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] (any leading shape) as uint8."""
    return np.clip(np.rint(np.asarray(frames, np.float32) * 255.0), 0, 255).astype(np.uint8)


class VideoModelRunner:
    """Base of the diffusers runners: one loaded pipeline, switched between memory modes."""

    denoiser = "unet"  # the component that forward chunking and torch.compile apply to
    multiple = 64  # model sides must be multiples of this

    def __init__(self, pipe: Any, device: str, dtype: str):
        self.pipe, self.device, self.dtype = pipe, device, dtype
        self.memory = "gpu"
        self._eager = getattr(pipe, self.denoiser)
        pipe.set_progress_bar_config(disable=True)

    def modules(self) -> dict[str, Any]:
        import torch

        return {name: module for name, module in self.pipe.components.items()
                if isinstance(module, torch.nn.Module)}

    def settings(self, request: AnimateRequest) -> Any:
        raise NotImplementedError

    # -- memory modes -------------------------------------------------------------------------
    def _chunking(self, on: bool) -> None:
        """Forward chunking of the denoiser's feed-forward layers (or the subclass's analogue)."""
        denoiser = self._eager
        if on:
            denoiser.enable_forward_chunking()
            return
        for module in denoiser.modules():
            if hasattr(module, "set_chunk_feed_forward"):
                module.set_chunk_feed_forward(chunk_size=None, dim=0)

    def set_memory(self, mode: str) -> list[str]:
        """Switch to ``gpu``, ``offload``, ``chunked``, ``low`` or ``compile``; returns notes."""
        import torch

        if mode == self.memory:
            return []
        notes: list[str] = []
        on_gpu = dev.device_type(self.device) != "cpu"
        if not on_gpu and mode in ("offload", "low", "compile"):
            notes.append(f"Memory mode '{mode}' needs a GPU; on the CPU every module already "
                         "sits in main memory, so the model runs as loaded"
                         + (" with chunking." if mode == "low" else "."))
        offload = on_gpu and mode in ("offload", "low")
        compiled = on_gpu and mode == "compile"
        pipe = self.pipe
        setattr(pipe, self.denoiser, self._eager)
        pipe.remove_all_hooks()
        self._chunking(mode in ("chunked", "low"))
        if offload:
            pipe.enable_model_cpu_offload(device=self.device)  # parks every module in RAM
        else:
            pipe.to(self.device)
        if compiled:
            setattr(pipe, self.denoiser, torch.compile(self._eager))
        self.memory = mode
        return notes

    # -- one job ------------------------------------------------------------------------------
    def plan(self, request: AnimateRequest) -> FitPlan:
        opts = self.settings(request)
        faces = detect_faces(request.image)
        focus = faces[0].box.center if faces else None
        height, width = request.image.shape[:2]
        return plan_fit(width, height, area=opts.side * opts.side, multiple=self.multiple,
                        fit=opts.fit, focus=focus)

    def generate(self, request: AnimateRequest, plan: FitPlan, image: np.ndarray,
                 step: Callable[[int, int], None]) -> tuple[np.ndarray, list[str]]:
        """(frames float (T, H, W, 3) in [0, 1], notes) for one request."""
        raise NotImplementedError

    def __call__(self, request: AnimateRequest, progress: Progress | None = None
                 ) -> AnimateResult:
        import torch

        check_request(request)
        opts = self.settings(request)
        report = progress or (lambda fraction, desc: None)
        timings: dict[str, float] = {}
        start = time.perf_counter()
        notes = self.set_memory(opts.memory)
        plan = self.plan(request)
        if plan.note:
            notes.append(plan.note)
        model_image = to_model(request.image, plan)
        timings["prepare"] = time.perf_counter() - start

        def step(done: int, total: int) -> None:
            report(0.05 + 0.9 * done / max(1, total), f"denoising, step {done}/{total}")

        cuda = dev.device_type(self.device) == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
        start = time.perf_counter()
        report(0.02, "starting the model")
        with torch.inference_mode():
            frames, more = self.generate(request, plan, model_image, step)
        timings["generate"] = time.perf_counter() - start
        notes += more
        start = time.perf_counter()
        report(0.97, "restoring the picture's shape")
        restored = [restore(frame, plan) for frame in to_uint8(frames)]
        timings["restore"] = time.perf_counter() - start
        info: dict[str, object] = {
            "model_size": list(plan.model_size), "fit": plan.fit, "region": list(plan.region),
            "memory_mode": self.memory,
        }
        if cuda:
            info["peak_gpu_bytes"] = int(torch.cuda.max_memory_allocated(self.device))
        return AnimateResult(restored, request.fps, notes, timings, info)

    def step_callback(self, step: Callable[[int, int], None], total: int) -> Callable:
        """diffusers' ``callback_on_step_end`` reporting each finished step."""

        def on_step_end(pipe: Any, index: int, timestep: Any, kwargs: dict) -> dict:
            step(index + 1, total)
            return kwargs

        return on_step_end

    def generator(self, seed: int) -> Any:
        """A CPU generator: the same seed gives the same noise on every device."""
        import torch

        return torch.Generator("cpu").manual_seed(seed)
