"""Person masks: MediaPipe's selfie segmentation model (Apache-2.0) on ``ai-edge-litert``.

The model (``selfie_segmentation.tflite``, 0.25 MB, from the ``mediapipe`` 0.10.21 wheel through
the ``metrics.person-mask`` spec) takes one ``1x256x256x3`` float32 RGB image in [0, 1], the
whole frame stretched to a square as MediaPipe's own graph feeds it (``ImageToTensorCalculator``
without aspect keeping), and returns a ``1x256x256x1`` map whose last layer is already a sigmoid:
the probability that each pixel shows a person. :func:`person_mask` scales it back to the
frame's size (bilinear), so callers get a float mask in [0, 1] aligned with their frame.

It runs on the CPU whatever device the registry picked (about a millisecond per frame); an
interpreter is not thread-safe, so calls are serialised by a lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError, StudioError, WeightsUnavailable
from pipelines.progress import Progress

SPEC_ID = "metrics.person-mask"
MODEL_FILE = "selfie_segmentation.tflite"
SIZE = 256  # the model's input and output side


@dataclass(frozen=True)
class MaskRequest:
    frames: Sequence[np.ndarray]  # HxWx3 uint8 RGB


@dataclass
class MaskResult:
    masks: list[np.ndarray]  # HxW float32 in [0, 1], one per frame, at the frame's size
    timings: dict[str, float] = field(default_factory=dict)


def _check_frame(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8 or min(
            frame.shape[:2]) < 1:
        raise InputError(f"A person mask needs an RGB image (height x width x 3, 8-bit); got an "
                         f"array of shape {frame.shape} and type {frame.dtype}.")
    return frame


class PersonSegmenter:
    """Runner: person masks of RGB frames (``mask(frame)`` for one)."""

    source = "mediapipe"

    def __init__(self, model_path: Path, threads: int = 1):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as err:  # pragma: no cover - a broken install
            raise StudioError("Person masks need the 'ai-edge-litert' package: pip install -r "
                              "requirements.txt") from err
        self._lock = threading.Lock()
        self._net = Interpreter(model_path=str(model_path), num_threads=threads)
        self._net.allocate_tensors()
        inp, out = self._net.get_input_details()[0], self._net.get_output_details()[0]
        if tuple(inp["shape"]) != (1, SIZE, SIZE, 3) or tuple(out["shape"]) != (1, SIZE, SIZE, 1):
            raise StudioError(f"{model_path.name} is not the selfie segmentation model (input "
                              f"{tuple(inp['shape'])}, output {tuple(out['shape'])}; expected "
                              f"1x{SIZE}x{SIZE}x3 in and 1x{SIZE}x{SIZE}x1 out).")
        self._in, self._out = inp["index"], out["index"]

    def modules(self) -> dict[str, Any]:
        return {}  # a LiteRT interpreter, not a torch module: nothing for the cache to move

    def mask(self, frame: np.ndarray) -> np.ndarray:
        """The person probability of every pixel of ``frame`` (HxW float32 in [0, 1])."""
        import cv2

        frame = _check_frame(frame)
        height, width = frame.shape[:2]
        shrink = height > SIZE and width > SIZE
        square = cv2.resize(frame, (SIZE, SIZE),
                            interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        tensor = (square.astype(np.float32) * (1.0 / 255.0))[None]
        with self._lock:
            self._net.set_tensor(self._in, tensor)
            self._net.invoke()
            small = self._net.get_tensor(self._out)[0, :, :, 0].copy()
        full = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        return np.clip(full, 0.0, 1.0, out=full)

    def __call__(self, request: MaskRequest, progress: Progress | None = None) -> MaskResult:
        start = time.perf_counter()
        masks = []
        for done, frame in enumerate(request.frames, 1):
            masks.append(self.mask(frame))
            if progress:
                progress(done / len(request.frames), "person masks")
        return MaskResult(masks, {"masks": time.perf_counter() - start})


def build(ctx) -> PersonSegmenter:
    """Registry builder: the model runs on the CPU whatever device the registry picked."""
    found = sorted(ctx.weights.rglob(MODEL_FILE)) if ctx.weights is not None else []
    if not found:
        raise WeightsUnavailable(ctx.spec.id, ctx.spec.repo_id or "", f"{MODEL_FILE} is missing")
    return PersonSegmenter(found[0])


_DEFAULT: dict[str, Any] = {}
_DEFAULT_LOCK = threading.Lock()


def person_mask(frame_rgb: np.ndarray, registry=None) -> np.ndarray:
    """The person mask of one RGB frame: float32 in [0, 1] at the frame's size, through the
    ``metrics.person-mask`` spec of ``registry`` (the studio's catalog when None). Missing
    weights raise :class:`~pipelines.errors.WeightsUnavailable` naming the fetch command."""
    if registry is None:
        with _DEFAULT_LOCK:
            if "registry" not in _DEFAULT:
                from pipelines.catalog import build_registry

                _DEFAULT["registry"] = build_registry()
            registry = _DEFAULT["registry"]
    return registry.load(SPEC_ID).mask(frame_rgb)
