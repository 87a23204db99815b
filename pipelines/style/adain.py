"""AdaIN arbitrary style transfer (Huang and Belongie, 2017): our implementation of the published
networks, laid out so the reference checkpoints load by state dict.

- Encoder: the "normalised" VGG-19 up to relu4_1 (a 1x1 colour conversion first, reflection
  padding, ceil-mode max pooling), indexed as an ``nn.Sequential`` exactly like
  ``vgg_normalised.pth`` (which holds the whole VGG-19; layers past relu4_1 are not needed and
  are ignored).
- Decoder: the encoder mirrored (nearest 2x upsampling in place of pooling), as ``decoder.pth``.

AdaIN moves the content features' per-channel mean and deviation onto the style's; ``alpha``
trades content for style; two styles are interpolated in feature space; keep-colours restores
the content's colour (Lab a, b) after decoding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.errors import StudioError
from pipelines.registry import LoadContext
from pipelines.style import colour
from pipelines.style.engine import run_style
from pipelines.style.types import Progress, StyleRequest, StyleResult, Stylizer

ENCODER_FILE = "vgg_normalised.pth"
DECODER_FILE = "decoder.pth"
# VGG-19 up to relu4_1: output channels of each 3x3 conv, "M" for a 2x2 max pool.
ENCODER_PLAN: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512)
# The decoder: output channels of each 3x3 conv, "U" for a 2x nearest upsampling.
DECODER_PLAN: tuple[int | str, ...] = (256, "U", 256, 256, 256, 128, "U", 128, 64, "U", 64, 3)
FEATURES = 512
MULTIPLE = 8  # three poolings: frames are padded to a multiple of 8 pixels


def build_encoder():
    """``vgg_normalised.pth``'s layout up to relu4_1 (31 modules, convs at 0, 2, 5, 9, ...)."""
    from torch import nn

    layers: list[nn.Module] = [nn.Conv2d(3, 3, 1)]
    channels = 3
    for step in ENCODER_PLAN:
        if step == "M":
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        else:
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, step, 3), nn.ReLU()]
            channels = step
    return nn.Sequential(*layers)


def build_decoder():
    """``decoder.pth``'s layout: relu4_1 features back to RGB (no activation after the last)."""
    from torch import nn

    layers: list[nn.Module] = []
    channels = FEATURES
    for step in DECODER_PLAN:
        if step == "U":
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        else:
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, step, 3), nn.ReLU()]
            channels = step
    layers.pop()  # the output conv is linear
    return nn.Sequential(*layers)


def load_weights(module, state: dict[str, Any], name: str) -> None:
    """Copy ``state`` into ``module``: every parameter must be there with its shape; extra
    entries (the encoder file's layers past relu4_1) are ignored."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or wrong:
        raise StudioError(
            f"{name} is not an AdaIN checkpoint of the published layout (missing: "
            f"{missing[:4]}, wrong shapes: {wrong[:4]}). Use the reference vgg_normalised.pth "
            "and decoder.pth."
        )
    module.load_state_dict({k: state[k] for k in own})


def _stats(features, eps: float = 1e-5):
    flat = features.flatten(2)
    return flat.mean(-1)[..., None, None], (flat.var(-1) + eps).sqrt()[..., None, None]


def adain(content, style_mean, style_std):
    """Content features renormalised to the style's per-channel mean and deviation."""
    mean, std = _stats(content)
    return (content - mean) / std * style_std + style_mean


class AdaINStyle:
    """Runner of ``style.adain``: encoder and decoder on one device."""

    def __init__(self, encoder, decoder, device: str, dtype):
        self.encoder, self.decoder, self.device, self.dtype = encoder, decoder, device, dtype

    def modules(self) -> dict[str, Any]:
        return {"encoder": self.encoder, "decoder": self.decoder}

    def __call__(self, request: StyleRequest, progress: Progress | None = None) -> StyleResult:
        # One frame at a time through the networks: they hold the device (and its memory).
        return run_style(request, self.make_stylizer, progress, concurrent=False)

    def _tensor(self, rgb: np.ndarray):
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
        x = x.to(self.device, self.dtype) / 255.0
        height, width = rgb.shape[:2]
        pad_h, pad_w = -height % MULTIPLE, -width % MULTIPLE
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect" if min(height, width) > 8
                      else "replicate")
        return x

    def make_stylizer(self, styles: list[np.ndarray], request: StyleRequest) -> Stylizer:
        import torch

        with torch.inference_mode():
            targets = [_stats(self.encoder(self._tensor(s))) for s in styles]
        weights = [1.0 - request.mix, request.mix] if len(targets) > 1 else [1.0]
        alpha = request.strength

        def stylize(frame: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                content = self.encoder(self._tensor(frame))
                mixed = sum(w * adain(content, m, s) for w, (m, s) in zip(weights, targets,
                                                                          strict=True))
                feats = alpha * mixed + (1.0 - alpha) * content
                out = self.decoder(feats)[..., : frame.shape[0], : frame.shape[1]]
                out = (out.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)
                rgb = out[0].permute(1, 2, 0).cpu().numpy()
            return colour.keep_colours(rgb, frame) if request.keep_colours else rgb

        return stylize


def build(ctx: LoadContext) -> AdaINStyle:
    import torch

    def read(name: str) -> dict[str, Any]:
        state = torch.load(ctx.file(name), map_location="cpu", weights_only=True)
        return state.get("state_dict", state) if isinstance(state, dict) else state

    encoder, decoder = build_encoder(), build_decoder()
    load_weights(encoder, read(ENCODER_FILE), ENCODER_FILE)
    load_weights(decoder, read(DECODER_FILE), DECODER_FILE)
    def ready(module):
        return module.to(ctx.device, ctx.torch_dtype).eval().requires_grad_(False)

    return AdaINStyle(ready(encoder), ready(decoder), ctx.device, ctx.torch_dtype)
