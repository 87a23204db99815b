"""Object removal with Wan VACE (``remove.wan-vace``) through diffusers' ``WanVACEPipeline``.

VACE regenerates the white part of a mask video and keeps the black part as context. The hole
(the object's mask, carried or given, grown by ``dilate``) is painted grey in the frames the
model sees, so nothing of the object leaks into the fill, and is white in the mask. The video
goes through the model in pieces of ``chunk_frames`` (4k+1) frames at ``model_side``; each piece
after the first starts with the last :data:`OVERLAP` cleaned frames of the one before, given as
context (black in the mask), so the fill continues across pieces. The model's frames are scaled
back to the working size and only the hole takes them: the rest of each frame is the input's.
Memory: one piece of frames at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from pipelines import device as dev
from pipelines.errors import StudioError
from pipelines.portrait import memory as mem
from pipelines.portrait.video_model import frames_for, load_pipeline, to_uint8
from pipelines.registry import LoadContext
from pipelines.remove import masks as M
from pipelines.remove.classical import Plate
from pipelines.remove.settings import MEMORY_MODES
from pipelines.remove.types import RemoveRequest, RemoveResult
from pipelines.task import Progress

OVERLAP = 5  # cleaned frames that lead each piece into the next (one latent frame and a bit)
GREY = 128
TEMPORAL = 4  # frames per latent frame: pieces are 4k+1 frames
NEEDS = ("ftfy", "sentencepiece")


def model_size(size: tuple[int, int], side: int, multiple: int) -> tuple[int, int]:
    """(width, height) with the longer side ``side``, both multiples of ``multiple``."""
    width, height = size
    scale = side / max(width, height)
    return (max(multiple, round(width * scale / multiple) * multiple),
            max(multiple, round(height * scale / multiple) * multiple))


def piece_length(chunk: int) -> int:
    """``chunk`` frames rounded down to 4k+1 (at least 4 + 1 + the overlap)."""
    return max(TEMPORAL * 2 + 1, (chunk - 1) // TEMPORAL * TEMPORAL + 1)


class VaceRemover:
    """Runner of ``remove.wan-vace``: one loaded ``WanVACEPipeline``."""

    def __init__(self, pipe: Any, device: str, dtype: str, ctx: LoadContext | None = None):
        self.pipe, self.device, self.dtype, self.ctx = pipe, device, dtype, ctx
        self.memory = "gpu"
        self.multiple = int(pipe.vae_scale_factor_spatial) * int(
            pipe.transformer.config.patch_size[1])
        pipe.set_progress_bar_config(disable=True)

    @property
    def label(self) -> str:
        return self.ctx.spec.label if self.ctx is not None else "Wan VACE"

    def modules(self) -> dict[str, Any]:
        import torch

        return {name: module for name, module in self.pipe.components.items()
                if isinstance(module, torch.nn.Module)}

    def set_memory(self, mode: str) -> list[str]:
        """Switch between :data:`~pipelines.remove.settings.MEMORY_MODES`; notes for the user."""
        if mode == self.memory:
            return []
        on_gpu = dev.device_type(self.device) != "cpu"
        notes = []
        self.pipe.remove_all_hooks()
        mem.set_vae_tiling(self.pipe, mode in ("chunked", "low"))
        if mode in ("offload", "low") and on_gpu:
            self.pipe.enable_model_cpu_offload(device=self.device)
        else:
            if mode in ("offload", "low"):
                notes.append(f"Memory mode '{mode}' offloads to main memory; on the CPU every "
                             "model already sits there.")
            self.pipe.to(self.device)
        self.memory = mode
        return notes

    def _oom(self, mode: str) -> StudioError:
        lower = MEMORY_MODES[MEMORY_MODES.index(mode) + 1:]
        if not lower:
            return StudioError(f"The GPU ran out of memory even in memory mode '{mode}'. Lower "
                               "the model size or the frames per model pass, or use a GPU with "
                               "more memory.")
        return StudioError(f"The GPU ran out of memory in memory mode '{mode}'. Pick memory "
                           f"mode '{lower[0]}', or lower the model size or the frames per model "
                           "pass, and run again.")

    def __call__(self, request: RemoveRequest, progress: Progress | None = None
                 ) -> RemoveResult:
        report = progress or (lambda fraction, desc="": None)
        result = RemoveResult(iter(()), request.count, request.fps, request.size)
        result.notes.extend(self.set_memory(request.memory))
        length = piece_length(request.chunk_frames)
        fresh = length - OVERLAP  # new frames per piece after the first
        pieces = 1 + max(0, -(-(request.count - length) // fresh))
        width, height = model_size(request.size, request.model_side, self.multiple)
        if length != request.chunk_frames:
            result.notes.append(f"Frames per model pass: {length} (the model takes 4k+1).")
        result.info.update(model_size=[width, height], frames_per_pass=length,
                           memory_mode=request.memory)

        def pil(frames: list[np.ndarray]) -> list[Any]:
            from PIL import Image

            return [Image.fromarray(cv2.resize(f, (width, height),
                                               interpolation=cv2.INTER_AREA)) for f in frames]

        def run_piece(index: int, frames: list[np.ndarray], holes: list[np.ndarray]
                      ) -> list[np.ndarray]:
            import torch

            count = frames_for(len(frames), TEMPORAL)
            shown = [np.where(h[..., None], np.uint8(GREY), f) for f, h in zip(frames, holes,
                                                                               strict=True)]
            masks = [np.repeat(h[..., None].astype(np.uint8) * 255, 3, axis=2) for h in holes]
            shown += [shown[-1]] * (count - len(shown))
            masks += [masks[-1]] * (count - len(masks))

            def on_step_end(pipe: Any, step: int, timestep: Any, kwargs: dict) -> dict:
                report((index + (step + 1) / request.steps) / pieces,
                       f"piece {index + 1}/{pieces}, step {step + 1}/{request.steps}")
                return kwargs

            try:
                with torch.inference_mode():
                    output = self.pipe(
                        video=pil(shown), mask=pil(masks), prompt=request.prompt,
                        negative_prompt="", height=height, width=width, num_frames=count,
                        num_inference_steps=request.steps, guidance_scale=request.guidance,
                        generator=torch.Generator("cpu").manual_seed(request.seed + index),
                        output_type="np", callback_on_step_end=on_step_end)
            except Exception as err:
                if not mem.is_oom(err):
                    raise
                del err
                mem.free_accelerator_memory()
                raise self._oom(self.memory) from None
            made = to_uint8(output.frames[0])[: len(frames)]
            size = (frames[0].shape[1], frames[0].shape[0])
            return [np.where(h[..., None], cv2.resize(m, size, interpolation=cv2.INTER_CUBIC), f)
                    for m, h, f in zip(made, holes, frames, strict=True)]

        def frames() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            source = M.request_frames(request)
            plate = Plate(request.count)
            lead: list[np.ndarray] = []  # cleaned frames leading into the next piece
            batch: list[tuple[np.ndarray, np.ndarray, bool]] = []
            index = done = 0

            def flush() -> Iterator[tuple[np.ndarray, np.ndarray]]:
                nonlocal index, done, lead
                context = [np.zeros(f.shape[:2], bool) for f in lead]
                cleaned = run_piece(index, lead + [f for f, _, _ in batch],
                                    context + [h for _, h, _ in batch])[len(lead):]
                index += 1
                for out, (_, hole, still) in zip(cleaned, batch, strict=True):
                    plate.add(done, out, still)
                    done += 1
                    yield out, hole
                lead = cleaned[-OVERLAP:]
                batch.clear()

            for frame in source:
                hole = M.dilate(frame.mask, request.dilate)
                still = False
                if frame.flows is not None:
                    outside = ~M.resize_mask(hole, (frame.flows.backward.shape[1],
                                                    frame.flows.backward.shape[0]))
                    if outside.any():
                        moved = np.linalg.norm(frame.flows.backward[outside], axis=-1)
                        still = float(np.median(moved)) / frame.flows.scale < \
                            request.still_motion
                batch.append((frame.rgb, hole, still))
                if len(batch) + len(lead) >= length:
                    yield from flush()
            if batch:
                yield from flush()
            result.plate, how = plate.image()
            result.info.update(pieces=index, frames=done, plate=how)
            result.notes.append(f"Wan VACE filled the hole in {index} piece(s) of up to "
                                f"{length} frames at {width}x{height}. Clean still: {how}.")

        result.frames = frames()
        return result


def build(ctx: LoadContext) -> VaceRemover:
    from diffusers import WanVACEPipeline

    pipe = load_pipeline(WanVACEPipeline, ctx, needs=NEEDS)
    return VaceRemover(pipe.to(ctx.device), ctx.device, ctx.dtype, ctx)
