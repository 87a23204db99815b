"""Tiny super-resolution checkpoints with the published layouts, built from configs.

* Real-ESRGAN RRDBNet: the key names of the release ``.pth`` files (``conv_first``,
  ``body.N.rdbM.convK``, ``conv_body``, ``conv_up1/2``, ``conv_hr``, ``conv_last``) wrapped in
  ``params_ema``, with few blocks and channels.
* Real-ESRGAN Compact (SRVGGNetCompact, as ``realesr-animevideov3.pth``): ``body.N`` convolutions
  and PReLUs wrapped in ``params``.
* Swin2SR: a transformers config saved with its image processor, like the caidas repos.
"""

from __future__ import annotations

from pathlib import Path

import torch


def _conv(state: dict, name: str, c_in: int, c_out: int, std: float) -> None:
    state[f"{name}.weight"] = torch.randn(c_out, c_in, 3, 3) * std
    state[f"{name}.bias"] = torch.randn(c_out) * 0.01


def rrdbnet_state_dict(num_feat: int = 8, num_block: int = 1, num_grow: int = 32,
                       unshuffle: int = 1, seed: int = 0) -> dict:
    """An RRDBNet (x4 body) state dict; ``unshuffle=2`` gives the x2plus layout (12 inputs).

    spandrel reads the growth channels as 32, as in every published RRDBNet.
    """
    torch.manual_seed(seed)
    state: dict = {}
    _conv(state, "conv_first", 3 * unshuffle**2, num_feat, 0.1)
    for block in range(num_block):
        for rdb in (1, 2, 3):
            for k in range(1, 6):
                c_in = num_feat + (k - 1) * num_grow
                c_out = num_grow if k < 5 else num_feat
                _conv(state, f"body.{block}.rdb{rdb}.conv{k}", c_in, c_out, 0.05)
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        _conv(state, name, num_feat, num_feat, 0.05)
    _conv(state, "conv_last", num_feat, 3, 0.05)
    return {"params_ema": state}


def compact_state_dict(num_feat: int = 8, num_conv: int = 1, scale: int = 2,
                       seed: int = 0) -> dict:
    """An SRVGGNetCompact state dict: first conv, ``num_conv`` body convs, last conv; PReLUs."""
    torch.manual_seed(seed)
    state: dict = {}
    index = 0
    for c_in, c_out in [(3, num_feat)] + [(num_feat, num_feat)] * num_conv:
        _conv(state, f"body.{index}", c_in, c_out, 0.1)
        state[f"body.{index + 1}.weight"] = torch.full((c_out,), 0.25)
        index += 2
    _conv(state, f"body.{index}", num_feat, 3 * scale * scale, 0.05)
    return {"params": state}


def save_checkpoint(folder: Path, name: str, checkpoint: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if name.endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file(next(iter(checkpoint.values())), str(folder / name))
    else:
        torch.save(checkpoint, folder / name)
    return folder


def tiny_swin2sr(folder: Path, upscale: int = 2, upsampler: str = "pixelshuffle",
                 weights: str = "model.safetensors") -> Path:
    """A two-head, one-layer Swin2SR saved like the Hub repos (config, processor, weights)."""
    from transformers import (
        Swin2SRConfig,
        Swin2SRForImageSuperResolution,
        Swin2SRImageProcessor,
    )

    torch.manual_seed(0)
    config = Swin2SRConfig(
        image_size=16, embed_dim=12, depths=(1,), num_heads=(2,), window_size=4, mlp_ratio=1.0,
        upscale=upscale, upsampler=upsampler,
    )  # fmt: skip
    model = Swin2SRForImageSuperResolution(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    if weights == "model.safetensors":
        model.save_pretrained(folder)
    else:
        model.config.save_pretrained(folder)
        torch.save(model.state_dict(), folder / weights)
    Swin2SRImageProcessor(size_divisor=4).save_pretrained(folder)
    return folder
