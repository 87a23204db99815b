"""SAM 2.1 video (``Sam2VideoModel`` with ``Sam2VideoProcessor``): the prompted object's mask on
every frame read.

The model runs in transformers' streaming mode: each frame is handed to the model as it is read
(``model(inference_session=..., frame_idx=..., frame=...)``) after the prompt went in on the
first frame streamed (``processor.add_inputs_to_inference_session(..., original_size=...)``), so
no whole clip is decoded up front. The session keeps every frame's pixels and outputs; this
runner drops what the model no longer reads (a frame's pixels once it is done, its 1024x1024
mask logits once they are encoded into memory, and memories older than the model's window of
``max(num_maskmem, max_object_pointers_in_encoder)`` frames; the prompt frame's memory stays),
so memory stays flat with the clip's length.

Frames after the prompt frame are tracked forward in one session; frames before it are tracked
in a second session fed the prompt frame and then the earlier frames in reverse (held at the
working size until then), which is what the model's reverse tracking does."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from pipelines.errors import InputError
from pipelines.maps.frames import read_input
from pipelines.maps.prompts import Prompt
from pipelines.maps.types import MapFrame, MapsRequest, MapsResult
from pipelines.progress import Progress, no_progress
from pipelines.registry import LoadContext

OBJECT_ID = 1


class Sam2VideoRunner:
    """An object's mask per frame from a ``Sam2VideoModel`` and a box or points on one frame."""

    def __init__(self, model: Any, processor: Any, device: str, dtype: str):
        self.model, self.processor = model, processor
        self.device, self.dtype = device, dtype
        config = model.config
        self.window = max(int(config.num_maskmem), int(config.max_object_pointers_in_encoder))

    def modules(self) -> dict[str, Any]:
        return {"model": self.model}

    def __call__(self, request: MapsRequest, progress: Progress | None = None) -> MapsResult:
        if request.kind != "object" or request.prompt is None:
            raise InputError("SAM 2.1 video makes object masks from a box or points on one "
                             "frame; give 'box' or 'points', or pick the classical backend for "
                             f"a {request.kind} map.")
        info: dict[str, Any] = {"empty_frames": 0}
        notes: list[str] = []
        return MapsResult("object", self._maps(request, progress or no_progress, info, notes),
                          request.fps / request.step, notes, info)

    # -- the streams ------------------------------------------------------------------------
    def _maps(self, request: MapsRequest, report: Progress, info: dict[str, Any],
              notes: list[str]) -> Iterator[MapFrame]:
        frames = read_input(request)
        earlier: list[tuple[int, np.ndarray]] = []
        start = None
        for index, rgb in frames:
            if index >= request.prompt.frame:
                start = (index, rgb)
                break
            earlier.append((index, rgb))
        if start is None:  # fewer frames decoded than probed: prompt on the last one read
            if not earlier:
                return
            start = earlier.pop()
        done = 0

        def counted(items: Iterable[MapFrame]) -> Iterator[MapFrame]:
            nonlocal done
            for item in items:
                done += 1
                if not item.map.any():
                    info["empty_frames"] += 1
                report(min(1.0, done / max(1, request.count)), f"frame {done}/{request.count}")
                yield item

        if earlier:  # back to the start: the prompt frame, then the earlier frames reversed
            backward = list(self._track(request.prompt, [start, *reversed(earlier)]))[1:]
            earlier.clear()
            yield from counted(reversed(backward))
        yield from counted(self._track(request.prompt, itertools.chain([start], frames)))
        if info["empty_frames"]:
            notes.append(f"The object was not found on {info['empty_frames']} of {done} "
                         f"frames (hidden, out of the picture, or lost): their masks are "
                         f"empty.")

    @torch.inference_mode()
    def _track(self, prompt: Prompt, frames: Iterable[tuple[int, np.ndarray]]
               ) -> Iterator[MapFrame]:
        """The mask of each of ``frames`` (the first one holds the prompt), in their order."""
        session = self.processor.init_video_session(inference_device=self.device,
                                                    dtype=self.model.dtype)
        for step, (index, rgb) in enumerate(frames):
            height, width = rgb.shape[:2]
            inputs = self.processor(images=rgb, return_tensors="pt")
            if step == 0:
                self._prompt(session, prompt.scaled(width, height), (height, width))
            output = self.model(inference_session=session, frame_idx=step,
                                frame=inputs["pixel_values"][0])
            masks = self.processor.post_process_masks(
                [output.pred_masks.float()], original_sizes=[[height, width]], binarize=True)[0]
            self._forget(session, step)
            yield MapFrame(index, rgb, masks[0, 0].cpu().numpy().astype(bool))

    def _prompt(self, session: Any, prompt: Prompt, size: tuple[int, int]) -> None:
        points = labels = boxes = None
        if prompt.points:
            points = [[[[x, y] for x, y, _ in prompt.points]]]
            labels = [[[label for *_, label in prompt.points]]]
        if prompt.box is not None:
            boxes = [[list(prompt.box)]]
        self.processor.add_inputs_to_inference_session(
            inference_session=session, frame_idx=0, obj_ids=OBJECT_ID, input_points=points,
            input_labels=labels, input_boxes=boxes, original_size=size)

    def _forget(self, session: Any, step: int) -> None:
        """Drop what the model reads no more after frame ``step``: its pixels (its features
        are cached), its full-size mask logits, and the memory that left the window."""
        session.processed_frames.pop(step, None)
        for obj_idx, outputs in session.output_dict_per_obj.items():
            for kind in ("cond_frame_outputs", "non_cond_frame_outputs"):
                current = outputs[kind].get(step)
                if current is not None:
                    current.pop("high_res_masks", None)
            outputs["non_cond_frame_outputs"].pop(step - self.window, None)
            session.frames_tracked_per_obj[obj_idx].pop(step - self.window, None)


def build(ctx: LoadContext) -> Sam2VideoRunner:
    from transformers import Sam2VideoModel, Sam2VideoProcessor

    model = Sam2VideoModel.from_pretrained(ctx.weights, dtype=ctx.torch_dtype,
                                           use_safetensors=True)
    processor = Sam2VideoProcessor.from_pretrained(ctx.weights)
    return Sam2VideoRunner(model.to(ctx.device).eval(), processor, ctx.device, ctx.dtype)
