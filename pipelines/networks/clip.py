"""CLIP image and text embeddings (transformers), shared by metrics, keyframes and benchmarks.

The runner takes RGB uint8 frames and/or strings and returns L2-normalised embeddings, batched so a
long list of frames never becomes one giant tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipelines.progress import Progress
from pipelines.registry import LoadContext


@dataclass(frozen=True)
class EmbedRequest:
    images: Sequence[np.ndarray] = ()  # RGB uint8, HxWx3
    texts: Sequence[str] = ()
    batch_size: int = 32


@dataclass
class EmbedResult:
    image_embeds: np.ndarray  # (len(images), dim) float32, unit length
    text_embeds: np.ndarray  # (len(texts), dim) float32, unit length
    timings: dict[str, float] = field(default_factory=dict)


def _pooled(output):
    """transformers 5 returns a model output from get_*_features; older releases a tensor."""
    return getattr(output, "pooler_output", output)


class ClipEmbedder:
    def __init__(self, model, processor, device: str, dtype):
        self.model, self.processor, self.device, self.dtype = model, processor, device, dtype

    def modules(self) -> dict[str, object]:
        return {"model": self.model}

    @property
    def dim(self) -> int:
        return int(self.model.config.projection_dim)

    def __call__(
        self, request: EmbedRequest, progress: Progress | None = None
    ) -> EmbedResult:
        import torch

        images, texts, step = list(request.images), list(request.texts), max(1, request.batch_size)
        out_images, out_texts = [], []
        total = max(1, len(images) + len(texts))
        with torch.inference_mode():
            for start in range(0, len(images), step):
                batch = self.processor(images=images[start : start + step], return_tensors="pt")
                pixels = batch["pixel_values"].to(self.device, self.dtype)
                out_images.append(_pooled(self.model.get_image_features(pixel_values=pixels)))
                if progress:
                    progress(min(start + step, len(images)) / total, "embedding images")
            for start in range(0, len(texts), step):
                batch = self.processor(
                    text=texts[start : start + step], return_tensors="pt", padding=True,
                    truncation=True,
                )  # fmt: skip
                batch = {k: v.to(self.device) for k, v in batch.items()}
                out_texts.append(_pooled(self.model.get_text_features(**batch)))
        return EmbedResult(self._normalised(out_images), self._normalised(out_texts))

    def _normalised(self, chunks: list) -> np.ndarray:
        if not chunks:
            return np.zeros((0, self.dim), np.float32)
        import torch

        feats = torch.cat(chunks).float()
        return torch.nn.functional.normalize(feats, dim=-1).cpu().numpy()


def build(ctx: LoadContext) -> ClipEmbedder:
    from transformers import CLIPModel, CLIPProcessor

    model = CLIPModel.from_pretrained(ctx.weights, dtype=ctx.torch_dtype).to(ctx.device)
    processor = CLIPProcessor.from_pretrained(ctx.weights)
    return ClipEmbedder(model.eval(), processor, ctx.device, ctx.torch_dtype)
