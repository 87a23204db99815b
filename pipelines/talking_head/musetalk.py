"""MuseTalk 1.5 lip sync: one UNet pass in a VAE's latent space, conditioned on Whisper features.

Written from the published architecture (Zhang et al., "MuseTalk: Real-Time High Quality Lip
Synchronization with Latent Space Inpainting", and the public TMElyralab/MuseTalk release); no
code of that project is used. Per output frame (25 fps):

* **Crop.** The tracked face box, extended down by ``chin_padding`` of its height (MuseTalk 1.5
  adds a margin below its landmark box for the same reason: the jaw must be inside), is resized
  to 256x256 RGB.
* **Latents.** ``stabilityai/sd-vae-ft-mse`` (diffusers ``AutoencoderKL``) encodes the crop with
  its lower half zeroed (the masked latent) and the whole crop (the reference latent), each
  ``(4, 32, 32)`` times the VAE's scaling factor (0.18215); we take the latent distribution's mean
  rather than a sample, so a run is deterministic. Concatenated: ``(8, 32, 32)``.
* **Audio.** ``openai/whisper-tiny``'s encoder reads 30-second segments of 16 kHz speech (its
  80-bin log-mel features, 100 frames a second; two convolutions, the second of stride 2, give
  50 feature frames a second) and every hidden state is kept: the embedding output and the
  four layers', 5 x 384 per feature frame. Video frame ``i`` at 25 fps takes the 10 feature
  frames starting 4 before feature frame ``2 i`` (2 video frames of context on either side; zeros
  before the start and after the end of the speech), flattened time-major to a ``(50, 384)``
  sequence, plus the sinusoidal position encoding MuseTalk adds before cross-attention.
* **UNet.** diffusers ``UNet2DConditionModel`` built from ``musetalkV15/musetalk.json``
  (in_channels 8, out_channels 4, cross_attention_dim 384) with ``musetalkV15/unet.pth`` loaded
  strictly, run once at timestep 0: MuseTalk is not iterative diffusion, the single pass predicts
  the latent of the lip-synced face, which the VAE decodes to a 256x256 crop.
* **Blend.** The crop goes back into the frame under a feathered mask of the lower face: the
  face mesh's jaw line below the nose when the landmark model found the face (its shape relative
  to the box is carried along the tracked box), else the lower half of the box
  (:func:`pipelines.talking_head.wav2lip.paste_mask`). Pixels outside the mask keep their values.

Frames are made in batches of ``batch_size`` and encoded as they come, and the Whisper features
of at most two 30-second segments are held at once, so memory does not grow with the audio.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from metrics.timing import StageTimer
from pipelines.errors import StudioError, WeightsUnavailable
from pipelines.faces import Box, Face
from pipelines.registry import LoadContext
from pipelines.talking_head import common
from pipelines.talking_head.types import TalkRequest, TalkResult
from pipelines.talking_head.wav2lip import check_crop_settings, crop_box, paste_mask

FACE_SIZE = 256  # MuseTalk's face crops are 256x256
CONTEXT = 2  # video frames of audio context on either side of a frame
UNET_CONFIG = "musetalkV15/musetalk.json"
UNET_WEIGHTS = "musetalkV15/unet.pth"
VAE_REPO = "stabilityai/sd-vae-ft-mse"
VAE_FILES = ("config.json", "diffusion_pytorch_model.safetensors")
WHISPER_REPO = "openai/whisper-tiny"
WHISPER_FILES = ("config.json", "preprocessor_config.json", "model.safetensors")
# Mesh points: the face oval (jaw line) and the bottom of the nose, where the lower face starts.
NOSE_BOTTOM = 2


# --------------------------------------------------------------------------------------------
# Audio features


def positional_encoding(length: int, width: int) -> np.ndarray:
    """``(length, width)`` float32 sinusoids (sine on even channels, cosine on odd ones, periods
    growing geometrically to 10000), the encoding MuseTalk adds to the audio sequence."""
    position = np.arange(length, dtype=np.float64)[:, None]
    rate = np.exp(np.arange(0, width, 2, dtype=np.float64) * (-math.log(10000.0) / width))
    table = np.zeros((length, width), np.float64)
    table[:, 0::2] = np.sin(position * rate)
    table[:, 1::2] = np.cos(position * rate[: width // 2])
    return table.astype(np.float32)


class AudioWindows:
    """Whisper encoder features of ``samples`` (mono 16 kHz), window by window.

    The encoder reads fixed segments (30 s for the published feature extractor); a segment is
    encoded the first time a window needs it and at most two are kept.
    """

    def __init__(self, samples: np.ndarray, extractor: Any, encoder: Any, device: str,
                 dtype: Any, fps: float):
        self.samples, self.extractor, self.encoder = samples, extractor, encoder
        self.device, self.dtype = device, dtype
        self.segment_samples = int(extractor.n_samples)
        # mel frames per second, then the encoder's stride-2 convolution halves them
        self.rate = extractor.sampling_rate / extractor.hop_length / 2
        self.per_segment = int(extractor.nb_max_frames) // 2
        self.valid = math.ceil(len(samples) / extractor.sampling_rate * self.rate)
        self.step = self.rate / fps  # feature frames per video frame (2 at 25 fps)
        self.length = 2 * (2 * CONTEXT + 1)  # 10 feature frames per video frame
        self._segments: dict[int, np.ndarray] = {}
        self._shape: tuple[int, ...] | None = None  # (layers, width), known after one segment

    def _segment(self, index: int) -> np.ndarray:
        """``(per_segment, layers, width)`` float32 features of segment ``index``."""
        if index not in self._segments:
            import torch

            start = index * self.segment_samples
            piece = self.samples[start: start + self.segment_samples]
            features = self.extractor(piece, sampling_rate=self.extractor.sampling_rate,
                                      return_tensors="pt").input_features
            with torch.inference_mode():
                out = self.encoder(features.to(self.device, self.dtype),
                                   output_hidden_states=True)
            stacked = torch.stack(out.hidden_states, dim=2)[0].float().cpu().numpy()
            if len(self._segments) >= 2:
                del self._segments[min(self._segments)]
            self._segments[index] = stacked
            self._shape = stacked.shape[1:]
        return self._segments[index]

    def window(self, frame: int) -> np.ndarray:
        """``(10, layers, width)``: feature frames ``[2 i - 4, 2 i + 6)`` at 25 fps, zeros
        outside the speech."""
        start = math.floor(frame * self.step) - CONTEXT * math.floor(self.step)
        if self._shape is None:
            self._segment(0)
        out = np.zeros((self.length, *self._shape), np.float32)
        for k in range(self.length):
            t = start + k
            if 0 <= t < self.valid:
                out[k] = self._segment(t // self.per_segment)[t % self.per_segment]
        return out

    def batch(self, frames: range) -> np.ndarray:
        """``(B, 10 * layers, width)``: the windows flattened time-major, position encoded."""
        windows = np.stack([self.window(i) for i in frames])
        b, n, layers, width = windows.shape
        sequence = windows.reshape(b, n * layers, width)
        return sequence + positional_encoding(n * layers, width)[None]


# --------------------------------------------------------------------------------------------
# Masks and blending


def lower_face_shape(landmarks: Any, box: Box) -> np.ndarray | None:
    """The lower face (the jaw line below the bottom of the nose) as a polygon in coordinates
    relative to the face ``box`` (0..1 inside it), from a face mesh; None without one."""
    from pipelines.landmarks import FACE_OVAL

    if landmarks is None:
        return None
    xy = np.asarray(landmarks.xy, np.float64)
    cut = xy[NOSE_BOTTOM, 1]
    oval = xy[list(FACE_OVAL)]
    below = oval[oval[:, 1] > cut]
    if len(below) < 3:
        return None
    ends = np.array([[below[:, 0].min(), cut], [below[:, 0].max(), cut]])
    points = np.concatenate([below, ends])
    rel = (points - [box.x, box.y]) / [max(1, box.w), max(1, box.h)]
    return rel.astype(np.float32)


def in_crop(shape: np.ndarray | None, face: Box, crop: Box) -> np.ndarray | None:
    """A face-box-relative polygon made relative to the ``crop`` box instead."""
    if shape is None:
        return None
    xy = shape * [face.w, face.h] + [face.x - crop.x, face.y - crop.y]
    return (xy / [max(1, crop.w), max(1, crop.h)]).astype(np.float32)


def blend_mask(height: int, width: int, shape: np.ndarray | None) -> np.ndarray:
    """``(height, width, 1)`` weights in 0..1 for pasting a crop of that size: the lower-face
    polygon ``shape`` (crop-relative, :func:`in_crop`) shrunk by the feather radius and
    blurred, so the weights reach 0 inside the polygon's edge; the feathered lower half of the
    crop without one."""
    import cv2

    if shape is None:
        return paste_mask(height, width)
    radius = max(1, round(0.04 * max(height, width)))
    pts = np.round(shape * [width, height]).astype(np.int32)
    hull = cv2.convexHull(pts)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    size = 2 * radius + 1
    mask = cv2.erode(mask, np.ones((size, size), np.uint8))
    # zero within two radii of the crop's border, so the paste never shows a seam there
    edge = 2 * radius
    mask[:edge], mask[-edge:], mask[:, :edge], mask[:, -edge:] = 0, 0, 0, 0
    # a kernel of the erosion's size: the blur spreads no farther than the erosion took away
    blurred = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (size, size), radius / 3)
    return blurred[..., None]


def paste(frame: np.ndarray, box: Box, generated: np.ndarray,
          shape: np.ndarray | None) -> np.ndarray:
    """Blend the RGB crop ``generated`` into ``box`` of ``frame`` (in place) under
    :func:`blend_mask`; pixels where the mask is 0 keep their values. Returns ``frame``."""
    import cv2

    shrink = generated.shape[1] > box.w
    resized = cv2.resize(generated, (box.w, box.h),
                         interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    mask = blend_mask(box.h, box.w, shape)
    region = frame[box.y: box.y + box.h, box.x: box.x + box.w]
    mixed = region + (resized.astype(np.float32) - region) * mask
    frame[box.y: box.y + box.h, box.x: box.x + box.w] = np.where(
        mask > 0, np.clip(mixed + 0.5, 0, 255), region).astype(np.uint8)
    return frame


# --------------------------------------------------------------------------------------------
# The runner


class MuseTalker:
    def __init__(self, unet: Any, vae: Any, encoder: Any, extractor: Any, device: str,
                 dtype: str):
        self.unet, self.vae, self.encoder, self.extractor = unet, vae, encoder, extractor
        self.device, self.dtype = device, dtype

    def modules(self) -> dict[str, object]:
        return {"unet": self.unet, "vae": self.vae, "whisper_encoder": self.encoder}

    @property
    def _torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)

    def __call__(self, request: TalkRequest,
                 progress: common.Progress | None = None) -> TalkResult:
        check_crop_settings(request)
        timer = StageTimer()
        prepared = common.prepare(request, timer)
        audio = AudioWindows(prepared.samples, self.extractor, self.encoder, self.device,
                             self._torch_dtype, request.fps)
        face = prepared.source.face
        shape = lower_face_shape(face.landmarks, face.box)
        pairs = prepared.source.frames(prepared.track, request, talk=False)
        frames = self._lip_synced(pairs, audio, shape, request, timer)
        count = common.write_video(request, prepared, frames, timer, progress)
        return common.result(request, prepared, count, timer)

    def _lip_synced(self, pairs: Iterator[tuple[np.ndarray, Face]], audio: AudioWindows,
                    shape: np.ndarray | None, request: TalkRequest,
                    timer: StageTimer) -> Iterator[np.ndarray]:
        batch: list[tuple[np.ndarray, Face]] = []
        start = 0
        for pair in pairs:
            batch.append(pair)
            if len(batch) == request.batch_size:
                yield from self._batch(batch, audio, start, shape, request, timer)
                start += len(batch)
                batch = []
        if batch:
            yield from self._batch(batch, audio, start, shape, request, timer)

    def _batch(self, batch: list[tuple[np.ndarray, Face]], audio: AudioWindows, start: int,
               shape: np.ndarray | None, request: TalkRequest,
               timer: StageTimer) -> list[np.ndarray]:
        import cv2

        boxes, crops, shapes = [], [], []
        for frame, face in batch:
            box = crop_box(face.box, request.chin_padding, frame.shape[1], frame.shape[0])
            crop = frame[box.y: box.y + box.h, box.x: box.x + box.w]
            crops.append(cv2.resize(crop, (FACE_SIZE, FACE_SIZE),
                                    interpolation=cv2.INTER_LANCZOS4))
            boxes.append(box)
            shapes.append(in_crop(shape, face.box, box))
        with timer.stage("whisper"):
            features = audio.batch(range(start, start + len(batch)))
        with timer.stage("model"):
            predicted = list(self.predict(np.stack(crops), features))
        if request.enhancer is not None:
            side = max(max(box.w, box.h) for box in boxes)
            if side > FACE_SIZE:
                with timer.stage("sharpen"):
                    predicted = request.enhancer(
                        predicted, float(np.clip(np.ceil(side / FACE_SIZE), 2, 4)))
        return [paste(frame, box, pred, part) for (frame, _), box, pred, part
                in zip(batch, boxes, predicted, shapes, strict=True)]

    def latents(self, crops: np.ndarray) -> Any:
        """``(B, 8, h, w)``: the masked and the reference latents of ``(B, 256, 256, 3)`` RGB
        uint8 crops (distribution means, scaled by the VAE's scaling factor)."""
        import torch

        images = torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        masked = images.clone()
        masked[:, :, FACE_SIZE // 2:] = 0
        pixels = torch.cat([masked, images]) * 2 - 1
        scale = self.vae.config.scaling_factor
        latent = self.vae.encode(pixels.to(self._torch_dtype)).latent_dist.mean * scale
        half = len(crops)
        return torch.cat([latent[:half], latent[half:]], dim=1)

    def predict(self, crops: np.ndarray, features: np.ndarray) -> np.ndarray:
        """``(B, 256, 256, 3)`` uint8 RGB lip-synced crops from crops and audio sequences."""
        import torch

        with torch.inference_mode():
            latents = self.latents(crops)
            audio = torch.from_numpy(features).to(self.device, self._torch_dtype)
            timestep = torch.zeros((), device=self.device)
            out = self.unet(latents, timestep, encoder_hidden_states=audio).sample
            decoded = self.vae.decode(out / self.vae.config.scaling_factor).sample
            images = ((decoded.float() / 2 + 0.5).clamp(0, 1) * 255).round()
        return images.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


# --------------------------------------------------------------------------------------------
# Loading


def load_unet(config_path: Path, weights_path: Path, device: str, dtype: str) -> Any:
    """MuseTalk's UNet: ``UNet2DConditionModel`` from its JSON config, its ``unet.pth`` state dict
    loaded strictly (``torch.load(weights_only=True)``; parameters are created empty and take
    the file's tensors, so the full-size model is held once)."""
    import pickle

    import torch
    from diffusers import UNet2DConditionModel

    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as err:
        raise StudioError(f"'{config_path.name}' is not MuseTalk's UNet config ({err}). Fetch it "
                          "again with `python cli.py fetch talking_head.musetalk-1.5`.") from err
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError, ValueError, EOFError) as err:
        raise StudioError(f"'{weights_path.name}' is not a MuseTalk UNet checkpoint the studio "
                          f"can read ({type(err).__name__}: {str(err)[:200]}). Fetch it again "
                          "with `python cli.py fetch talking_head.musetalk-1.5`.") from err
    if not isinstance(state, dict):
        raise StudioError(f"'{weights_path.name}' holds no state dict.")
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(config)
    try:
        unet.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as err:
        raise StudioError(f"'{weights_path.name}' does not hold the weights of the UNet that "
                          f"'{config_path.name}' describes ({str(err)[:300]}).") from err
    return unet.to(device=device, dtype=getattr(torch, dtype)).eval()


def companion_folder(spec_id: str, repo_id: str, names: tuple[str, ...]) -> Path:
    """The local snapshot folder holding ``names`` of the companion repo ``repo_id``."""
    from huggingface_hub import try_to_load_from_cache

    folder = None
    for name in names:
        found = try_to_load_from_cache(repo_id, name)
        if not isinstance(found, str) or not Path(found).is_file():
            raise WeightsUnavailable(spec_id, repo_id, f"{name} is missing")
        folder = Path(found).parent
    assert folder is not None
    return folder


def build(ctx: LoadContext) -> MuseTalker:
    import torch
    from diffusers import AutoencoderKL
    from transformers import WhisperFeatureExtractor, WhisperModel

    dtype = getattr(torch, ctx.dtype)
    unet = load_unet(ctx.file(UNET_CONFIG), ctx.file(UNET_WEIGHTS), ctx.device, ctx.dtype)
    vae = AutoencoderKL.from_pretrained(companion_folder(ctx.spec.id, VAE_REPO, VAE_FILES),
                                        use_safetensors=True)
    vae = vae.to(device=ctx.device, dtype=dtype).eval()
    whisper = companion_folder(ctx.spec.id, WHISPER_REPO, WHISPER_FILES)
    extractor = WhisperFeatureExtractor.from_pretrained(whisper)
    encoder = WhisperModel.from_pretrained(whisper, use_safetensors=True).get_encoder()
    encoder = encoder.to(device=ctx.device, dtype=dtype).eval()
    return MuseTalker(unet, vae, encoder, extractor, ctx.device, ctx.dtype)
