"""Wav2Lip runner: batched lip generation on face crops, pasted back with a feathered mask.

For every output frame the face box (tracked in a video, carried along by the head motion of a
still) is padded down to take in the chin, cropped, resized to 96x96 and sent through the
network with the frame's mel window. The generated crop's lower part (the mouth and jaw; the
network redraws the lower half) replaces the original under a mask that fades out at its edges.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from metrics.timing import StageTimer
from pipelines.errors import StudioError
from pipelines.faces import Box, Face
from pipelines.registry import LoadContext
from pipelines.talking_head import common, mel
from pipelines.talking_head.types import TalkRequest, TalkResult

FACE_SIZE = 96


def check_crop_settings(request: TalkRequest) -> None:
    """The batch size and chin padding of a face-crop network (Wav2Lip, MuseTalk), in range."""
    if not 1 <= request.batch_size <= 512:
        raise StudioError(f"The batch size must be 1 to 512; got {request.batch_size}.")
    if not 0 <= request.chin_padding <= 1:
        raise StudioError(f"Chin padding must be 0 to 1; got {request.chin_padding}.")


def crop_box(face: Box, chin_padding: float, width: int, height: int) -> Box:
    """The face box extended down by ``chin_padding`` of its height, inside the frame."""
    return Box(face.x, face.y, face.w, round(face.h * (1 + chin_padding))).clip(width, height)


def _ramp(n: int, lo: float, hi: float) -> np.ndarray:
    t = np.clip((np.linspace(0, 1, n, dtype=np.float32) - lo) / (hi - lo), 0, 1)
    return t * t * (3 - 2 * t)


def paste_mask(height: int, width: int) -> np.ndarray:
    """``(height, width, 1)`` weights: 1 over the lower face, fading to 0 at the crop's edges
    and above the middle (the upper half comes back from the network only as a copy)."""
    rows = _ramp(height, 0.42, 0.58) * (1 - _ramp(height, 0.9, 1.0))
    cols = _ramp(width, 0.0, 0.1) * (1 - _ramp(width, 0.9, 1.0))
    return (rows[:, None] * cols[None])[..., None]


def face_batch(crops: list[np.ndarray]) -> np.ndarray:
    """``(B, 6, 96, 96)`` float32 in [0, 1]: each BGR crop with its lower half blanked, then the
    crop itself as the reference, the layout Wav2Lip was trained on."""
    faces = np.stack(crops).astype(np.float32) / 255.0
    masked = faces.copy()
    masked[:, FACE_SIZE // 2:] = 0
    return np.concatenate([masked, faces], axis=3).transpose(0, 3, 1, 2)


class Wav2LipTalker:
    def __init__(self, model, device: str, dtype: str):
        self.model, self.device, self.dtype = model, device, dtype

    def modules(self) -> dict[str, object]:
        return {"wav2lip": self.model}

    def __call__(self, request: TalkRequest,
                 progress: common.Progress | None = None) -> TalkResult:
        check_crop_settings(request)
        timer = StageTimer()
        prepared = common.prepare(request, timer)
        with timer.stage("mel"):
            windows = mel.frame_windows(mel.melspectrogram(prepared.samples),
                                        len(prepared.track), request.fps)
        pairs = prepared.source.frames(prepared.track, request, talk=False)
        frames = self._lip_synced(pairs, windows, request, timer)
        count = common.write_video(request, prepared, frames, timer, progress)
        return common.result(request, prepared, count, timer)

    def _lip_synced(self, pairs: Iterator[tuple[np.ndarray, Face]], windows: np.ndarray,
                    request: TalkRequest, timer: StageTimer) -> Iterator[np.ndarray]:
        batch: list[tuple[np.ndarray, Face]] = []
        start = 0
        for pair in pairs:
            batch.append(pair)
            if len(batch) == request.batch_size:
                yield from self._batch(batch, windows[start: start + len(batch)], request, timer)
                start += len(batch)
                batch = []
        if batch:
            yield from self._batch(batch, windows[start: start + len(batch)], request, timer)

    def _batch(self, batch: list[tuple[np.ndarray, Face]], windows: np.ndarray,
               request: TalkRequest, timer: StageTimer) -> list[np.ndarray]:
        import cv2

        boxes, crops = [], []
        for frame, face in batch:
            box = crop_box(face.box, request.chin_padding, frame.shape[1], frame.shape[0])
            crop = frame[box.y: box.y + box.h, box.x: box.x + box.w]
            crops.append(cv2.resize(crop[..., ::-1], (FACE_SIZE, FACE_SIZE),
                                    interpolation=cv2.INTER_AREA))
            boxes.append(box)
        with timer.stage("model"):
            predicted = [np.ascontiguousarray(p[..., ::-1])  # BGR -> RGB
                         for p in self.predict(face_batch(crops), windows)]
        if request.enhancer is not None:
            with timer.stage("sharpen"):
                side = max(max(box.w, box.h) for box in boxes)
                predicted = request.enhancer(predicted, float(np.clip(np.ceil(side / FACE_SIZE),
                                                                      2, 4)))
        return [paste(frame, box, pred)
                for (frame, _), box, pred in zip(batch, boxes, predicted, strict=True)]

    def predict(self, faces: np.ndarray, windows: np.ndarray) -> np.ndarray:
        """``(B, 96, 96, 3)`` uint8 BGR crops from ``faces`` (B, 6, 96, 96) and mel windows."""
        import torch

        dtype = getattr(torch, self.dtype)
        with torch.inference_mode():
            mels = torch.from_numpy(windows[:, None]).to(self.device, dtype)
            crops = torch.from_numpy(faces).to(self.device, dtype)
            out = self.model(mels, crops).float().clamp(0, 1).mul(255).round()
        return out.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def paste(frame: np.ndarray, box: Box, generated: np.ndarray) -> np.ndarray:
    """Blend the RGB crop ``generated`` (any size) into ``box`` of ``frame`` in place under
    :func:`paste_mask`; returns ``frame``."""
    import cv2

    shrink = generated.shape[1] > box.w
    resized = cv2.resize(generated, (box.w, box.h),
                         interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    region = frame[box.y: box.y + box.h, box.x: box.x + box.w].astype(np.float32)
    frame[box.y: box.y + box.h, box.x: box.x + box.w] = np.clip(
        region + (resized - region) * paste_mask(box.h, box.w) + 0.5, 0, 255).astype(np.uint8)
    return frame


def load_network(path: Path, device: str, dtype: str):
    """The Wav2Lip generator from a checkpoint file (``torch.load(weights_only=True)``)."""
    import pickle

    import torch

    from pipelines.talking_head.network import Wav2Lip, checkpoint_state

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        state = checkpoint_state(checkpoint)
    except (pickle.UnpicklingError, RuntimeError, ValueError, EOFError) as err:
        raise StudioError(f"'{path.name}' is not a Wav2Lip checkpoint the studio can read "
                          f"({type(err).__name__}: {str(err)[:200]}). Fetch it again with "
                          "`python cli.py fetch`.") from err
    model = Wav2Lip()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise StudioError(f"'{path.name}' does not hold the Wav2Lip generator's weights "
                          f"({str(err)[:300]}).") from err
    return model.to(device=device, dtype=getattr(torch, dtype)).eval()


def build(ctx: LoadContext) -> Wav2LipTalker:
    model = load_network(ctx.file(ctx.spec.files[0]), ctx.device, ctx.dtype)
    return Wav2LipTalker(model, ctx.device, ctx.dtype)
